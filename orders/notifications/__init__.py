"""Customer notifications: outbox rows written with each change, delivered by Celery after the commit.

See docs/notifications.md for the guarantees.
"""

from . import email  # noqa: F401 - connects the forgetting of cached shop texts when one is saved
from .catalogue import CATALOGUE
from .outbox import (
    customers_silenced,
    dedupe_key,
    enqueue_deliveries,
    enqueue_delivery,
    mark_failed,
    mark_sent,
    publish_after_commit,
    publish_breaker,
    publishes_coalesced,
    queue_customer_email,
    queue_webhooks,
    retry_by_hand,
)

__all__ = [
    "CATALOGUE",
    "customers_silenced",
    "dedupe_key",
    "enqueue_deliveries",
    "enqueue_delivery",
    "mark_failed",
    "mark_sent",
    "publish_after_commit",
    "publish_breaker",
    "publishes_coalesced",
    "queue_customer_email",
    "queue_webhooks",
    "retry_by_hand",
]
