"""Writing outbox rows with the change they announce, and handing them to Celery after the commit."""

import logging
import time
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..models import (
    Channel,
    EventKind,
    Notification,
    NotificationStatus,
    Order,
    OrderEvent,
    Suppression,
    WebhookEndpoint,
)
from .catalogue import CATALOGUE

logger = logging.getLogger(__name__)

# Events that are about notifications themselves: never announced by webhook (that would loop).
NOT_ANNOUNCED = frozenset({EventKind.NOTIFICATION_SENT, EventKind.NOTIFICATION_FAILED})


def dedupe_key(*, order: Order, event: OrderEvent, template: str, recipient: str, part: str = "") -> str:
    """One key per order, event, message and recipient: the database refuses a second row."""
    suffix = f":{part}" if part else ""
    return f"o{order.pk}:e{event.pk}:{template}{suffix}:{recipient}"[:200]


def is_suppressed(shop_id: int, email: str) -> bool:
    return Suppression.objects.filter(shop_id=shop_id, email=email.lower()).exists()


_customers_silenced: ContextVar[bool] = ContextVar("customers_silenced", default=False)


@contextmanager
def customers_silenced():
    """Within this block no email is written for customers: imported history was already told by the
    platform it came from (importing 5,000 delivered orders must not email 5,000 people). Timeline events
    and the shop's own webhooks are still written."""
    token = _customers_silenced.set(True)
    try:
        yield
    finally:
        _customers_silenced.reset(token)


def queue_customer_email(
    order: Order, event: OrderEvent, template: str, *, context: dict | None = None, part: str = ""
) -> Notification | None:
    """Write the outbox row for an email to the order's customer; it is delivered after the commit.

    Non-essential messages are not written for an address that unsubscribed (returns None), and nothing is
    written inside ``customers_silenced()``.
    """
    kind = CATALOGUE.get(template)
    if kind is None:
        raise ValueError(f"Unknown notification template {template!r}")
    if _customers_silenced.get():
        return None
    if not kind.essential and is_suppressed(order.shop_id, order.email):
        return None
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
    publish_after_commit([notification.pk])
    return notification


def webhook_payload(order: Order, event: OrderEvent) -> dict:
    return {
        "id": event.pk,
        "type": f"order.{event.kind}",
        "created_at": event.created_at.isoformat(),
        "shop": order.shop.slug,
        "order": {
            "number": order.number,
            "status": order.status,
            "payment_status": order.payment_status,
            "version": order.version,
            "total": str(order.total),
            "currency": order.currency,
        },
        "message": event.message,
        "data": event.data,
    }


def queue_webhooks(order: Order, event: OrderEvent) -> list[Notification]:
    """One outbox row per active webhook endpoint of the shop, for every event but notification ones."""
    if event.kind in NOT_ANNOUNCED:
        return []
    endpoints = list(WebhookEndpoint.objects.filter(shop_id=order.shop_id, is_active=True))
    if not endpoints:
        return []
    rows = Notification.objects.bulk_create(webhook_rows(order, event, endpoints, due=timezone.now()))
    publish_after_commit([row.pk for row in rows])
    return rows


def webhook_rows(order: Order, event: OrderEvent, endpoints, *, due) -> list[Notification]:
    """The (unsaved) outbox rows that announce ``event`` to each of ``endpoints``."""
    payload = webhook_payload(order, event)
    return [
        Notification(
            shop_id=order.shop_id,
            order_id=order.pk,
            event_id=event.pk,
            channel=Channel.WEBHOOK,
            webhook_endpoint=endpoint,
            template=f"order.{event.kind}",
            recipient=endpoint.url[:254],
            context=payload,
            dedupe_key=f"o{order.pk}:e{event.pk}:webhook:w{endpoint.pk}",
            next_attempt_at=due,
        )
        for endpoint in endpoints
    ]


class _PublishBreaker:
    """After a failed publish, stop trying for a while: the rows wait for the sweep, requests stay fast."""

    def __init__(self):
        self.paused_until = 0.0

    def is_open(self) -> bool:
        return time.monotonic() < self.paused_until

    def trip(self) -> None:
        self.paused_until = time.monotonic() + settings.SHIPSHAPE["NOTIFICATION_PUBLISH_PAUSE"]

    def reset(self) -> None:
        self.paused_until = 0.0


publish_breaker = _PublishBreaker()

# Inside ``publishes_coalesced()`` the ids committed are gathered here and published in batches at the end.
_coalesced_ids: ContextVar[list[int] | None] = ContextVar("coalesced_ids", default=None)


