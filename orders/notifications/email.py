"""Rendering customer emails: the built-in templates or the shop's own text, in the buyer's language."""

import contextlib
import threading
from decimal import Decimal

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.template import Context, Template, TemplateSyntaxError
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from ..models import Notification, NotificationTemplate, Order
from .catalogue import CATALOGUE

UNSUBSCRIBE_SALT = "shipshape.notifications.unsubscribe"


def unsubscribe_token(shop_id: int, email: str) -> str:
    return signing.dumps({"s": shop_id, "e": email.lower()}, salt=UNSUBSCRIBE_SALT, compress=True)


def read_unsubscribe_token(token: str) -> tuple[int, str]:
    """The (shop id, email) a token was made for; raises ``signing.BadSignature`` for a forged one."""
    data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    return int(data["s"]), str(data["e"])


def unsubscribe_url(order: Order) -> str:
    return settings.SITE_URL + reverse(
        "orders:unsubscribe", args=[unsubscribe_token(order.shop_id, order.email)]
    )


def tracking_url(order: Order) -> str:
    return f"{settings.SITE_URL}/track/{order.public_token}/"


def message_context(order: Order, template: str, extra: dict, language: str) -> dict:
    essential = CATALOGUE[template].essential
    return {
        "order": order,
        "shop": order.shop,
        "tracking_url": tracking_url(order),
        "unsubscribe_url": "" if essential else unsubscribe_url(order),
        "LANGUAGE_CODE": language,
        **extra,
    }


def render_message(
    order: Order,
    template: str,
    *,
    extra: dict | None = None,
    language: str = "",
    override: NotificationTemplate | None = None,
) -> tuple[str, str, str]:
    """(subject, text, html) of one message. ``override`` is the shop's own text, if it has one."""
    language = language or order.language or settings.LANGUAGE_CODE
    with translation.override(language):
        context = message_context(order, template, extra or {}, language)
        subject = _(CATALOGUE[template].subject) % {"number": order.number}
        if override is not None:
            if override.subject:
                subject = Template(override.subject).render(Context(context, autoescape=False))
            text = Template(override.body_text).render(Context(context, autoescape=False))
            html = render_to_string("orders/email/custom.html", {**context, "body": text})
            text = render_to_string("orders/email/custom.txt", {**context, "body": text})
        else:
            text = render_to_string(f"orders/email/{template}.txt", context)
            html = render_to_string(f"orders/email/{template}.html", context)
    return f"{order.shop.name}: {subject.strip()}", text, html


def shop_override(shop_id: int, template: str) -> NotificationTemplate | None:
    return NotificationTemplate.objects.filter(shop_id=shop_id, template=template, is_active=True).first()


def message_id(notification: Notification) -> str:
    """A Message-ID fixed per outbox row: a receiver that sees the same message twice can drop the copy."""
    domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip("> ") or "shipshape.local"
    return f"<notification-{notification.pk}.{notification.created_at:%Y%m%d%H%M%S}@{domain}>"


def build_email(notification: Notification) -> EmailMultiAlternatives:
    order = notification.order
    subject, text, html = render_message(
        order,
        notification.template,
        extra=notification.context,
        language=notification.language,
        override=shop_override(order.shop_id, notification.template),
    )
    headers = {"X-Shipshape-Notification": notification.dedupe_key, "Message-ID": message_id(notification)}
    if not CATALOGUE[notification.template].essential:
        headers["List-Unsubscribe"] = f"<{unsubscribe_url(order)}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.recipient],
        reply_to=[order.shop.contact_email] if order.shop.contact_email else None,
        headers=headers,
    )
    message.attach_alternative(html, "text/html")
    return message


_local = threading.local()


def send_email(message: EmailMultiAlternatives) -> None:
    """Send over one connection kept open per worker thread; reconnect once if the server hung up."""
    connection = getattr(_local, "connection", None)
    if connection is None:
        connection = _local.connection = get_connection()
    try:
        connection.open()
        connection.send_messages([message]) or _raise_not_sent()
    except Exception:
        close_connection()
        connection = _local.connection = get_connection()
        connection.open()
        try:
            connection.send_messages([message]) or _raise_not_sent()
        except Exception:
            close_connection()
            raise


def _raise_not_sent():
    raise RuntimeError("The mail server did not accept the message")


def close_connection() -> None:
    connection = getattr(_local, "connection", None)
    _local.connection = None
    if connection is not None:
        # Closing a broken connection may fail too; it is being dropped anyway.
        with contextlib.suppress(Exception):
            connection.close()


def preview(shop, template: str, *, subject: str = "", body_text: str = "", language: str = "") -> dict:
    """Render a message for the shop's latest order (or a sample one), with a draft text if given.

    Returns subject, text and html, or an ``error`` that says what is wrong with the draft.
    """
    override = None
    if body_text:
        override = NotificationTemplate(shop=shop, template=template, subject=subject, body_text=body_text)
    extra = {
        "carrier": "UPS",
        "tracking_number": "1Z999AA10123456784",
        "carrier_tracking_url": "https://www.ups.com/track?tracknum=1Z999AA10123456784",
        "reason": _("Out of stock"),
        "amount": "10.00",
        "coupon_code": "SORRY-ABC123",
        "coupon_percent": 10,
        "message": _("Thank you for your patience."),
    }
    # A shop without orders previews on a sample order that is never kept.
    with transaction.atomic():
        order = Order.objects.filter(shop=shop).select_related("shop").order_by("-placed_at").first()
        if order is None:
            order = sample_order(shop)
        extra["refunded"] = str(order.total)
        try:
            subject_line, text, html = render_message(
                order, template, extra=extra, language=language, override=override
            )
        except TemplateSyntaxError as exc:
            return {"error": str(exc)}
        finally:
            transaction.set_rollback(True)
    return {"subject": subject_line, "text": text, "html": html}


def sample_order(shop) -> Order:
    """A saved order to preview on; the caller rolls it back."""
    from shop.models import Customer

    from ..models import OrderLine

    customer = Customer.objects.create(shop=shop, email="sample.buyer@example.com", name="Ada Buyer")
    order = Order.objects.create(
        shop=shop,
        number=f"{shop.order_prefix}-100001",
        customer=customer,
        email=customer.email,
        currency=shop.currency,
        subtotal=Decimal("42.00"),
        shipping_price=Decimal("4.50"),
        total=Decimal("46.50"),
        ship_name="Ada Buyer",
        ship_line1="12 Harbour Street",
        ship_city="Portsmouth",
        ship_postal_code="PO1 3AX",
        ship_country="GB",
        placed_at=timezone.now(),
    )
    OrderLine.objects.create(
        order=order, sku="TEE-M-BLK", name=_("T-shirt"), variant="M", quantity=2, unit_price=Decimal("21.00")
    )
    return order
