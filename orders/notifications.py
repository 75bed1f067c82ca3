"""Customer notifications: write outbox rows with the change, deliver them after commit.

``queue_customer_email`` is called by services inside their transaction. It writes one ``Notification`` per
recipient with a dedupe key unique in the database, and asks Celery to deliver it once the transaction
commits. If the broker cannot be reached the row simply waits for the outbox sweep (``orders.tasks``).
"""

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from .models import Channel, Notification, NotificationStatus, Order, OrderEvent

logger = logging.getLogger(__name__)

# Template name → subject line. The subject is translated in the buyer's language when sending.
SUBJECTS = {
    "order_confirmed": "Your order %(number)s is confirmed",
    "order_processed": "Your order %(number)s is being prepared",
    "shipment_shipped": "Your order %(number)s is on its way",
    "shipment_delivered": "A parcel of your order %(number)s was delivered",
    "order_delivered": "Your order %(number)s was delivered",
    "order_cancelled": "Your order %(number)s was cancelled",
    "order_returned": "Your order %(number)s was returned",
    "address_changed": "The shipping address of your order %(number)s changed",
    "lines_changed": "The items of your order %(number)s changed",
    "return_approved": "Your return for order %(number)s is approved",
    "return_rejected": "Your return for order %(number)s was not accepted",
    "return_received": "We received your return for order %(number)s",
    "return_refunded": "Your refund for order %(number)s",
}


def dedupe_key(*, order: Order, event: OrderEvent, template: str, recipient: str, part: str = "") -> str:
    """One key per order, event, message and recipient: the database refuses a second row."""
    suffix = f":{part}" if part else ""
    return f"o{order.pk}:e{event.pk}:{template}{suffix}:{recipient}"[:200]


def queue_customer_email(
    order: Order, event: OrderEvent, template: str, *, context: dict | None = None, part: str = ""
) -> Notification:
    """Write the outbox row for an email to the order's customer; deliver it after the commit."""
    if template not in SUBJECTS:
        raise ValueError(f"Unknown notification template {template!r}")
    notification = Notification.objects.create(
        shop_id=order.shop_id,
        order=order,
        event=event,
        channel=Channel.EMAIL,
        template=template,
        recipient=order.email,
        language=order.language,
        context=context or {},
        dedupe_key=dedupe_key(order=order, event=event, template=template, recipient=order.email, part=part),
        next_attempt_at=timezone.now(),
    )
    transaction.on_commit(lambda: enqueue_delivery(notification.pk))
    return notification


def enqueue_delivery(notification_id: int) -> bool:
    """Publish the delivery task; never let a broker outage fail or hang the request."""
    from .tasks import deliver_notification

    try:
        deliver_notification.apply_async(
            args=[notification_id],
            retry=True,
            retry_policy=settings.CELERY_TASK_PUBLISH_RETRY_POLICY,
        )
    except Exception:  # the broker is down or slow: the sweep will pick the row up
        logger.warning(
            "Could not queue notification %s; the outbox sweep will retry", notification_id, exc_info=True
        )
        return False
    return True


def render_email(notification: Notification) -> EmailMultiAlternatives:
    """Build the email in the buyer's language from ``templates/orders/email/<template>.{txt,html}``."""
    order = notification.order
    with translation.override(notification.language or settings.LANGUAGE_CODE):
        context = {
            "order": order,
            "shop": order.shop,
            "notification": notification,
            "LANGUAGE_CODE": notification.language or settings.LANGUAGE_CODE,
            "tracking_url": f"{settings.SITE_URL}/track/{order.public_token}/",
            **notification.context,
        }
        subject = _(SUBJECTS[notification.template]) % {"number": order.number}
        body = render_to_string(f"orders/email/{notification.template}.txt", context)
        try:
            html = render_to_string(f"orders/email/{notification.template}.html", context)
        except TemplateDoesNotExist:
            html = None
    message = EmailMultiAlternatives(
        subject=f"{order.shop.name}: {subject}",
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.recipient],
        reply_to=[order.shop.contact_email] if order.shop.contact_email else None,
        headers={"X-Shipshape-Notification": notification.dedupe_key},
    )
    if html:
        message.attach_alternative(html, "text/html")
    return message


def mark_sent(notification: Notification, *, message_id: str = "") -> None:
    from .models import EventKind
    from .services.changes import SYSTEM, record_event

    notification.status = NotificationStatus.SENT
    notification.sent_at = timezone.now()
    notification.provider_message_id = message_id[:255]
    notification.next_attempt_at = None
    notification.save(
        update_fields=["status", "sent_at", "provider_message_id", "next_attempt_at", "attempts"]
    )
    record_event(
        notification.order,
        EventKind.NOTIFICATION_SENT,
        by=SYSTEM,
        message=f"{notification.template} → {notification.recipient}",
        data={"notification_id": notification.pk, "template": notification.template},
    )


def mark_failed(notification: Notification, *, error: str) -> None:
    from .models import EventKind
    from .services.changes import SYSTEM, record_event

    notification.status = NotificationStatus.FAILED
    notification.last_error = error[:2000]
    notification.next_attempt_at = None
    notification.save(update_fields=["status", "last_error", "next_attempt_at", "attempts"])
    record_event(
        notification.order,
        EventKind.NOTIFICATION_FAILED,
        by=SYSTEM,
        message=f"{notification.template} → {notification.recipient}: {error}"[:500],
        data={"notification_id": notification.pk, "template": notification.template},
    )