def publish_after_commit(notification_ids: list[int]) -> None:
    """Hand the rows to Celery once the change commits: at once, or gathered by ``publishes_coalesced``."""

    def publish() -> None:
        gathered = _coalesced_ids.get()
        if gathered is not None:
            gathered.extend(notification_ids)
        else:
            _publish_in_batches(notification_ids)

    transaction.on_commit(publish)


@contextmanager
def publishes_coalesced():
    """Publish the rows committed inside this block as a few batch tasks when it ends, not one task each.

    A bulk action (process 200 orders, ship a CSV of 500 rows) commits one transaction per order; without
    this each commit publishes its own task, and a worker delivers single-row tasks at about half the rate of
    batches (docs/notifications.md). Every request runs inside it (``CoalescePublishesMiddleware``). Nothing
    can be lost: a row committed inside the block and not published (the process dies first) is re-queued by
    the outbox sweep like any row whose publish failed. Nested blocks publish with the outermost.
    """
    if _coalesced_ids.get() is not None:
        yield
        return
    gathered: list[int] = []
    token = _coalesced_ids.set(gathered)
    try:
        yield
    finally:
        _coalesced_ids.reset(token)
        _publish_in_batches(gathered)


def _publish_in_batches(notification_ids: list[int]) -> None:
    batch = settings.SHIPSHAPE["NOTIFICATION_PUBLISH_BATCH"]
    for start in range(0, len(notification_ids), batch):
        enqueue_deliveries(notification_ids[start : start + batch])


class CoalescePublishesMiddleware:
    """Every request publishes its outbox rows together when its view returns (see publishes_coalesced)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with publishes_coalesced():
            return self.get_response(request)


def enqueue_delivery(notification_id: int) -> bool:
    """Publish the delivery task. A broker outage never fails or hangs the request: the row waits."""
    from ..tasks import deliver_notification

    if publish_breaker.is_open():
        return False
    try:
        deliver_notification.apply_async(args=[notification_id], retry=False)
    except Exception:
        publish_breaker.trip()
        logger.warning(
            "Could not queue notification %s; the outbox sweep will retry", notification_id, exc_info=True
        )
        return False
    return True


def enqueue_deliveries(notification_ids: list[int]) -> bool:
    """Publish one task for several rows (the sweep, a change with several webhook endpoints)."""
    from ..tasks import deliver_notifications

    if len(notification_ids) == 1:
        return enqueue_delivery(notification_ids[0])
    if not notification_ids or publish_breaker.is_open():
        return False
    try:
        deliver_notifications.apply_async(args=[list(notification_ids)], retry=False)
    except Exception:
        publish_breaker.trip()
        logger.warning(
            "Could not queue %s notifications; the outbox sweep will retry",
            len(notification_ids),
            exc_info=True,
        )
        return False
    return True


def mark_sent(notification: Notification, *, message_id: str = "") -> None:
    from ..services.changes import SYSTEM, record_event

    notification.status = NotificationStatus.SENT
    notification.sent_at = timezone.now()
    notification.provider_message_id = message_id[:255]
    notification.next_attempt_at = None
    notification.save(
        update_fields=["status", "sent_at", "provider_message_id", "next_attempt_at", "attempts"]
    )
    if notification.channel == Channel.EMAIL:
        record_event(
            notification.order,
            EventKind.NOTIFICATION_SENT,
            by=SYSTEM,
            message=f"{notification.template} → {notification.recipient}",
            data={"notification_id": notification.pk, "template": notification.template},
        )


def mark_failed(notification: Notification, *, error: str) -> None:
    from ..services.changes import SYSTEM, record_event

    notification.status = NotificationStatus.FAILED
    notification.last_error = error[:2000]
    notification.next_attempt_at = None
    notification.save(update_fields=["status", "last_error", "next_attempt_at", "attempts"])
    record_event(
        notification.order,
        EventKind.NOTIFICATION_FAILED,
        by=SYSTEM,
        message=f"{notification.template} → {notification.recipient}: {error}"[:500],
        data={
            "notification_id": notification.pk,
            "template": notification.template,
            "channel": notification.channel,
        },
    )


def retry_by_hand(notification: Notification) -> bool:
    """Put a failed row back in the queue (admin and dashboard action). Returns whether it was failed."""
    updated = Notification.objects.filter(pk=notification.pk, status=NotificationStatus.FAILED).update(
        status=NotificationStatus.QUEUED, attempts=0, next_attempt_at=timezone.now()
    )
    if updated:
        transaction.on_commit(lambda: enqueue_delivery(notification.pk))
    return bool(updated)
