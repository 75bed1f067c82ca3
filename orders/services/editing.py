"""Changes that are not moves: the shipping address, the lines while pending, notes."""

from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from ..errors import InvalidInput, OrderNotPending
from ..models import CouponRedemption, EventKind, Order, OrderLine
from ..notifications import queue_customer_email
from ..states import OrderStatus
from . import coupons
from .changes import Actor, lock_order, record_event, save_change
from .placing import ADDRESS_FIELDS, LineSpec, clean_address, clean_lines, quantity_of, subtotal_of


@transaction.atomic
def change_shipping_address(
    order: Order,
    *,
    address: dict,
    by: Actor,
    expected_version: int | None = None,
    notification: str = "address_changed",
    event_data: dict | None = None,
) -> Order:
    """Replace the shipping address. Refused once anything has shipped.

    ``notification`` names the buyer's email (a seller approving the buyer's own request sends
    ``address_change_accepted`` instead, so the buyer gets one message, not two)."""
    order = lock_order(order, expected_version=expected_version)
    if order.status not in (OrderStatus.PENDING, OrderStatus.PROCESSED) or order.shipments.exists():
        raise InvalidInput(
            _("The order has already shipped; its address can no longer change."),
            field="shipping_address",
            code="already_shipped",
        )
    new = clean_address(address)
    before = {key: getattr(order, f"ship_{key}") for key in ADDRESS_FIELDS}
    if new == before:
        raise InvalidInput(
            _("The new address is the same as the current one."), field="shipping_address", code="unchanged"
        )
    for key, value in new.items():
        setattr(order, f"ship_{key}", value)
    save_change(order, [f"ship_{key}" for key in ADDRESS_FIELDS])
    event = record_event(
        order,
        EventKind.ADDRESS_CHANGED,
        by=by,
        message=_("Shipping address changed"),
        data={"before": before, "after": new, **(event_data or {})},
    )
    queue_customer_email(order, event, notification)
    return order


@transaction.atomic
def modify_lines(
    order: Order,
    *,
    lines: list[LineSpec],
    by: Actor,
    expected_version: int | None = None,
    drop_coupon_if_invalid: bool = False,
    notification: str = "lines_changed",
    event_data: dict | None = None,
) -> Order:
    """Replace the order's lines while it is pending: lines with an ``id`` are updated, lines without one are
    added, existing lines left out are removed. Totals are recomputed and the coupon checked again; a coupon
    that no longer applies is refused with its reason unless ``drop_coupon_if_invalid`` says to drop it.

    ``notification`` names the buyer's email (approving the buyer's own item change sends
    ``modification_approved`` instead, so the buyer gets one message, not two).
    """
    order = lock_order(order, expected_version=expected_version)
    if order.status != OrderStatus.PENDING:
        raise OrderNotPending(order.status)
    lines = clean_lines(lines)
    existing = {line.pk: line for line in order.lines.all()}
    unknown = [line.id for line in lines if line.id is not None and line.id not in existing]
    if unknown:
        raise InvalidInput(
            _("That item is not in this order."), field="lines", code="unknown_line", lines=unknown
        )
    listed = [line.id for line in lines if line.id is not None]
    if repeated := sorted({line_id for line_id in listed if listed.count(line_id) > 1}):
        raise InvalidInput(
            _("Each item can be listed only once."), field="lines", code="duplicate_line", lines=repeated
        )
    before = [_line_snapshot(line) for line in existing.values()]
    old_total = order.total

    subtotal = subtotal_of(lines)
    discount = Decimal("0.00")
    dropped_coupon = None
    if order.coupon_id:
        coupon = coupons.find_coupon(order.shop, order.coupon.code, lock=True)
        try:
            discount = coupons.quote_coupon(
                coupon,
                customer=order.customer,
                subtotal=subtotal,
                quantity=quantity_of(lines),
                shipping_price=order.shipping_price,
                exclude_order=order,
                now=order.placed_at,  # the validity dates the buyer ordered under, not today's
            ).discount
        except coupons.CouponRejected:
            if not drop_coupon_if_invalid:
                raise
            dropped_coupon = coupon.code
            coupons.release(order)
            CouponRedemption.objects.filter(order=order).delete()
            order.coupon = None
    kept_ids = {line.id for line in lines if line.id is not None}
    order.lines.exclude(pk__in=kept_ids).delete()
    for spec in lines:
        values = {
            "sku": spec.sku.strip(),
            "name": spec.name.strip(),
            "variant": spec.variant.strip(),
            "quantity": int(spec.quantity),
            "unit_price": Decimal(spec.unit_price),
        }
        if spec.id is None:
            OrderLine.objects.create(order=order, **values)
        else:
            OrderLine.objects.filter(pk=spec.id).update(**values)
    if order.coupon_id:
        CouponRedemption.objects.filter(order=order).update(amount=discount)
    order.subtotal, order.discount = subtotal, discount
    order.total = subtotal - discount + order.shipping_price + order.tax
    save_change(order, ["subtotal", "discount", "total", "coupon"])
    after = [_line_snapshot(line) for line in order.lines.all()]
    difference = order.total - old_total
    event = record_event(
        order,
        EventKind.LINES_CHANGED,
        by=by,
        message=_("Items changed"),
        data={
            "before": before,
            "after": after,
            "old_total": str(old_total),
            "new_total": str(order.total),
            "difference": str(difference),
            "dropped_coupon": dropped_coupon,
            **(event_data or {}),
        },
    )
    queue_customer_email(
        order,
        event,
        notification,
        context={
            "difference": str(difference),
            "old_total": str(old_total),
            "dropped_coupon": dropped_coupon or "",
        },
    )
    return order


def _line_snapshot(line: OrderLine) -> dict:
    return {
        "id": line.pk,
        "sku": line.sku,
        "name": line.name,
        "variant": line.variant,
        "quantity": line.quantity,
        "unit_price": str(line.unit_price),
    }


@transaction.atomic
def add_note(order: Order, *, text: str, by: Actor) -> Order:
    """An internal note on the timeline; the buyer does not see it and is not told."""
    text = (text or "").strip()
    if not text:
        raise InvalidInput(_("The note is empty."), field="text", code="empty")
    order = lock_order(order)
    record_event(
        order, EventKind.NOTE, by=by, message=text[:500], data={"text": text} if len(text) > 500 else {}
    )
    return order


@transaction.atomic
def message_buyer(order: Order, *, text: str, by: Actor) -> Order:
    """A message from the seller to the buyer: on the timeline, and emailed to the buyer. It answers the
    buyer, so the "waiting for a reply" flag is cleared."""
    text = (text or "").strip()
    if not text:
        raise InvalidInput(_("The message is empty."), field="text", code="empty")
    if len(text) > 5000:
        raise InvalidInput(_("Use at most 5,000 characters for the message."), field="text", code="too_long")
    order = lock_order(order)
    event = record_event(order, EventKind.MESSAGE_TO_BUYER, by=by, message=text[:500], data={"text": text})
    if order.awaiting_reply_since is not None:
        order.awaiting_reply_since = None
        save_change(order, ["awaiting_reply_since"])
    queue_customer_email(order, event, "seller_message", context={"message": text})
    return order
