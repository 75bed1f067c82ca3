"""Returns: requested → approved or rejected → received → refunded. The last refund returns the order."""

from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from shop.templatetags.money import format_money

from ..errors import InvalidInput
from ..models import ActorKind, EventKind, Order, Return, ReturnLine, ReturnStatus
from ..models.returns import OPEN_OR_DONE_RETURN_STATES, OPEN_RETURN_STATES, RETURN_MOVES
from ..notifications import queue_customer_email
from ..states import OrderStatus, PaymentStatus
from .changes import Actor, lock_order, move, record_event, save_change


@transaction.atomic
def request_return(order: Order, *, lines: dict[int, int], reason: str, by: Actor) -> Return:
    """Ask to send items back. Only a delivered order; a buyer only within the shop's return window; never
    more of a line than was shipped, counting every return that is not rejected."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Say why the items are coming back."), field="reason", code="reason_required")
    order = lock_order(order)
    if order.status != OrderStatus.DELIVERED:
        raise InvalidInput(_("Only a delivered order can be returned."), field="order", code="not_delivered")
    now = timezone.now()
    if (
        by.kind == ActorKind.BUYER
        and order.delivered_at + timedelta(days=order.shop.return_window_days) < now
    ):
        raise InvalidInput(
            _("The return window of %(days)s days has closed.") % {"days": order.shop.return_window_days},
            field="order",
            code="window_closed",
        )
    if not lines:
        raise InvalidInput(_("Choose at least one item to return."), field="lines")
    shipped = order.shipped_quantities()
    held = dict(
        ReturnLine.objects.filter(
            return_request__order=order, return_request__status__in=OPEN_OR_DONE_RETURN_STATES
        )
        .values_list("order_line_id")
        .annotate(total=Sum("quantity"))
    )
    line_ids = set(order.lines.values_list("pk", flat=True))
    for line_id, quantity in lines.items():
        if int(line_id) not in line_ids:
            raise InvalidInput(
                _("That item is not in this order."), field="lines", code="unknown_line", line=line_id
            )
        if int(quantity) <= 0:
            raise InvalidInput(_("Quantities must be at least 1."), field="lines")
        left = shipped[int(line_id)] - held.get(int(line_id), 0)
        if int(quantity) > left:
            raise InvalidInput(
                _("Only %(count)s of that item can still be returned.") % {"count": max(left, 0)},
                field="lines",
                code="too_many",
                line=line_id,
            )
    return_request = Return.objects.create(order=order, reason=reason[:500], requested_at=now)
    ReturnLine.objects.bulk_create(
        ReturnLine(return_request=return_request, order_line_id=int(line_id), quantity=int(quantity))
        for line_id, quantity in lines.items()
    )
    order.has_open_return = True  # the new one is open
    save_change(order, ["has_open_return"])
    record_event(
        order,
        EventKind.RETURN_REQUESTED,
        by=by,
        message=reason,
        data={"return_id": return_request.pk, "lines": {str(k): int(v) for k, v in lines.items()}},
    )
    return return_request


def _open_return_fields(order: Order) -> list[str]:
    """Bring ``order.has_open_return`` (what the order list's filter reads) in line with its returns; the
    fields to save."""
    has_open_return = order.returns.filter(status__in=OPEN_RETURN_STATES).exists()
    if has_open_return == order.has_open_return:
        return []
    order.has_open_return = has_open_return
    return ["has_open_return"]


def _lock_return(return_request: Return) -> tuple[Order, Return]:
    order = lock_order(return_request.order_id)
    return order, Return.objects.select_for_update().get(pk=return_request.pk)


def _move_return(return_request: Return, target: str) -> None:
    if target not in RETURN_MOVES[return_request.status]:
        raise InvalidInput(
            _("A return that is %(current)s cannot become %(target)s.")
            % {
                "current": return_request.get_status_display().lower(),
                "target": ReturnStatus(target).label.lower(),
            },
            field="status",
            code="illegal_return_transition",
            current_status=return_request.status,
            allowed_statuses=list(RETURN_MOVES[return_request.status]),
        )
    return_request.status = target


def _advance_return(
    return_request: Return,
    target: str,
    *,
    by: Actor,
    stamp: str,
    event_kind: str,
    message: str,
    template: str,
    fields: dict | None = None,
    context: dict | None = None,
) -> Return:
    """The steps that only move a return along: lock, check the move, stamp it, record, tell the buyer."""
    order, return_request = _lock_return(return_request)
    _move_return(return_request, target)
    setattr(return_request, stamp, timezone.now())
    for name, value in (fields or {}).items():
        setattr(return_request, name, value)
    return_request.save(update_fields=["status", stamp, *(fields or {})])
    save_change(order, _open_return_fields(order))
    data = {"return_id": return_request.pk}
    event = record_event(order, event_kind, by=by, message=message, data=data)
    queue_customer_email(order, event, template, context={**data, **(context or {})})
    return return_request


@transaction.atomic
def approve_return(return_request: Return, *, by: Actor) -> Return:
    return _advance_return(
        return_request,
        ReturnStatus.APPROVED,
        by=by,
        stamp="decided_at",
        event_kind=EventKind.RETURN_APPROVED,
        message=_("Return approved"),
        template="return_approved",
    )


@transaction.atomic
def reject_return(return_request: Return, *, reason: str, by: Actor) -> Return:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Say why the return is rejected."), field="reason", code="reason_required")
    return _advance_return(
        return_request,
        ReturnStatus.REJECTED,
        by=by,
        stamp="decided_at",
        event_kind=EventKind.RETURN_REJECTED,
        message=reason,
        template="return_rejected",
        fields={"rejection_reason": reason[:500]},
        context={"reason": reason},
    )


@transaction.atomic
def receive_return(return_request: Return, *, by: Actor) -> Return:
    return _advance_return(
        return_request,
        ReturnStatus.RECEIVED,
        by=by,
        stamp="received_at",
        event_kind=EventKind.RETURN_RECEIVED,
        message=_("Returned items received"),
        template="return_received",
    )


def suggested_refund(return_request: Return) -> Decimal:
    """The returned units at their price, less their share of the order's discount."""
    order = return_request.order
    gross = sum(
        (rl.order_line.unit_price * rl.quantity for rl in return_request.lines.select_related("order_line")),
        Decimal("0"),
    )
    if order.subtotal and order.discount:
        gross -= (gross * order.discount / order.subtotal).quantize(Decimal("0.01"))
    return max(min(gross, order.total - order.refunded_total), Decimal("0.00"))


@transaction.atomic
def refund_return(return_request: Return, *, by: Actor, amount: Decimal | None = None) -> Return:
    """Refund a received return (a partial amount is allowed). When every item of a delivered order has come
    back and been refunded, the order becomes returned."""
    order, return_request = _lock_return(return_request)
    _move_return(return_request, ReturnStatus.REFUNDED)
    amount = suggested_refund(return_request) if amount is None else Decimal(amount)
    refundable = order.total - order.refunded_total
    if amount < 0 or amount > refundable:
        raise InvalidInput(
            _("The refund must be between 0 and %(amount)s.")
            % {"amount": format_money(refundable, order.currency)},
            field="amount",
            code="refund_out_of_range",
        )
    now = timezone.now()
    return_request.refund_amount = amount
    return_request.refunded_at = now
    return_request.save(update_fields=["status", "refund_amount", "refunded_at"])
    order.refunded_total += amount
    fields = ["refunded_total"]
    if amount and order.payment_status in (PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED):
        order.payment_status = (
            PaymentStatus.REFUNDED
            if order.refunded_total >= order.total
            else PaymentStatus.PARTIALLY_REFUNDED
        )
        fields.append("payment_status")
    event = record_event(
        order,
        EventKind.RETURN_REFUNDED,
        by=by,
        message=_("Refund issued"),
        data={"return_id": return_request.pk, "amount": str(amount)},
    )
    queue_customer_email(
        order, event, "return_refunded", context={"return_id": return_request.pk, "amount": str(amount)}
    )
    if order.status == OrderStatus.DELIVERED and not order.unreturned_quantities():
        fields += move(order, OrderStatus.RETURNED, now=now)
        returned_event = record_event(order, EventKind.RETURNED, by=by, message=_("Every item came back"))
        queue_customer_email(order, returned_event, "order_returned")
    save_change(order, fields + _open_return_fields(order))
    return return_request
