"""Carrier scans: record them, move the parcel along, and tell the buyer when it matters."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shipping.models import Shipment, ShipmentStatus, TrackingEvent, TrackingSource

from ..errors import InvalidInput
from ..models import EventKind
from ..notifications import queue_customer_email
from ..states import OrderStatus
from ..tracking import stamps as page_stamps
from .changes import Actor, lock_order, record_event, save_change
from .fulfilment import deliver_shipment, return_to_sender

# A parcel's status only moves forward: an older scan arriving late never undoes a newer one.
PROGRESS = {
    ShipmentStatus.IN_TRANSIT: 1,
    ShipmentStatus.EXCEPTION: 1,
    ShipmentStatus.OUT_FOR_DELIVERY: 2,
    ShipmentStatus.DELIVERED: 3,
    ShipmentStatus.RETURNED_TO_SENDER: 3,
}


@transaction.atomic
def record_scan(
    shipment: Shipment,
    *,
    status: str,
    occurred_at=None,
    location: str = "",
    description: str = "",
    by: Actor | None = None,
    source: str = TrackingSource.CARRIER,
) -> TrackingEvent | None:
    """Add a carrier scan to a parcel.

    The same scan sent twice, or a delivered scan for a delivered parcel, is not recorded again (returns
    None). A delivered scan delivers the parcel (and the order with its last parcel); out for delivery tells
    the buyer once; a parcel returned to the sender returns the order when it was its only parcel left.
    """
    if status not in ShipmentStatus.values:
        raise InvalidInput(_("Unknown tracking status %(status)s.") % {"status": status}, field="status")
    by = by or Actor.carrier()
    occurred_at = occurred_at or timezone.now()
    order = lock_order(shipment.order_id)
    shipment = Shipment.objects.select_for_update().select_related("carrier").get(pk=shipment.pk)
    location, description = location.strip()[:200], description.strip()[:500]
    if shipment.events.filter(
        occurred_at=occurred_at, status=status, location=location, description=description
    ).exists():
        return None
    if status == ShipmentStatus.DELIVERED and shipment.status == ShipmentStatus.DELIVERED:
        return None  # carriers repeat "delivered"; the parcel already is
    page_stamps.forget_after_commit(order.public_token)  # the buyer's page shows every scan
    scan = TrackingEvent.objects.create(
        shipment=shipment,
        occurred_at=occurred_at,
        status=status,
        location=location,
        description=description,
        source=source,
    )
    latest = (
        shipment.events.exclude(pk=scan.pk)
        .order_by("-occurred_at")
        .values_list("occurred_at", flat=True)
        .first()
    )
    if latest is not None and latest > occurred_at:
        return scan  # a late, older scan: kept for the history, changes nothing
    if PROGRESS[status] < PROGRESS[shipment.status]:
        return scan
    if status == ShipmentStatus.DELIVERED and shipment.status != ShipmentStatus.DELIVERED:
        deliver_shipment(shipment, by=by, delivered_at=occurred_at, description=description, add_scan=False)
    elif status == ShipmentStatus.RETURNED_TO_SENDER and order.status == OrderStatus.SHIPPED:
        shipment.status = status
        shipment.save(update_fields=["status"])
        if not order.shipments.exclude(status=ShipmentStatus.RETURNED_TO_SENDER).exists():
            return_to_sender(order, by=by, reason=description or _("Returned to sender by the carrier"))
    elif status == ShipmentStatus.OUT_FOR_DELIVERY and shipment.status != status:
        shipment.status = status
        shipment.save(update_fields=["status"])
        save_change(order, [])
        event = record_event(
            order,
            EventKind.OUT_FOR_DELIVERY,
            by=by,
            message=_("Parcel %(number)s is out for delivery") % {"number": shipment.tracking_number},
            data={"shipment_id": shipment.pk, "scan": "out_for_delivery"},
        )
        queue_customer_email(
            order,
            event,
            "out_for_delivery",
            part=f"s{shipment.pk}",
            context={"carrier": shipment.carrier.name, "carrier_tracking_url": shipment.tracking_url},
        )
    elif status != shipment.status and shipment.status != ShipmentStatus.DELIVERED:
        shipment.status = status
        shipment.save(update_fields=["status"])
    return scan
