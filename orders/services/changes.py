"""The mechanics every change to an order shares: lock, check the version, move, record, notify.

Each public service runs inside ``transaction.atomic`` and starts with ``lock_order``; a failure anywhere
rolls back the status, the event and the notification rows together.
"""

from dataclasses import dataclass, field

from django.db.models import F
from django.utils import timezone

from .. import states
from ..errors import ShipshapeError, StaleVersion
from ..models import ActorKind, Order, OrderEvent
from ..tracking import stamps as page_stamps


@dataclass(frozen=True)
class Actor:
    """Who makes a change: a seller (with their user), the buyer, the system, a carrier or the API."""

    kind: str = ActorKind.SYSTEM
    user: object | None = field(default=None, compare=False)

    @classmethod
    def seller(cls, user) -> "Actor":
        return cls(kind=ActorKind.SELLER, user=user)

    @classmethod
    def buyer(cls) -> "Actor":
        return cls(kind=ActorKind.BUYER)

    @classmethod
    def system(cls) -> "Actor":
        return cls(kind=ActorKind.SYSTEM)

    @classmethod
    def carrier(cls) -> "Actor":
        return cls(kind=ActorKind.CARRIER)

    @classmethod
    def importer(cls, user=None) -> "Actor":
        """An order file imported by ``user`` (a seller, or None from the command line)."""
        return cls(kind=ActorKind.IMPORT, user=user)


SYSTEM = Actor.system()


def lock_order(order: Order | int, *, expected_version: int | None = None) -> Order:
    """Re-read the order with a row lock (``SELECT ... FOR UPDATE``); refuse a stale version."""
    pk = order.pk if isinstance(order, Order) else order
    locked = Order.objects.select_for_update(of=("self",)).select_related("shop", "customer").get(pk=pk)
    if expected_version is not None and locked.version != expected_version:
        raise StaleVersion(expected=expected_version, actual=locked.version)
    return locked


def move(order: Order, target: str, *, now=None) -> list[str]:
    """Check the state machine and apply the move in memory; return the fields to save."""
    states.check_transition(order, target)
    order.status = target
    fields = ["status"]
    if stamp := states.TIMESTAMP_FIELDS.get(target):
        setattr(order, stamp, now or timezone.now())
        fields.append(stamp)
    return fields


def save_change(order: Order, fields: list[str]) -> None:
    """Save only the changed fields and bump the version (optimistic concurrency for forms and the API)."""
    order.version = F("version") + 1
    order.save(update_fields=[*dict.fromkeys(fields), "version", "updated_at"])
    order.refresh_from_db(fields=["version"])


def record_event(
    order: Order, kind: str, *, by: Actor, message: str = "", data: dict | None = None, at=None
) -> OrderEvent:
    """Write a timeline row; the shop's webhook endpoints get the event through the outbox."""
    from ..notifications import queue_webhooks

    event = OrderEvent.objects.create(
        order=order,
        kind=kind,
        message=str(message)[:500],
        data=data or {},
        actor=by.user if by.user is not None and getattr(by.user, "pk", None) else None,
        actor_kind=by.kind,
        created_at=at or timezone.now(),
    )
    queue_webhooks(order, event)
    page_stamps.forget_after_commit(order.public_token)
    return event


def decide_request(buyer_request, status: str, *, by: Actor, reason: str = "") -> None:
    """Record the seller's (or the rules') answer on a buyer's request: who, when, and why if declined."""
    buyer_request.status = status
    buyer_request.decided_by = by.user if getattr(by.user, "pk", None) else None
    buyer_request.decided_at = timezone.now()
    buyer_request.decline_reason = reason[: buyer_request._meta.get_field("decline_reason").max_length]
    buyer_request.save(update_fields=["status", "decided_by", "decided_at", "decline_reason"])


__all__ = [
    "SYSTEM",
    "Actor",
    "ShipshapeError",
    "decide_request",
    "lock_order",
    "move",
    "record_event",
    "save_change",
]
