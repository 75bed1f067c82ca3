"""Item changes (issue 9): the shop's policy, the buyer's request, the seller's answer and the seller's edit.

The buyer asks from the tracking page to change the variant (size, colour...) or the quantity of a line,
within the shop's policy: ``Shop.allow_modifications``, ``Shop.modification_window_hours`` after placing
(0: no time limit), and never once the order is processed. The request waits for the seller as a
``BuyerRequest`` of kind ``modification``. Approving it applies the change through ``modify_lines``, the
same service the seller's own edit uses, so totals, the coupon, the timeline and the buyer's email follow
the same rules either way. See docs/modifications.md.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from ..errors import CouponRejected, InvalidInput, OrderNotPending
from ..models import BuyerRequest, EventKind, Order, OrderEvent, OrderLine, RequestKind, RequestStatus
from ..notifications import queue_customer_email
from ..states import OrderStatus
from .changes import Actor, decide_request, lock_order, record_event, save_change
from .editing import modify_lines
from .placing import LineSpec

VARIANT_MAX_LENGTH = OrderLine._meta.get_field("variant").max_length
SKU_MAX_LENGTH = OrderLine._meta.get_field("sku").max_length
NAME_MAX_LENGTH = OrderLine._meta.get_field("name").max_length
MESSAGE_MAX_LENGTH = BuyerRequest._meta.get_field("message").max_length
DECLINE_REASON_MAX_LENGTH = BuyerRequest._meta.get_field("decline_reason").max_length
# A sanity bound, far above any real order: keeps totals inside the money columns.
MAX_QUANTITY = 9999
CHANGE_KEYS = frozenset({"line_id", "variant", "quantity"})


# --- The policy ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModificationPolicy:
    """Whether the buyer may ask for an item change now, until when, and why, in words the buyer reads.

    ``code`` names the case for the API and the templates: ``open``, ``window_closed``, ``disabled``,
    ``not_pending``.
    """

    allowed: bool
    deadline: datetime | None
    reason: str
    code: str


def modification_policy(
    order: Order, now: datetime | None = None, *, zone: ZoneInfo | None = None
) -> ModificationPolicy:
    """The shop's item-change policy applied to this order at ``now``.

    Pending orders only; the shop may turn changes off, or allow them for ``modification_window_hours``
    after placing (0: until the order is processed). Times in the reason are shown in ``zone`` (the buyer's,
    else the shop's).
    """
    now = now or timezone.now()
    shop = order.shop
    if order.status != OrderStatus.PENDING:
        return ModificationPolicy(
            False, None, _not_pending_reason(order.status, asked_by_buyer=True), "not_pending"
        )
    if not shop.allow_modifications:
        return ModificationPolicy(
            False, None, _("This shop does not change items once an order is placed."), "disabled"
        )
    if not shop.modification_window_hours:
        return ModificationPolicy(
            True, None, _("You can change items until the order is being prepared."), "open"
        )
    deadline = order.placed_at + timedelta(hours=shop.modification_window_hours)
    when = _when(deadline, zone or shop.zone)
    if now >= deadline:
        return ModificationPolicy(
            False,
            deadline,
            _("Items could be changed until %(time)s on %(date)s; that time has passed.") % when,
            "window_closed",
        )
    return ModificationPolicy(
        True,
        deadline,
        _("You can change items until %(time)s on %(date)s, as long as the order is not being prepared yet.")
        % when,
        "open",
    )


def _when(moment: datetime, zone: ZoneInfo) -> dict:
    local = timezone.localtime(moment, zone)
    return {
        "time": formats.time_format(local, "TIME_FORMAT"),
        "date": formats.date_format(local, "MONTH_DAY_FORMAT"),
    }


def _not_pending_reason(status: str, *, asked_by_buyer: bool) -> str:
    if status == OrderStatus.PROCESSED:
        if asked_by_buyer:
            return _("Your order is already being prepared, so its items can no longer change.")
        return _("The order was already being prepared, so its items could no longer change.")
    if status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
        if asked_by_buyer:
            return _("Your order has already shipped, so its items can no longer change.")
        return _("The order had already shipped, so its items could no longer change.")
    if status == OrderStatus.CANCELLED:
        return _("The order was cancelled.")
    return _("The order is closed.")


# --- The buyer asks -----------------------------------------------------------------------------------------


@transaction.atomic
def request_modification(order: Order, *, changes: list[dict], message: str = "", by: Actor) -> BuyerRequest:
    """The buyer asks to change the variant and/or quantity of lines of a pending order, within the shop's
    policy (refused with the policy's reason otherwise).

    ``changes`` is ``[{"line_id": 5, "variant": "L / black", "quantity": 3}, ...]``; a key left out keeps the
    line's current value. The request stores each change with its before and after values. While a request
    is open, asking again replaces what it asks (the buyer corrects it); the timeline says so.
    """
    message = (message or "").strip()
    if len(message) > MESSAGE_MAX_LENGTH:
        raise InvalidInput(
            _("Use at most %(count)s characters for the message.") % {"count": MESSAGE_MAX_LENGTH},
            field="message",
            code="too_long",
            limit=MESSAGE_MAX_LENGTH,
        )
    wanted = _clean_changes(changes)
    order = lock_order(order)
    policy = modification_policy(order)
    if not policy.allowed:
        raise InvalidInput(policy.reason, field="changes", code=f"modification_{policy.code}")
    lines = {line.pk: line for line in order.lines.all()}
    unknown = [line_id for line_id in wanted if line_id not in lines]
    if unknown:
        raise InvalidInput(
            _("That item is not in this order."), field="changes", code="unknown_line", lines=unknown
        )
    recorded = []
    for line_id, asked in wanted.items():
        line = lines[line_id]
        before = {"variant": line.variant, "quantity": line.quantity}
        after = {**before, **asked}
        if after != before:
            recorded.append(
                {
                    "line_id": line_id,
                    "sku": line.sku,
                    "name": line.name,
                    "unit_price": str(line.unit_price),
                    "before": before,
                    "after": after,
                }
            )
    if not recorded:
        raise InvalidInput(
            _("These are already the items of your order; change a size, colour or quantity first."),
            field="changes",
            code="unchanged",
        )
    payload = {"changes": recorded}
    open_request = (
        BuyerRequest.objects.select_for_update()
        .filter(order=order, kind=RequestKind.MODIFICATION, status=RequestStatus.OPEN)
        .first()
    )
    if open_request is not None:
        open_request.payload, open_request.message = payload, message
        open_request.save(update_fields=["payload", "message"])
        buyer_request, replaced = open_request, True
    else:
        buyer_request = BuyerRequest.objects.create(
            shop_id=order.shop_id,
            order=order,
            kind=RequestKind.MODIFICATION,
            payload=payload,
            message=message,
        )
        replaced = False
    save_change(order, [])
    record_event(
        order,
        EventKind.MODIFICATION_REQUESTED,
        by=by,
        message=message
        or (
            _("Item change requested again, replacing the earlier one")
            if replaced
            else _("Item change requested")
        ),
        data={"request_id": buyer_request.pk, "changes": recorded, "replaces_earlier_request": replaced},
    )
    return buyer_request


def _clean_changes(changes: list[dict]) -> dict[int, dict]:
    """``{line_id: {"variant"?, "quantity"?}}`` from the raw changes, or ``InvalidInput`` naming the fault."""
    if not isinstance(changes, list | tuple) or not changes:
        raise InvalidInput(_("Say which item to change."), field="changes", code="empty")
    cleaned: dict[int, dict] = {}
    for index, change in enumerate(changes):
        where = f"changes.{index}"
        if not isinstance(change, dict):
            raise InvalidInput(
                _("Each change names an item and what to change."), field=where, code="invalid"
            )
        if unknown := set(change) - CHANGE_KEYS:
            raise InvalidInput(
                _("Only the variant and the quantity of an item can change (not %(fields)s).")
                % {"fields": ", ".join(sorted(map(str, unknown)))},
                field=where,
                code="invalid",
            )
        line_id = _whole_number(change.get("line_id"))
        if line_id is None:
            raise InvalidInput(_("Say which item to change."), field=f"{where}.line_id", code="unknown_line")
        if line_id in cleaned:
            raise InvalidInput(
                _("The same item is listed twice; list each item once."),
                field=f"{where}.line_id",
                code="duplicate",
            )
        asked = {}
        if "variant" in change:
            if not isinstance(change["variant"], str):
                raise InvalidInput(
                    _("Write the size or colour as text."), field=f"{where}.variant", code="invalid"
                )
            variant = " ".join(change["variant"].split())
            if len(variant) > VARIANT_MAX_LENGTH:
                raise InvalidInput(
                    _("Use at most %(count)s characters for the size or colour.")
                    % {"count": VARIANT_MAX_LENGTH},
                    field=f"{where}.variant",
                    code="too_long",
                    limit=VARIANT_MAX_LENGTH,
                )
            asked["variant"] = variant
        if "quantity" in change:
            quantity = _whole_number(change["quantity"])
            if quantity is None or quantity < 1:
                raise InvalidInput(
                    _(
                        "The quantity must be a whole number of at least 1. "
                        "To drop an item, write to the seller."
                    ),
                    field=f"{where}.quantity",
                    code="invalid_quantity",
                )
            if quantity > MAX_QUANTITY:
                raise InvalidInput(
                    _("Ask for at most %(count)s of an item.") % {"count": MAX_QUANTITY},
                    field=f"{where}.quantity",
                    code="invalid_quantity",
                )
            asked["quantity"] = quantity
        cleaned[line_id] = asked
    return cleaned


def _whole_number(value) -> int | None:
    """An int, or a string of digits as a form sends it; None for anything else (1.5, True, "two")."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


# --- The seller answers -------------------------------------------------------------------------------------


def _lock_modification_request(
    buyer_request: BuyerRequest | int, expected_version: int | None, shop
) -> tuple[Order, BuyerRequest]:
    """The order row first, then the request (the lock order every service keeps). With ``shop``, a request
    of another shop raises ``BuyerRequest.DoesNotExist``, as a missing one does."""
    request_id = buyer_request.pk if isinstance(buyer_request, BuyerRequest) else buyer_request
    requests = BuyerRequest.objects.filter(shop=shop) if shop is not None else BuyerRequest.objects.all()
    order_id = requests.values_list("order_id", flat=True).get(pk=request_id)
    order = lock_order(order_id, expected_version=expected_version)
    buyer_request = BuyerRequest.objects.select_for_update().get(pk=request_id, order=order)
    if buyer_request.kind != RequestKind.MODIFICATION:
        raise InvalidInput(
            _("This request is not an item change."), field="request", code="not_a_modification"
        )
    if buyer_request.status != RequestStatus.OPEN:
        raise InvalidInput(
            _("This request was already answered (%(status)s).")
            % {"status": buyer_request.get_status_display().lower()},
            field="request",
            code="already_decided",
        )
    return order, buyer_request


def _decline(
    order: Order, buyer_request: BuyerRequest, *, reason: str, by: Actor, automatic: bool
) -> BuyerRequest:
    decide_request(buyer_request, RequestStatus.DECLINED, by=by, reason=reason)
    save_change(order, [])
    event = record_event(
        order,
        EventKind.REQUEST_DECLINED,
        by=by,
        message=reason,
        data={
            "request_id": buyer_request.pk,
            "kind": buyer_request.kind,
            "reason": reason,
            "automatic": automatic,
        },
    )
    queue_customer_email(
        order,
        event,
        "modification_declined",
        context={
            "reason": reason,
            "request_id": buyer_request.pk,
            "changes": buyer_request.payload.get("changes", []),
        },
    )
    return buyer_request


@transaction.atomic
def approve_modification(
    buyer_request: BuyerRequest | int,
    *,
    by: Actor,
    expected_version: int | None = None,
    drop_coupon_if_invalid: bool = False,
    shop=None,
) -> BuyerRequest:
    """The seller accepts the buyer's item change: it is applied through ``modify_lines`` (totals, coupon,
    timeline) and the buyer gets one email, ``modification_approved``.

    If the order is no longer pending (processed meanwhile) the change cannot be made: the request is declined
    with that reason and the buyer is told; the returned request's status says which happened. A coupon that
    no longer applies to the changed items refuses the approval with its reason (nothing is written) unless
    ``drop_coupon_if_invalid``. ``shop`` scopes the look-up (the dashboard and the API pass it).
    """
    order, buyer_request = _lock_modification_request(buyer_request, expected_version, shop)
    if order.status != OrderStatus.PENDING:
        reason = _not_pending_reason(order.status, asked_by_buyer=False)
        return _decline(order, buyer_request, reason=reason, by=by, automatic=True)

    changes = buyer_request.payload.get("changes", [])
    current = {line.pk: line for line in order.lines.all()}
    if missing := [change["name"] for change in changes if change["line_id"] not in current]:
        raise InvalidInput(
            _("%(items)s is no longer in the order. Decline the request, or change the items yourself.")
            % {"items": ", ".join(missing)},
            field="request",
            code="line_removed",
        )
    after = {change["line_id"]: change["after"] for change in changes}
    specs = [
        LineSpec(
            id=line.pk,
            sku=line.sku,
            name=line.name,
            variant=after.get(line.pk, {}).get("variant", line.variant),
            quantity=after.get(line.pk, {}).get("quantity", line.quantity),
            unit_price=line.unit_price,
        )
        for line in current.values()
    ]
    decide_request(buyer_request, RequestStatus.APPROVED, by=by)
    data = {"request_id": buyer_request.pk, "kind": buyer_request.kind}
    event = record_event(
        order, EventKind.REQUEST_APPROVED, by=by, message=_("Item change approved"), data=data
    )
    if specs == [_spec_of(line) for line in current.values()]:
        # Already so (the seller made the change by hand): nothing to apply, the buyer is told all the same.
        save_change(order, [])
        queue_customer_email(order, event, "modification_approved", context={"dropped_coupon": ""})
        return buyer_request
    try:
        modify_lines(
            order,
            lines=specs,
            by=by,
            drop_coupon_if_invalid=drop_coupon_if_invalid,
            notification="modification_approved",
            event_data={"request_id": buyer_request.pk},
        )
    except CouponRejected as exc:
        raise _explained(
            exc,
            _(
                "With these changes the coupon %(code)s no longer applies. Approve anyway to take the coupon "
                "off the order (the total goes up), or decline the request. Reason: %(rule)s"
            ),
        ) from exc
    return buyer_request


@transaction.atomic
def decline_modification(
    buyer_request: BuyerRequest | int,
    *,
    reason: str,
    by: Actor,
    expected_version: int | None = None,
    shop=None,
) -> BuyerRequest:
    """The seller refuses the buyer's item change, saying why; the buyer is emailed the reason."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(
            _("Say why the request is declined; the buyer will read it."), field="reason", code="empty"
        )
    if len(reason) > DECLINE_REASON_MAX_LENGTH:
        raise InvalidInput(
            _("Use at most %(count)s characters for the reason.") % {"count": DECLINE_REASON_MAX_LENGTH},
            field="reason",
            code="too_long",
            limit=DECLINE_REASON_MAX_LENGTH,
        )
    order, buyer_request = _lock_modification_request(buyer_request, expected_version, shop)
    return _decline(order, buyer_request, reason=reason, by=by, automatic=False)


def _explained(exc: CouponRejected, template: str) -> CouponRejected:
    """The coupon's own rule, put in the words of the change that broke it; same code and details."""
    explained = CouponRejected(
        template % {"code": exc.details.get("coupon_code", ""), "rule": exc.message},
        reason=exc.reason,
        coupon_code=exc.details.get("coupon_code", ""),
    )
    explained.details["can_drop_coupon"] = True
    return explained


# --- The seller edits ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LinesChange:
    """What a change of items did, for the page or the API: the totals and the difference to settle.

    ``difference`` is the new total minus the old one: positive, the buyer owes it; negative, the buyer is
    due a refund of its absolute value; zero, nothing to settle.
    """

    order: Order
    event: OrderEvent
    old_total: Decimal
    new_total: Decimal
    difference: Decimal
    dropped_coupon: str | None

    @property
    def settlement(self) -> str:
        """``to_pay``, ``to_refund`` or ``none``."""
        if self.difference > 0:
            return "to_pay"
        if self.difference < 0:
            return "to_refund"
        return "none"

    @property
    def amount(self) -> Decimal:
        """The amount to pay or refund, never negative."""
        return abs(self.difference)


def _spec_of(line: OrderLine) -> LineSpec:
    return LineSpec(
        id=line.pk,
        sku=line.sku,
        name=line.name,
        variant=line.variant,
        quantity=line.quantity,
        unit_price=line.unit_price,
    )


def _normalised(spec: LineSpec) -> tuple:
    return (
        spec.id,
        spec.sku.strip(),
        spec.name.strip(),
        spec.variant.strip(),
        int(spec.quantity),
        Decimal(spec.unit_price),
    )


@transaction.atomic
def seller_modify_lines(
    order: Order,
    *,
    lines: list[LineSpec],
    by: Actor,
    expected_version: int | None = None,
    drop_coupon_if_invalid: bool = False,
) -> LinesChange:
    """The seller edits the items of a pending order (variant, quantity, price; adds or removes lines) through
    ``modify_lines``, and learns the difference to settle with the buyer.

    On top of ``modify_lines``: an edit that changes nothing is refused (no empty event, no email), texts
    longer than their columns are refused with the field at fault, and a coupon that no longer applies is
    explained in the words of the edit.
    """
    order = lock_order(order, expected_version=expected_version)
    if order.status != OrderStatus.PENDING:
        raise OrderNotPending(order.status)
    for index, spec in enumerate(lines):
        for field, label, limit in (
            ("sku", _("The SKU"), SKU_MAX_LENGTH),
            ("name", _("The product name"), NAME_MAX_LENGTH),
            ("variant", _("The variant"), VARIANT_MAX_LENGTH),
        ):
            if len(getattr(spec, field).strip()) > limit:
                raise InvalidInput(
                    _("%(what)s has more than %(count)s characters.") % {"what": label, "count": limit},
                    field=f"lines.{index}.{field}",
                    code="too_long",
                    limit=limit,
                )
        if int(spec.quantity) > MAX_QUANTITY:
            raise InvalidInput(
                _("At most %(count)s of an item.") % {"count": MAX_QUANTITY},
                field=f"lines.{index}.quantity",
                code="invalid_quantity",
            )
    current = sorted(_normalised(_spec_of(line)) for line in order.lines.all())
    all_kept = bool(lines) and all(spec.id is not None for spec in lines)
    if all_kept and sorted(_normalised(spec) for spec in lines) == current:
        raise InvalidInput(_("Nothing changed."), field="lines", code="unchanged")
    try:
        order = modify_lines(order, lines=lines, by=by, drop_coupon_if_invalid=drop_coupon_if_invalid)
    except CouponRejected as exc:
        raise _explained(
            exc,
            _(
                "With these items the coupon %(code)s no longer applies. Save again with the coupon taken "
                "off (the total goes up), or change the items. Reason: %(rule)s"
            ),
        ) from exc
    event = OrderEvent.objects.filter(order=order, kind=EventKind.LINES_CHANGED).latest("id")
    return LinesChange(
        order=order,
        event=event,
        old_total=Decimal(event.data["old_total"]),
        new_total=order.total,
        difference=Decimal(event.data["difference"]),
        dropped_coupon=event.data.get("dropped_coupon"),
    )
