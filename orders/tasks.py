"""Celery tasks of the orders app. Each takes ids (never objects), reloads, and is safe to run twice."""

import logging
import random
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from .imports.tasks import apply_import_task, preview_import_task  # noqa: F401  (registered here)
from .models import Channel, Notification, NotificationStatus
from .notifications import enqueue_deliveries, mark_failed, mark_sent, publishes_coalesced
from .notifications.email import build_email, send_email
from .notifications.webhooks import post_webhook
from .tracking.history import send_history_links  # noqa: F401  (a task: registered with the worker here)

logger = logging.getLogger(__name__)


# The sweep (and any request that commits many changes) hands rows to workers in tasks of this many ids.
DELIVERY_BATCH_SIZE = settings.SHIPSHAPE["NOTIFICATION_PUBLISH_BATCH"]


def retry_delay(attempt: int) -> float:
    """Exponential backoff with full jitter: up to base, 2×base, 4×base ... capped (see settings)."""
    base = settings.SHIPSHAPE["NOTIFICATION_RETRY_BASE_SECONDS"]
    cap = settings.SHIPSHAPE["NOTIFICATION_RETRY_MAX_SECONDS"]
    return random.uniform(base / 2, min(cap, base * 2 ** max(attempt - 1, 0)))


def send(notification: Notification) -> str:
    """Deliver one row on its channel; returns the provider's message id."""
    if notification.channel == Channel.WEBHOOK:
        return post_webhook(notification)
    message = build_email(notification)
    send_email(message)
    return message.extra_headers["Message-ID"]


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def deliver_notification(notification_id: int) -> str:
    """Send one outbox row unless it is already sent, failed, not yet due, or held by another worker."""
    return deliver(notification_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def deliver_notifications(notification_ids: list[int]) -> dict[str, int]:
    """Send several outbox rows one after the other, over the worker thread's one SMTP connection.

    The rows with their order, shop and order lines are read first (two queries); then each row is
    delivered in its own transaction, exactly as ``deliver_notification`` delivers one. So a row is marked
    sent only after its server accepted it, and a worker that dies in the middle of a batch leaves every row
    it had not finished queued, with its lock released. Returns how many rows ended each way.
    """
    rows = (
        Notification.objects.select_related("order__shop", "webhook_endpoint")
        .prefetch_related("order__lines")  # the confirmation and change emails list them
        .in_bulk(notification_ids)
    )
    counts: dict[str, int] = {}
    for notification_id in notification_ids:
        outcome = (
            deliver(notification_id, read=rows[notification_id]) if notification_id in rows else "skipped"
        )
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def deliver(notification_id: int, *, read: Notification | None = None) -> str:
    """Lock the row, send it, and mark it sent (or schedule the retry) in one transaction.

    ``read`` is the row as a batch read it, with its order and shop: then the lock only re-reads the fields
    that may have changed since.
    """
    with transaction.atomic():
        commit_without_waiting_for_disk()
        locked = Notification.objects.select_for_update(skip_locked=True, of=("self",)).filter(
            pk=notification_id, status=NotificationStatus.QUEUED
        )
        if read is None:
            notification = locked.select_related("order__shop", "webhook_endpoint").first()
        elif state := next(iter(locked.order_by().values_list("attempts", "next_attempt_at")), None):
            notification = read
            notification.attempts, notification.next_attempt_at = state
        else:
            notification = None
        if notification is None:
            return "skipped"  # sent, failed, or another worker holds it
        if notification.next_attempt_at and notification.next_attempt_at > timezone.now() + timedelta(
            seconds=1
        ):
            return "not due"
        notification.attempts += 1
        try:
            provider_id = send(notification)
        except Exception as exc:
            return _failed_attempt(notification, f"{type(exc).__name__}: {exc}")
        mark_sent(notification, message_id=provider_id)
        return "sent"


def commit_without_waiting_for_disk() -> None:
    """With ``NOTIFICATION_ASYNC_COMMIT`` (off by default): let this transaction's COMMIT return before
    PostgreSQL has flushed it to disk (``synchronous_commit``).

    The commit is at once visible and survives the worker dying, which is the failure the outbox guards
    against; only a crash of the database server itself in the next fraction of a second (3 × its
    ``wal_writer_delay``) could lose the ``sent`` mark, and then that message goes out again. Waiting for the
    flush cost about 4 ms per email, a fifth of the time budget of a 200 emails/s worker. See
    docs/notifications.md.
    """
    if connection.vendor == "postgresql" and settings.SHIPSHAPE["NOTIFICATION_ASYNC_COMMIT"]:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _failed_attempt(notification: Notification, error: str) -> str:
    if notification.attempts >= settings.SHIPSHAPE["NOTIFICATION_MAX_ATTEMPTS"]:
        mark_failed(notification, error=error)
        logger.warning("Notification %s failed for good: %s", notification.pk, error)
        return "failed"
    delay = retry_delay(notification.attempts)
    notification.last_error = error[:2000]
    notification.next_attempt_at = timezone.now() + timedelta(seconds=delay)
    notification.save(update_fields=["attempts", "last_error", "next_attempt_at"])
    notification_id = notification.pk
    transaction.on_commit(lambda: _schedule_retry(notification_id, delay))
    logger.info(
        "Notification %s attempt %s failed (%s); next in %.1f s",
        notification_id,
        notification.attempts,
        error,
        delay,
    )
    return "retrying"


def _schedule_retry(notification_id: int, delay: float) -> None:
    try:
        deliver_notification.apply_async(args=[notification_id], countdown=delay, retry=False)
    except Exception:  # the broker went away: the sweep finds the row once it is due
        logger.warning("Could not schedule the retry of notification %s", notification_id, exc_info=True)


@shared_task(ignore_result=True)
def sweep_outbox(grace_seconds: int | None = None, batch: int = 5000) -> int:
    """Re-queue due rows that no task is working on: the broker was down at commit, or a worker died."""
    if grace_seconds is None:
        grace_seconds = settings.SHIPSHAPE["NOTIFICATION_SWEEP_GRACE_SECONDS"]
    from .notifications import publish_breaker

    publish_breaker.reset()  # the sweep itself probes the broker
    due = timezone.now() - timedelta(seconds=grace_seconds)
    ids = list(
        Notification.objects.filter(status=NotificationStatus.QUEUED, next_attempt_at__lte=due)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:batch]
    )
    queued = 0
    for start in range(0, len(ids), DELIVERY_BATCH_SIZE):
        chunk = ids[start : start + DELIVERY_BATCH_SIZE]
        if not enqueue_deliveries(chunk):
            break
        queued += len(chunk)
    return queued


@shared_task(ignore_result=True)
def flag_late_orders() -> int:
    from .services.scheduled import flag_late_orders as run

    with publishes_coalesced():  # one change per order: their emails go out in batch tasks
        return run()


@shared_task(ignore_result=True)
def report_stalled_shipments() -> int:
    from .services.scheduled import report_stalled_shipments as run

    with publishes_coalesced():  # one change per order: their emails go out in batch tasks
        return run()


@shared_task(ignore_result=True)
def request_feedback() -> int:
    from .services.scheduled import request_feedback as run

    with publishes_coalesced():  # one change per order: their emails go out in batch tasks
        return run()


@shared_task(ignore_result=True)
def expire_unpaid_orders() -> int:
    from .services.scheduled import expire_unpaid_orders as run

    with publishes_coalesced():  # one change per order: their emails go out in batch tasks
        return run()
