"""Celery tasks of the tenant app."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from .models import IdempotencyRecord


@shared_task(ignore_result=True)
def purge_idempotency_records() -> int:
    """Forget idempotency keys older than the retention period (24 hours by default), so the table stays
    small; a retry after that is treated as a new request."""
    cutoff = timezone.now() - timedelta(hours=settings.SHIPSHAPE["IDEMPOTENCY_KEY_RETENTION_HOURS"])
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
