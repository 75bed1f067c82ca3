"""The buyer's order history: a signed, expiring link emailed to the address, listing its orders at a shop.

The request form always gives the same answer and does no database work; a Celery task (queued after
commit) finds the shops where the address has orders and emails one link per shop. The email goes through
Django's mail backend directly, not the notification outbox: it belongs to no order (the outbox's rows, dedupe
keys and timeline events are per order), and a lost one costs nothing — the buyer asks again.
"""

import logging

from celery import shared_task
from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from orders.models import Order
from shop.models import Customer, Shop

logger = logging.getLogger(__name__)

SALT = "shipshape.tracking.history"


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=SALT)


def history_token(shop_id: int, email: str) -> str:
    return _signer().sign_object({"s": shop_id, "e": email.strip().lower()}, compress=True)


class ExpiredLink(Exception):
    """A genuine link past its age; carries the shop it was for, so a new one can be asked for there."""

    def __init__(self, shop_id: int | None):
        super().__init__("expired")
        self.shop_id = shop_id


def read_history_token(token: str) -> tuple[int, str]:
    """(shop id, email) of a valid link. Raises ``ExpiredLink`` for an old one, ``signing.BadSignature``
    for a forged or damaged one."""
    try:
        data = _signer().unsign_object(token, max_age=settings.TRACKING_HISTORY_LINK_MAX_AGE)
    except signing.SignatureExpired:
        data = _signer().unsign_object(token)  # the signature is genuine, only too old
        raise ExpiredLink(_shop_id(data)) from None
    shop_id = _shop_id(data)
    email = data.get("e") if isinstance(data, dict) else None
    if shop_id is None or not isinstance(email, str):
        raise signing.BadSignature("malformed")
    return shop_id, email


def _shop_id(data) -> int | None:
    value = data.get("s") if isinstance(data, dict) else None
    return value if isinstance(value, int) else None


def history_url(shop_id: int, email: str) -> str:
    return settings.SITE_URL + reverse("tracking:history", args=[history_token(shop_id, email)])


def request_history_link(*, email: str, shop_slug: str = "") -> None:
    """Queue the email after the request's transaction commits. Says nothing about what exists."""
    email = email.strip().lower()
    transaction.on_commit(lambda: send_history_links.delay(email, shop_slug))


@shared_task(ignore_result=True)
def send_history_links(email: str, shop_slug: str = "") -> int:
    """Email one history link per shop where ``email`` has orders (only ``shop_slug``'s when given).

    Returns how many emails were sent. Running it twice sends the links twice, which is harmless.
    """
    customers = Customer.objects.filter(email=email.strip().lower(), order_count__gt=0).select_related("shop")
    if shop_slug:
        customers = customers.filter(shop__slug=shop_slug)
    sent = 0
    for customer in customers:
        latest = (
            Order.objects.filter(shop=customer.shop, email=customer.email)
            .order_by("-placed_at", "-id")
            .values_list("language", flat=True)
            .first()
        )
        if latest is None:
            continue
        build_history_email(customer.shop, customer.email, language=latest).send()
        sent += 1
    return sent


def build_history_email(shop: Shop, email: str, *, language: str) -> EmailMultiAlternatives:
    language = language or settings.LANGUAGE_CODE
    hours = settings.TRACKING_HISTORY_LINK_MAX_AGE // 3600
    with translation.override(language):
        context = {
            "shop": shop,
            "history_url": history_url(shop.pk, email),
            "hours": hours,
            "LANGUAGE_CODE": language,
        }
        subject = _("%(shop)s: your orders") % {"shop": shop.name}
        text = render_to_string("orders/email/order_history_link.txt", context)
        html = render_to_string("orders/email/order_history_link.html", context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email],
        reply_to=[shop.contact_email] if shop.contact_email else None,
    )
    message.attach_alternative(html, "text/html")
    return message
