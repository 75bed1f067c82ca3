"""Moving an order along: pay, process, ship (whole or in parcels), deliver, return to sender, cancel."""

from dataclasses import dataclass
from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shipping.carriers import candidate_carriers, normalise_tracking_number
from shipping.models import Carrier, Shipment, ShipmentLine, ShipmentStatus, TrackingEvent, TrackingSource

from ..errors import InvalidInput, TransitionBlocked
from ..models import EventKind, Order
from ..notifications import queue_customer_email
from ..states import OrderStatus, PaymentMethod, PaymentStatus
from . import coupons
from .changes import Actor, lock_order, move, record_event, save_change
from .checklist import checklist_refusal


@transaction.atomic
def mark_paid(order: Order, *, by: Actor, expected_version: int | None = None) -> Order:
    """Record that an unpaid order was paid."""
    order = lock_order(order, expected_version=expected_version)
    if order.payment_status != PaymentStatus.UNPAID:
        raise InvalidInput(_("This order is already paid."), field="payment_status", code="already_paid")
    if order.status in (OrderStatus.CANCELLED, OrderStatus.RETURNED):
        raise InvalidInput(_("A closed order cannot be paid."), field="payment_status", code="order_closed")
    order.payment_status = PaymentStatus.PAID
    save_change(order, ["payment_status"])
    record_event(
        order, EventKind.PAYMENT, by=by, message=_("Payment received"), data={"payment_status": "paid"}
    )
    return order


@transaction.atomic
def process_order(order: Order, *, by: Actor, expected_version: int | None = None) -> Order:
    """pending → processed: the seller accepts the order. It must be paid or cash on delivery."""
    order = lock_order(order, expected_version=expected_version)
    save_change(order, move(order, OrderStatus.PROCESSED))
    event = record_event(order, EventKind.PROCESSED, by=by, message=_("Order accepted and being prepared"))
    queue_customer_email(order, event, "order_processed")
    return order


@dataclass(frozen=True)
class ParcelSpec:
    """One parcel to ship. ``lines`` maps order line ids to quantities; ``None`` means everything left."""

    tracking_number: str = ""
    carrier_code: str = ""
    lines: dict[int, int] | None = None
    no_tracking: bool = False
    estimated_delivery: date | None = None


def resolve_carrier(carrier_code: str, tracking_number: str) -> Carrier:
    """The named carrier, or the only one whose format the number fits."""
    if carrier_code:
        carrier = Carrier.objects.filter(code=carrier_code, is_active=True).first()
        if carrier is None:
            raise InvalidInput(
                _("Unknown carrier %(code)s.") % {"code": carrier_code},
                field="carrier",
                code="unknown_carrier",
            )
        return carrier
    if not tracking_number:
        raise InvalidInput(_("Choose a carrier."), field="carrier", code="carrier_required")
    candidates = candidate_carriers(tracking_number, Carrier.objects.filter(is_active=True))
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise InvalidInput(
            _("No carrier uses tracking numbers like %(number)s; choose the carrier.")
            % {"number": tracking_number},
            field="carrier",
            code="carrier_not_detected",
        )
    raise InvalidInput(
        _("%(number)s could belong to %(carriers)s; choose the carrier.")
        % {"number": tracking_number, "carriers": ", ".join(c.name for c in candidates)},
        field="carrier",
        code="carrier_ambiguous",
        candidates=[c.code for c in candidates],
    )


def _parcel_quantities(order: Order, parcel: ParcelSpec, remaining: dict[int, int]) -> dict[int, int]:
    if parcel.lines is None:
        return dict(remaining)
    quantities = {}
    for line_id, quantity in parcel.lines.items():
        line_id, quantity = int(line_id), int(quantity)
        if quantity <= 0:
            raise InvalidInput(_("Quantities must be at least 1."), field="lines")
        if line_id not in remaining:
            if order.lines.filter(pk=line_id).exists():
                raise InvalidInput(
                    _("That item is already fully shipped."),
                    field="lines",
                    code="already_shipped",
                    line=line_id,
                )
            raise InvalidInput(
                _("That item is not in this order."), field="lines", code="unknown_line", line=line_id
            )
        if quantity > remaining[line_id]:
            raise InvalidInput(
                _("Only %(count)s of that item are left to ship.") % {"count": remaining[line_id]},
                field="lines",
                code="too_many",
                line=line_id,
            )
        quantities[line_id] = quantity
    return quantities


