"""Celery tasks of the orders app. Each takes ids (never objects), reloads, and is safe to run twice."""

import logging
import random
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import Channel, Notification, NotificationStatus
from .notifications import enqueue_delivery, mark_failed, mark_sent
from .notifications.email import build_email, send_email
from .notifications.webhooks import post_webhook

logger = logging.getLogger(__name__)


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
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("order__shop", "webhook_endpoint")
            .filter(pk=notification_id, status=NotificationStatus.QUEUED)
            .first()
        )
        if notification is None:
            return "skipped"
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
    for notification_id in ids:
        if not enqueue_delivery(notification_id):
            break
        queued += 1
    return queued


@shared_task(ignore_result=True)
def flag_late_orders() -> int:
    from .services.scheduled import flag_late_orders as run

    return run()


@shared_task(ignore_result=True)
def report_stalled_shipments() -> int:
    from .services.scheduled import report_stalled_shipments as run

    return run()


@shared_task(ignore_result=True)
def request_feedback() -> int:
    from .services.scheduled import request_feedback as run

    return run()


@shared_task(ignore_result=True)
def expire_unpaid_orders() -> int:
    from .services.scheduled import expire_unpaid_orders as run

    return run()
