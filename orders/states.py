"""The order state machine: the one place that knows which moves are legal.

Services ask ``check_transition`` before they change ``Order.status``; nothing else assigns it.
The table follows docs/architecture.md. Derived conditions (partially shipped, late, delayed, return
requested) are not states: see ``orders.selectors``.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _

from .errors import IllegalTransition, TransitionBlocked


class OrderStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    PROCESSED = "processed", _("Processed")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")
    CANCELLED = "cancelled", _("Cancelled")
    RETURNED = "returned", _("Returned")


class PaymentStatus(models.TextChoices):
    UNPAID = "unpaid", _("Unpaid")
    PAID = "paid", _("Paid")
    PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
    REFUNDED = "refunded", _("Refunded")


class PaymentMethod(models.TextChoices):
    CARD = "card", _("Card")
    WALLET = "wallet", _("Wallet")
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")
    CASH_ON_DELIVERY = "cod", _("Cash on delivery")
    PLATFORM = "platform", _("Paid on the selling platform")


S = OrderStatus


def _paid_or_cash_on_delivery(order) -> str | None:
    if order.payment_status == PaymentStatus.PAID or order.payment_method == PaymentMethod.CASH_ON_DELIVERY:
        return None
    return str(_("The order is not paid and is not cash on delivery."))


def _every_line_shipped(order) -> str | None:
    if order.unshipped_quantities():
        return str(_("Some items are not in a shipment yet."))
    return None


def _no_parcel_left(order) -> str | None:
    if order.shipments.exists():
        return str(
            _("Some parcels have already left; they must come back before the order can be cancelled.")
        )
    return None


def _every_shipment_delivered(order) -> str | None:
    if not order.shipments.exists():
        return None  # delivered by hand: the service marks every shipment delivered first
    if order.shipments.exclude(status="delivered").exists():
        return str(_("Some parcels are not delivered yet."))
    return None


def _everything_returned_and_refunded(order) -> str | None:
    if order.unreturned_quantities():
        return str(_("Not every item came back through a refunded return."))
    return None


@dataclass(frozen=True)
class Transition:
    source: str
    target: str
    guard: Callable[[object], str | None] | None = None


TRANSITIONS: tuple[Transition, ...] = (
    Transition(S.PENDING, S.PROCESSED, _paid_or_cash_on_delivery),
    Transition(S.PENDING, S.CANCELLED),
    Transition(S.PROCESSED, S.CANCELLED, _no_parcel_left),
    Transition(S.PROCESSED, S.SHIPPED, _every_line_shipped),
    Transition(S.SHIPPED, S.DELIVERED, _every_shipment_delivered),
    Transition(S.SHIPPED, S.RETURNED),
    Transition(S.DELIVERED, S.RETURNED, _everything_returned_and_refunded),
)

_BY_PAIR = {(t.source, t.target): t for t in TRANSITIONS}

# The timestamp each state sets when the order enters it.
TIMESTAMP_FIELDS = {
    S.PROCESSED: "processed_at",
    S.SHIPPED: "shipped_at",
    S.DELIVERED: "delivered_at",
    S.CANCELLED: "cancelled_at",
    S.RETURNED: "returned_at",
}

FINAL_STATES = frozenset(s for s in S if not any(t.source == s for t in TRANSITIONS))
# Before these states the shipping address and the lines may still change.
NOT_YET_SHIPPED = frozenset({S.PENDING, S.PROCESSED})


def allowed_moves(status: str) -> list[str]:
    """The states reachable in one move from ``status``, in the card's order."""
    return [t.target for t in TRANSITIONS if t.source == status]


def is_allowed(source: str, target: str) -> bool:
    return (source, target) in _BY_PAIR


def check_transition(order, target: str) -> None:
    """Raise ``IllegalTransition`` unless ``order`` may move to ``target`` now.

    An unknown pair is illegal whatever the order holds; a known pair may still be blocked by its guard
    (unpaid order, items not shipped...), which raises ``TransitionBlocked`` with the reason.
    """
    transition = _BY_PAIR.get((order.status, target))
    if transition is None:
        raise IllegalTransition(current=order.status, target=target, allowed=allowed_moves(order.status))
    if transition.guard is not None and (reason := transition.guard(order)):
        raise TransitionBlocked(current=order.status, target=target, reason=reason)