@transaction.atomic
def ship_order(
    order: Order, *, parcels: list[ParcelSpec], by: Actor, expected_version: int | None = None, now=None
) -> Order:
    """Put lines into parcels. When every line is in a parcel the order becomes shipped.

    The order must be processed. Each parcel needs a carrier (named, or detected from the tracking number)
    and a tracking number, unless "no tracking" is said explicitly. The buyer gets one email per parcel.
    """
    order = lock_order(order, expected_version=expected_version)
    now = now or timezone.now()
    if order.status != OrderStatus.PROCESSED:
        move(order, OrderStatus.SHIPPED)  # raises IllegalTransition with the allowed moves
    if reason := checklist_refusal(order):
        raise TransitionBlocked(current=order.status, target=OrderStatus.SHIPPED, reason=reason)
    if not parcels:
        raise InvalidInput(_("Add at least one parcel."), field="parcels")
    remaining = order.unshipped_quantities()
    shipments = []
    for index, parcel in enumerate(parcels):
        tracking_number = normalise_tracking_number(parcel.tracking_number)
        if not tracking_number and not parcel.no_tracking:
            raise InvalidInput(
                _("Enter a tracking number, or say the parcel has none."),
                field=f"parcels.{index}.tracking_number",
            )
        carrier = resolve_carrier(parcel.carrier_code, tracking_number)
        if (
            tracking_number
            and Shipment.objects.filter(
                shop=order.shop, carrier=carrier, tracking_number=tracking_number
            ).exists()
        ):
            raise InvalidInput(
                _("Tracking number %(number)s is already used for another parcel.")
                % {"number": tracking_number},
                field=f"parcels.{index}.tracking_number",
                code="duplicate_tracking_number",
            )
        quantities = _parcel_quantities(order, parcel, remaining)
        if not quantities:
            raise InvalidInput(_("This parcel holds no items."), field=f"parcels.{index}.lines")
        try:
            with transaction.atomic():
                shipment = Shipment.objects.create(
                    shop=order.shop,
                    order=order,
                    carrier=carrier,
                    tracking_number=tracking_number,
                    shipped_at=now,
                    estimated_delivery=parcel.estimated_delivery,
                )
        except IntegrityError as exc:
            raise InvalidInput(
                _("Tracking number %(number)s is already used for another parcel.")
                % {"number": tracking_number},
                field=f"parcels.{index}.tracking_number",
                code="duplicate_tracking_number",
            ) from exc
        ShipmentLine.objects.bulk_create(
            ShipmentLine(shipment=shipment, order_line_id=line_id, quantity=quantity)
            for line_id, quantity in quantities.items()
        )
        TrackingEvent.objects.create(
            shipment=shipment,
            occurred_at=now,
            status=ShipmentStatus.IN_TRANSIT,
            description=_("Handed to %(carrier)s") % {"carrier": carrier.name},
            source=TrackingSource.SELLER,
        )
        for line_id, quantity in quantities.items():
            remaining[line_id] -= quantity
            if not remaining[line_id]:
                del remaining[line_id]
        shipments.append(shipment)

    parcels_data = [
        {"shipment_id": s.pk, "carrier": s.carrier.code, "tracking_number": s.tracking_number}
        for s in shipments
    ]
    if remaining:
        save_change(order, [])
        event = record_event(
            order,
            EventKind.SHIPMENT_CREATED,
            by=by,
            message=_("%(count)s parcel(s) shipped; items still to ship") % {"count": len(shipments)},
            data={"parcels": parcels_data, "partial": True},
            at=now,
        )
    else:
        save_change(order, move(order, OrderStatus.SHIPPED, now=now))
        event = record_event(
            order,
            EventKind.SHIPPED,
            by=by,
            message=_("Order shipped"),
            data={"parcels": parcels_data},
            at=now,
        )
    for shipment in shipments:
        queue_customer_email(
            order,
            event,
            "shipment_shipped",
            part=f"s{shipment.pk}",
            context={
                "carrier": shipment.carrier.name,
                "tracking_number": shipment.tracking_number,
                "carrier_tracking_url": shipment.tracking_url,
                "estimated_delivery": shipment.estimated_delivery.isoformat()
                if shipment.estimated_delivery
                else "",
            },
        )
    return order


@transaction.atomic
def deliver_shipment(
    shipment: Shipment, *, by: Actor, delivered_at=None, description: str = "", add_scan: bool = True
) -> Order:
    """Mark one parcel delivered; the order becomes delivered with its last parcel.

    ``add_scan=False`` when the caller already recorded the carrier's delivered scan.
    """
    order = lock_order(shipment.order_id)
    shipment = Shipment.objects.select_for_update().select_related("carrier").get(pk=shipment.pk)
    if shipment.status == ShipmentStatus.DELIVERED:
        raise InvalidInput(_("This parcel is already delivered."), field="shipment", code="already_delivered")
    if order.status not in (OrderStatus.PROCESSED, OrderStatus.SHIPPED):
        move(order, OrderStatus.DELIVERED)  # raises IllegalTransition
    delivered_at = delivered_at or timezone.now()
    _mark_delivered(shipment, delivered_at, by=by, description=description, add_scan=add_scan)
    if (
        order.status == OrderStatus.SHIPPED
        and not order.shipments.exclude(status=ShipmentStatus.DELIVERED).exists()
    ):
        save_change(
            order, move(order, OrderStatus.DELIVERED, now=delivered_at) + _collect_cash_on_delivery(order)
        )
        event = record_event(order, EventKind.DELIVERED, by=by, message=_("Order delivered"), at=delivered_at)
        queue_customer_email(order, event, "order_delivered")
    else:
        save_change(order, [])
        event = record_event(
            order,
            EventKind.SHIPMENT_DELIVERED,
            by=by,
            message=_("Parcel %(number)s delivered") % {"number": shipment.tracking_number or shipment.pk},
            data={"shipment_id": shipment.pk},
            at=delivered_at,
        )
        queue_customer_email(
            order,
            event,
            "shipment_delivered",
            part=f"s{shipment.pk}",
            context={"carrier": shipment.carrier.name, "tracking_number": shipment.tracking_number},
        )
    return order


