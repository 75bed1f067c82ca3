"""Rendering customer emails: the built-in templates or the shop's own text, in the buyer's language."""

import contextlib
import email.policy
import functools
import re
import secrets
import threading
from decimal import Decimal
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, make_msgid, parseaddr

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.core.mail.utils import DNS_NAME
from django.db import transaction
from django.db.models.signals import post_delete, post_save
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
                subject = compiled(override.subject).render(Context(context, autoescape=False))
            text = compiled(override.body_text).render(Context(context, autoescape=False))
            html = render_to_string("orders/email/custom.html", {**context, "body": text})
            text = render_to_string("orders/email/custom.txt", {**context, "body": text})
        else:
            text = render_to_string(f"orders/email/{template}.txt", context)
            html = render_to_string(f"orders/email/{template}.html", context)
    return f"{order.shop.name}: {subject.strip()}", text, html


@functools.lru_cache(maxsize=512)
def compiled(source: str) -> Template:
    """A shop's text compiled once per process: the same few texts are rendered for every order."""
    return Template(source)


SHOP_TEXTS_SECONDS = 300  # a safety net only: saving or deleting a text forgets the shop's entry at once


def shop_texts_key(shop_id: int) -> str:
    return f"shipshape:notification-texts:{shop_id}"


def shop_texts(shop_id: int) -> dict[str, tuple[str, str]]:
    """The shop's active own texts, ``{template: (subject, body_text)}``, cached (a miss is one query)."""
    key = shop_texts_key(shop_id)
    texts = cache.get(key)
    if texts is None:
        texts = {
            template: (subject, body_text)
            for template, subject, body_text in NotificationTemplate.objects.filter(
                shop_id=shop_id, is_active=True
            ).values_list("template", "subject", "body_text")
        }
        cache.set(key, texts, SHOP_TEXTS_SECONDS)
    return texts


def forget_shop_texts(sender, instance: NotificationTemplate, **kwargs) -> None:
    """A text was saved or deleted: drop the shop's cached texts once the change is committed."""
    key = shop_texts_key(instance.shop_id)
    cache.delete(key)  # now, for this process's next read...
    transaction.on_commit(lambda: cache.delete(key))  # ...and again after the commit, past any racing read


post_save.connect(forget_shop_texts, sender=NotificationTemplate, dispatch_uid="forget_shop_texts_saved")
post_delete.connect(forget_shop_texts, sender=NotificationTemplate, dispatch_uid="forget_shop_texts_deleted")


def shop_override(shop_id: int, template: str) -> NotificationTemplate | None:
    """The shop's own text for ``template`` (unsaved, for rendering), or None for the built-in one."""
    text = shop_texts(shop_id).get(template)
    if text is None:
        return None
    return NotificationTemplate(shop_id=shop_id, template=template, subject=text[0], body_text=text[1])


def message_id(notification: Notification) -> str:
    """A Message-ID fixed per outbox row: a receiver that sees the same message twice can drop the copy."""
    domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip("> ") or "shipshape.local"
    return f"<notification-{notification.pk}.{notification.created_at:%Y%m%d%H%M%S}@{domain}>"


# Lines end in CRLF on the wire, as SMTP wants them.
WIRE_POLICY = email.policy.compat32.clone(linesep="\r\n")


LINE_BREAK = re.compile(r"\r\n|\r|\n")  # what the email generator takes for a line break


def text_part(content: str, subtype: str) -> MIMEText:
    """7-bit when the text is ASCII in lines SMTP allows (998 characters), else UTF-8 in base64."""
    plain = content.isascii() and all(len(line) <= 998 for line in LINE_BREAK.split(content))
    return MIMEText(content, subtype, "us-ascii" if plain else "utf-8", policy=WIRE_POLICY)


