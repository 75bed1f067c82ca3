"""Celery tasks of the orders app. Each takes ids, reloads, and is safe to run twice."""

import logging
import random
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import Notification, NotificationStatus
from .notifications import enqueue_delivery, mark_failed, mark_sent, render_email

logger = logging.getLogger(__name__)


def retry_delay(attempt: int) -> float:
    """Exponential backoff with full jitter: up to 10 s, 20 s, 40 s ... capped at 30 minutes."""
    return random.uniform(0, min(1800, 10 * 2 ** max(attempt - 1, 0)))


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def deliver_notification(notification_id: int) -> str:
    """Send one outbox row unless it was already sent or another worker holds it."""
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("order__shop")
            .filter(pk=notification_id, status=NotificationStatus.QUEUED)
            .first()
        )
        if notification is None:
            return "skipped"
        notification.attempts += 1
        try:
            message = render_email(notification)
            message.send()
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            if notification.attempts >= settings.SHIPSHAPE["NOTIFICATION_MAX_ATTEMPTS"]:
                mark_failed(notification, error=error)
                return "failed"
            delay = retry_delay(notification.attempts)
            notification.last_error = error[:2000]
            notification.next_attempt_at = timezone.now() + timedelta(seconds=delay)
            notification.save(update_fields=["attempts", "last_error", "next_attempt_at"])
            transaction.on_commit(
                lambda: deliver_notification.apply_async(args=[notification_id], countdown=delay)
            )
            logger.info("Notification %s failed (%s); retry in %.0f s", notification_id, error, delay)
            return "retrying"
        mark_sent(notification, message_id=message.extra_headers.get("Message-ID", ""))
        return "sent"


@shared_task(ignore_result=True)
def sweep_outbox(grace_seconds: int = 60) -> int:
    """Re-queue rows whose delivery was never published or whose worker died. Safe to run any time."""
    due = timezone.now() - timedelta(seconds=grace_seconds)
    ids = list(
        Notification.objects.filter(status=NotificationStatus.QUEUED, next_attempt_at__lte=due)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:1000]
    )
    for notification_id in ids:
        enqueue_delivery(notification_id)
    return len(ids)