def _mark_delivered(
    shipment: Shipment, delivered_at, *, by: Actor, description: str = "", add_scan: bool = True
) -> None:
    shipment.status = ShipmentStatus.DELIVERED
    shipment.delivered_at = delivered_at
    shipment.save(update_fields=["status", "delivered_at"])
    if not add_scan:
        return
    TrackingEvent.objects.create(
        shipment=shipment,
        occurred_at=delivered_at,
        status=ShipmentStatus.DELIVERED,
        description=description or _("Delivered"),
        source=TrackingSource.CARRIER if by.kind == "carrier" else TrackingSource.SELLER,
    )


def _collect_cash_on_delivery(order: Order) -> list[str]:
    """A cash-on-delivery order is paid when its last parcel is handed over; returns the fields changed."""
    if (
        order.payment_method == PaymentMethod.CASH_ON_DELIVERY
        and order.payment_status == PaymentStatus.UNPAID
    ):
        order.payment_status = PaymentStatus.PAID
        return ["payment_status"]
    return []


@transaction.atomic
def deliver_order(
    order: Order, *, by: Actor, expected_version: int | None = None, delivered_at=None
) -> Order:
    """shipped → delivered by hand: every parcel not yet delivered is marked delivered too."""
    order = lock_order(order, expected_version=expected_version)
    delivered_at = delivered_at or timezone.now()
    if order.status != OrderStatus.SHIPPED:
        move(order, OrderStatus.DELIVERED)  # raises IllegalTransition
    for shipment in order.shipments.select_for_update().exclude(status=ShipmentStatus.DELIVERED):
        _mark_delivered(shipment, delivered_at, by=by)
    save_change(
        order, move(order, OrderStatus.DELIVERED, now=delivered_at) + _collect_cash_on_delivery(order)
    )
    event = record_event(order, EventKind.DELIVERED, by=by, message=_("Order delivered"), at=delivered_at)
    queue_customer_email(order, event, "order_delivered")
    return order


@transaction.atomic
def return_to_sender(
    order: Order, *, by: Actor, reason: str = "", expected_version: int | None = None
) -> Order:
    """shipped → returned: the carrier brought the parcels back to the seller."""
    order = lock_order(order, expected_version=expected_version)
    save_change(order, move(order, OrderStatus.RETURNED))
    now = timezone.now()
    for shipment in order.shipments.select_for_update().exclude(status=ShipmentStatus.DELIVERED):
        shipment.status = ShipmentStatus.RETURNED_TO_SENDER
        shipment.save(update_fields=["status"])
        TrackingEvent.objects.create(
            shipment=shipment,
            occurred_at=now,
            status=ShipmentStatus.RETURNED_TO_SENDER,
            description=reason or _("Returned to sender"),
            source=TrackingSource.CARRIER if by.kind == "carrier" else TrackingSource.SELLER,
        )
    event = record_event(
        order, EventKind.RETURNED_TO_SENDER, by=by, message=reason or _("Returned to sender")
    )
    queue_customer_email(order, event, "order_returned", context={"reason": reason})
    return order


@transaction.atomic
def cancel_order(order: Order, *, reason: str, by: Actor, expected_version: int | None = None) -> Order:
    """pending or processed → cancelled, with a reason. A paid order is refunded; its coupon use released."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Say why the order is cancelled."), field="reason", code="reason_required")
    order = lock_order(order, expected_version=expected_version)
    fields = move(order, OrderStatus.CANCELLED)
    order.cancel_reason = reason[:300]
    fields.append("cancel_reason")
    refunded = None
    if order.payment_status == PaymentStatus.PAID:
        refunded = order.total - order.refunded_total
        order.refunded_total = order.total
        order.payment_status = PaymentStatus.REFUNDED
        fields += ["refunded_total", "payment_status"]
    coupon_released = coupons.release(order)
    save_change(order, fields)
    event = record_event(
        order,
        EventKind.CANCELLED,
        by=by,
        message=reason,
        data={
            "refunded": str(refunded) if refunded is not None else None,
            "coupon_released": coupon_released,
        },
    )
    queue_customer_email(
        order, event, "order_cancelled", context={"reason": reason, "refunded": str(refunded or "")}
    )
    return order