class WireMessage(MIMEMultipart):
    """A multipart/alternative of text parts whose header lines are all ASCII, written out directly.

    ``email``'s generator folds every header through ``email.header.Header`` (about 1.5 ms per message);
    these headers are short ASCII lines already (the subject is RFC 2047 encoded when it needs to be), and
    the parts are transfer-encoded when they are made, so writing them out is a join.
    """

    def as_bytes(self, unixfrom=False, policy=None):
        bodies = [part.get_payload() for part in self.get_payload()]
        while any(self.get_boundary() in body for body in bodies):  # never, with 128 random bits
            self.set_boundary(new_boundary())
        boundary = self.get_boundary()
        parts = []
        for part, body in zip(self.get_payload(), bodies, strict=True):
            head = "\r\n".join(f"{name}: {value}" for name, value in part._headers)
            parts.append(f"--{boundary}\r\n{head}\r\n\r\n" + "\r\n".join(LINE_BREAK.split(body)) + "\r\n")
        head = "\r\n".join(f"{name}: {value}" for name, value in self._headers)
        return f"{head}\r\n\r\n{''.join(parts)}--{boundary}--\r\n".encode("ascii")


def new_boundary() -> str:
    return f"=_shipshape_{secrets.token_hex(16)}"


class OutboxEmail(EmailMultiAlternatives):
    """A customer email whose MIME form is built with the ``compat32`` classes and written out directly.

    Django builds messages with the ``email.policy.default`` API, whose header objects cost about 3 ms per
    message, the largest part of sending one. The form here is the same (multipart/alternative, text then
    HTML, each UTF-8 and base64 when it is not plain ASCII, an RFC 2047 subject) at a fraction of the cost.
    Anything unusual (an attachment, a non-ASCII address, a line break or an over-long header) goes through
    Django's own builder.
    """

    def message(self, *, policy=email.policy.default):
        if not self.is_plain():
            return super().message(policy=policy)
        msg = WireMessage("alternative", policy=WIRE_POLICY)
        msg.attach(text_part(self.body, self.content_subtype))
        for content, mimetype in self.alternatives:
            msg.attach(text_part(content, mimetype.split("/", 1)[1]))
        msg.set_boundary(new_boundary())
        subject = str(self.subject)
        if not subject.isascii():
            subject = Header(subject, "utf-8").encode(linesep="\r\n")
        msg["Subject"] = subject
        name, address = parseaddr(str(self.extra_headers.get("From", self.from_email)))
        msg["From"] = formataddr((name, address), charset="utf-8")
        msg["To"] = ", ".join(self.to)
        if self.cc:
            msg["Cc"] = ", ".join(self.cc)
        if self.reply_to:
            msg["Reply-To"] = ", ".join(self.reply_to)
        header_names = {name.lower() for name in self.extra_headers}
        if "date" not in header_names:
            msg["Date"] = formatdate(localtime=settings.EMAIL_USE_LOCALTIME)
        if "message-id" not in header_names:
            msg["Message-ID"] = make_msgid(domain=DNS_NAME)
        for header, value in self.extra_headers.items():
            if header.lower() not in {"from", "to", "cc", "reply-to"}:
                msg[header] = str(value)
        return msg

    def is_plain(self) -> bool:
        """Text parts only; addresses and headers in ASCII (but the subject), each on one reasonable line."""
        if self.attachments or any(not mimetype.startswith("text/") for _, mimetype in self.alternatives):
            return False
        addresses = (self.from_email, *self.to, *self.cc, *self.reply_to)
        headers = (*addresses, *self.extra_headers, *(str(value) for value in self.extra_headers.values()))
        values = (str(self.subject), *headers)
        return all(str(value).isascii() for value in headers) and not any(
            "\n" in value or "\r" in value or len(value) > 900 for value in values
        )


def build_email(notification: Notification) -> OutboxEmail:
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
    message = OutboxEmail(
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
        _send_over(connection, message)
    except Exception:
        close_connection()
        connection = _local.connection = get_connection()
        connection.open()
        try:
            _send_over(connection, message)
        except Exception:
            close_connection()
            raise


def _send_over(connection, message: EmailMultiAlternatives) -> None:
    if isinstance(connection, SMTPBackend) and isinstance(message, OutboxEmail) and message.is_plain():
        # Django's SMTP backend parses every address again through the email header parser for each
        # message (a tenth of the cost of sending one); these are checked plain ASCII addresses, so the
        # bytes go straight to the open smtplib connection, under the backend's own lock.
        with connection._lock:
            connection.connection.sendmail(
                parseaddr(message.from_email)[1], message.recipients(), message.message().as_bytes()
            )
    else:
        connection.send_messages([message]) or _raise_not_sent()


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
