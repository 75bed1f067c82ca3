"""Customer notifications: outbox rows written with each change, delivered by Celery after the commit.

See docs/notifications.md for the guarantees.
"""

from .catalogue import CATALOGUE
from .outbox import (
    dedupe_key,
    enqueue_delivery,
    mark_failed,
    mark_sent,
    publish_breaker,
    queue_customer_email,
    queue_webhooks,
    retry_by_hand,
)

__all__ = [
    "CATALOGUE",
    "dedupe_key",
    "enqueue_delivery",
    "mark_failed",
    "mark_sent",
    "publish_breaker",
    "queue_customer_email",
    "queue_webhooks",
    "retry_by_hand",
]
