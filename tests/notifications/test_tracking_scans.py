"""Carrier scans move parcels along, tell the buyer when it matters, and replays change nothing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import EventKind
from orders.services import Actor, ParcelSpec, ship_order
from orders.services.tracking import record_scan
from orders.states import OrderStatus
from shipping.models import ShipmentStatus
from tests.factories import order_in

pytestmark = pytest.mark.django_db


def soon():
    """A scan time after the parcel was handed to the carrier."""
    return timezone.now() + timedelta(minutes=1)


def test_a_replayed_scan_is_recorded_once(shop):
    NOW = soon()
    order = order_in("shipped", shop=shop)
    shipment = order.shipments.get()
    first = record_scan(
        shipment, status="in_transit", occurred_at=NOW, location="Leeds hub", description="Sorted"
    )
    again = record_scan(
        shipment, status="in_transit", occurred_at=NOW, location="Leeds hub", description="Sorted"
    )
    assert first is not None and again is None
    assert shipment.events.filter(location="Leeds hub").count() == 1


def test_out_for_delivery_tells_the_buyer_once(shop):
    NOW = soon()
    order = order_in("shipped", shop=shop)
    shipment = order.shipments.get()
    record_scan(shipment, status="out_for_delivery", occurred_at=NOW, location="Portsmouth")
    record_scan(
        shipment, status="out_for_delivery", occurred_at=NOW + timedelta(minutes=5), location="Portsmouth"
    )
    assert order.notifications.filter(template="out_for_delivery").count() == 1
    assert order.events.filter(kind=EventKind.OUT_FOR_DELIVERY).count() == 1
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.OUT_FOR_DELIVERY


def test_a_delivered_scan_delivers_the_parcel_and_the_order(shop):
    NOW = soon()
    order = order_in("shipped", shop=shop)
    shipment = order.shipments.get()
    record_scan(shipment, status="delivered", occurred_at=NOW, description="Left with neighbour")
    order.refresh_from_db()
    shipment.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED
    assert order.delivered_at == NOW
    assert shipment.status == ShipmentStatus.DELIVERED
    assert shipment.events.filter(status="delivered").count() == 1  # the scan itself, not a second row
    assert order.notifications.filter(template="order_delivered").count() == 1


def test_a_late_older_scan_never_undoes_a_newer_one(shop):
    NOW = soon()
    order = order_in("shipped", shop=shop)
    shipment = order.shipments.get()
    record_scan(shipment, status="delivered", occurred_at=NOW)
    record_scan(shipment, status="in_transit", occurred_at=NOW - timedelta(hours=5), location="Depot")
    shipment.refresh_from_db()
    order.refresh_from_db()
    assert shipment.status == ShipmentStatus.DELIVERED
    assert order.status == OrderStatus.DELIVERED
    assert shipment.events.filter(location="Depot").exists()  # kept for the history


def test_the_last_parcel_returned_to_the_sender_returns_the_order(shop):
    NOW = soon()
    order = order_in("processed", shop=shop)
    first, second = order.lines.all()
    order = ship_order(
        order,
        parcels=[
            ParcelSpec(tracking_number="1Z0000000000000117", lines={first.pk: first.quantity}),
            ParcelSpec(tracking_number="1Z0000000000000126", lines={second.pk: second.quantity}),
        ],
        by=Actor.system(),
    )
    one, two = order.shipments.all()
    record_scan(one, status="returned", occurred_at=NOW)
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED
    record_scan(two, status="returned", occurred_at=NOW)
    order.refresh_from_db()
    assert order.status == OrderStatus.RETURNED
