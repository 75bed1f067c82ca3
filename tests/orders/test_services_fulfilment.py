"""Paying, processing, shipping in parcels, delivering and returning to sender."""

import pytest

from orders.errors import IllegalTransition, InvalidInput, StaleVersion
from orders.models import EventKind, Notification, OrderEvent
from orders.services import (
    Actor,
    ParcelSpec,
    deliver_order,
    deliver_shipment,
    mark_paid,
    process_order,
    return_to_sender,
    ship_order,
)
from orders.states import OrderStatus, PaymentStatus
from shipping.models import Shipment, ShipmentStatus, TrackingEvent
from tests.factories import SELLER, order_in, tracking_number


def counts(order):
    order.refresh_from_db()
    return (
        order.status,
        order.version,
        OrderEvent.objects.filter(order=order).count(),
        Notification.objects.filter(order=order).count(),
        Shipment.objects.filter(order=order).count(),
    )


@pytest.fixture
def processed(shop):
    return order_in(OrderStatus.PROCESSED, shop=shop)


def lines_of(order):
    tee, cap = order.lines.order_by("id")
    return tee, cap


def ship_in_two(order):
    """The T-shirts in one parcel, the cap in another."""
    tee, cap = lines_of(order)
    order = ship_order(
        order,
        parcels=[
            ParcelSpec(tracking_number=tracking_number(), lines={tee.pk: 2}),
            ParcelSpec(tracking_number=tracking_number(), lines={cap.pk: 1}),
        ],
        by=SELLER,
    )
    return order, list(order.shipments.order_by("id"))


# --- Partial shipping -------------------------------------------------------------------------------------


def test_shipping_one_line_keeps_the_order_processed_then_the_rest_ships_it(processed):
    tee, cap = lines_of(processed)
    order = ship_order(
        processed, parcels=[ParcelSpec(tracking_number=tracking_number(), lines={tee.pk: 2})], by=SELLER
    )
    assert order.status == OrderStatus.PROCESSED
    assert order.shipped_at is None
    assert order.unshipped_quantities() == {cap.pk: 1}
    event = order.events.order_by("id").last()
    assert event.kind == EventKind.SHIPMENT_CREATED
    assert event.data["partial"] is True
    assert Notification.objects.filter(order=order, template="shipment_shipped").count() == 1

    order = ship_order(order, parcels=[ParcelSpec(tracking_number=tracking_number())], by=SELLER)
    assert order.status == OrderStatus.SHIPPED
    assert order.shipped_at is not None
    assert order.unshipped_quantities() == {}
    assert order.events.order_by("id").last().kind == EventKind.SHIPPED
    assert Notification.objects.filter(order=order, template="shipment_shipped").count() == 2


def test_two_parcels_at_once_send_one_email_per_parcel(processed):
    order, shipments = ship_in_two(processed)
    assert order.status == OrderStatus.SHIPPED
    assert len(shipments) == 2
    notifications = Notification.objects.filter(order=order, template="shipment_shipped")
    assert sorted(n.context["tracking_number"] for n in notifications) == sorted(
        s.tracking_number for s in shipments
    )
    assert all(n.context["carrier"] == "UPS" for n in notifications)
    assert len({n.dedupe_key for n in notifications}) == 2
    # One event for the move, naming both parcels.
    event = order.events.get(kind=EventKind.SHIPPED)
    assert {p["shipment_id"] for p in event.data["parcels"]} == {s.pk for s in shipments}
    # Each parcel starts its own tracking timeline.
    assert TrackingEvent.objects.filter(shipment__order=order, status=ShipmentStatus.IN_TRANSIT).count() == 2


def test_a_line_split_across_parcels(processed):
    tee, cap = lines_of(processed)
    order = ship_order(
        processed,
        parcels=[
            ParcelSpec(tracking_number=tracking_number(), lines={tee.pk: 1}),
            ParcelSpec(tracking_number=tracking_number(), lines={tee.pk: 1, cap.pk: 1}),
        ],
        by=SELLER,
    )
    assert order.status == OrderStatus.SHIPPED
    assert order.shipped_quantities() == {tee.pk: 2, cap.pk: 1}


@pytest.mark.parametrize(
    ("make_lines", "code"),
    [
        (lambda tee, cap: {tee.pk: 3}, "too_many"),
        (lambda tee, cap: {tee.pk + cap.pk + 1000: 1}, "unknown_line"),
        (lambda tee, cap: {tee.pk: 0}, "invalid"),
    ],
    ids=["too-many-units", "unknown-line", "zero-units"],
)
def test_a_parcel_with_wrong_items_is_refused(processed, make_lines, code):
    tee, cap = lines_of(processed)
    before = counts(processed)
    with pytest.raises(InvalidInput) as excinfo:
        ship_order(
            processed,
            parcels=[ParcelSpec(tracking_number=tracking_number(), lines=make_lines(tee, cap))],
            by=SELLER,
        )
    assert excinfo.value.code == code
    assert excinfo.value.field == "lines"
    assert counts(processed) == before


def test_an_item_already_shipped_cannot_ship_again(processed):
    tee, _cap = lines_of(processed)
    ship_order(
        processed, parcels=[ParcelSpec(tracking_number=tracking_number(), lines={tee.pk: 2})], by=SELLER
    )
    before = counts(processed)
    with pytest.raises(InvalidInput) as excinfo:
        ship_order(
            processed, parcels=[ParcelSpec(tracking_number=tracking_number(), lines={tee.pk: 1})], by=SELLER
        )
    assert excinfo.value.code == "already_shipped"
    assert counts(processed) == before


def test_no_parcel_is_refused(processed):
    with pytest.raises(InvalidInput) as excinfo:
        ship_order(processed, parcels=[], by=SELLER)
    assert excinfo.value.field == "parcels"


def test_shipping_a_pending_order_is_illegal(shop):
    order = order_in(OrderStatus.PENDING, shop=shop)
    with pytest.raises(IllegalTransition) as excinfo:
        ship_order(order, parcels=[ParcelSpec(tracking_number=tracking_number())], by=SELLER)
    assert excinfo.value.details["allowed_statuses"] == [OrderStatus.PROCESSED, OrderStatus.CANCELLED]


# --- Carriers and tracking numbers ------------------------------------------------------------------------


def test_a_ups_number_finds_its_carrier(processed):
    order = ship_order(processed, parcels=[ParcelSpec(tracking_number="1z 999 aa1 0123456784")], by=SELLER)
    shipment = order.shipments.get()
    assert shipment.carrier.code == "ups"
    assert shipment.tracking_number == "1Z999AA10123456784"
    assert shipment.tracking_url == "https://www.ups.com/track?tracknum=1Z999AA10123456784"


def test_a_number_several_carriers_use_asks_which_one(processed):
    number = "9261292700768711948021"  # IMpb with AI 92: a USPS number and a FedEx SmartPost one
    before = counts(processed)
    with pytest.raises(InvalidInput) as excinfo:
        ship_order(processed, parcels=[ParcelSpec(tracking_number=number)], by=SELLER)
    assert excinfo.value.code == "carrier_ambiguous"
    assert excinfo.value.field == "carrier"
    assert sorted(excinfo.value.details["candidates"]) == ["fedex", "usps"]
    assert counts(processed) == before

    order = ship_order(
        processed, parcels=[ParcelSpec(tracking_number=number, carrier_code="usps")], by=SELLER
    )
    assert order.shipments.get().carrier.code == "usps"


def test_a_number_no_carrier_uses_asks_for_the_carrier(processed):
    with pytest.raises(InvalidInput) as excinfo:
        ship_order(processed, parcels=[ParcelSpec(tracking_number="HELLO")], by=SELLER)
    assert excinfo.value.code == "carrier_not_detected"


def test_an_unknown_carrier_is_refused(processed):
    with pytest.raises(InvalidInput) as excinfo:
        ship_order(
            processed, parcels=[ParcelSpec(tracking_number="X1", carrier_code="pigeon-post")], by=SELLER
        )
    assert excinfo.value.code == "unknown_carrier"


def test_a_parcel_without_tracking_must_say_so(processed):
    before = counts(processed)
    with pytest.raises(InvalidInput) as excinfo:
        ship_order(processed, parcels=[ParcelSpec(carrier_code="other")], by=SELLER)
    assert excinfo.value.field == "parcels.0.tracking_number"
    assert counts(processed) == before

    order = ship_order(processed, parcels=[ParcelSpec(carrier_code="other", no_tracking=True)], by=SELLER)
    assert order.status == OrderStatus.SHIPPED
    shipment = order.shipments.get()
    assert shipment.tracking_number == ""
    assert shipment.tracking_url == ""


def test_no_tracking_still_needs_a_carrier(processed):
    with pytest.raises(InvalidInput) as excinfo:
        ship_order(processed, parcels=[ParcelSpec(no_tracking=True)], by=SELLER)
    assert excinfo.value.code == "carrier_required"


def test_a_tracking_number_already_used_is_refused(shop, processed):
    number = tracking_number()
    ship_order(processed, parcels=[ParcelSpec(tracking_number=number)], by=SELLER)
    other = order_in(OrderStatus.PROCESSED, shop=shop)
    before = counts(other)
    with pytest.raises(InvalidInput) as excinfo:
        ship_order(other, parcels=[ParcelSpec(tracking_number=number)], by=SELLER)
    assert excinfo.value.code == "duplicate_tracking_number"
    assert counts(other) == before


def test_the_same_number_twice_in_one_shipment_is_refused(processed):
    tee, cap = lines_of(processed)
    number = tracking_number()
    before = counts(processed)
    with pytest.raises(InvalidInput) as excinfo:
        ship_order(
            processed,
            parcels=[
                ParcelSpec(tracking_number=number, lines={tee.pk: 2}),
                ParcelSpec(tracking_number=number, lines={cap.pk: 1}),
            ],
            by=SELLER,
        )
    assert excinfo.value.code == "duplicate_tracking_number"
    assert excinfo.value.field == "parcels.1.tracking_number"
    assert counts(processed) == before


def test_another_shop_may_use_the_same_number(shop, other_shop, processed):
    number = tracking_number()
    ship_order(processed, parcels=[ParcelSpec(tracking_number=number)], by=SELLER)
    elsewhere = order_in(OrderStatus.PROCESSED, shop=other_shop)
    assert ship_order(elsewhere, parcels=[ParcelSpec(tracking_number=number)], by=SELLER).status == "shipped"


# --- Delivery ---------------------------------------------------------------------------------------------


def test_the_last_parcel_delivered_delivers_the_order(processed):
    order, (first, second) = ship_in_two(processed)

    order = deliver_shipment(first, by=Actor.carrier())
    assert order.status == OrderStatus.SHIPPED
    assert order.delivered_at is None
    first.refresh_from_db()
    assert first.status == ShipmentStatus.DELIVERED
    assert order.events.order_by("id").last().kind == EventKind.SHIPMENT_DELIVERED
    assert Notification.objects.filter(order=order, template="shipment_delivered").count() == 1
    assert not Notification.objects.filter(order=order, template="order_delivered").exists()

    order = deliver_shipment(second, by=Actor.carrier())
    assert order.status == OrderStatus.DELIVERED
    assert order.delivered_at is not None
    assert order.events.order_by("id").last().kind == EventKind.DELIVERED
    assert Notification.objects.filter(order=order, template="order_delivered").count() == 1
    assert TrackingEvent.objects.filter(
        shipment=second, status=ShipmentStatus.DELIVERED, source="carrier"
    ).exists()


def test_a_parcel_delivered_twice_is_refused(processed):
    order, (first, _second) = ship_in_two(processed)
    deliver_shipment(first, by=Actor.carrier())
    before = counts(order)
    with pytest.raises(InvalidInput) as excinfo:
        deliver_shipment(first, by=Actor.carrier())
    assert excinfo.value.code == "already_delivered"
    assert counts(order) == before


def test_a_parcel_of_a_partly_shipped_order_can_arrive_first(processed):
    tee, _cap = lines_of(processed)
    order = ship_order(
        processed, parcels=[ParcelSpec(tracking_number=tracking_number(), lines={tee.pk: 2})], by=SELLER
    )
    order = deliver_shipment(order.shipments.get(), by=Actor.carrier())
    assert order.status == OrderStatus.PROCESSED
    order = ship_order(order, parcels=[ParcelSpec(tracking_number=tracking_number())], by=SELLER)
    assert order.status == OrderStatus.SHIPPED
    order = deliver_shipment(order.shipments.order_by("id").last(), by=Actor.carrier())
    assert order.status == OrderStatus.DELIVERED


def test_delivering_by_hand_marks_every_parcel_delivered(processed):
    order, (first, second) = ship_in_two(processed)
    deliver_shipment(first, by=Actor.carrier())
    order = deliver_order(order, by=SELLER)
    assert order.status == OrderStatus.DELIVERED
    assert set(order.shipments.values_list("status", flat=True)) == {ShipmentStatus.DELIVERED}
    second.refresh_from_db()
    assert second.delivered_at == order.delivered_at
    assert Notification.objects.filter(order=order, template="order_delivered").count() == 1
    assert TrackingEvent.objects.filter(
        shipment=second, status=ShipmentStatus.DELIVERED, source="seller"
    ).exists()


def test_returned_to_sender(shop):
    order = order_in(OrderStatus.SHIPPED, shop=shop)
    order = return_to_sender(order, reason="Address not found", by=Actor.carrier())
    assert order.status == OrderStatus.RETURNED
    assert order.returned_at is not None
    assert set(order.shipments.values_list("status", flat=True)) == {ShipmentStatus.RETURNED_TO_SENDER}
    event = order.events.order_by("id").last()
    assert (event.kind, event.message, event.actor_kind) == (
        EventKind.RETURNED_TO_SENDER,
        "Address not found",
        "carrier",
    )
    notification = Notification.objects.get(order=order, template="order_returned")
    assert notification.context == {"reason": "Address not found"}
    assert notification.event == event


# --- Versions and payment ---------------------------------------------------------------------------------


def test_a_change_against_an_old_version_is_refused(processed):
    opened_version = processed.version
    order = ship_order(
        processed,
        parcels=[ParcelSpec(tracking_number=tracking_number(), lines={lines_of(processed)[0].pk: 1})],
        by=SELLER,
        expected_version=opened_version,
    )
    assert order.version == opened_version + 1
    before = counts(order)
    with pytest.raises(StaleVersion) as excinfo:
        ship_order(
            order,
            parcels=[ParcelSpec(tracking_number=tracking_number())],
            by=SELLER,
            expected_version=opened_version,
        )
    assert excinfo.value.details == {
        "expected_version": opened_version,
        "current_version": opened_version + 1,
    }
    assert excinfo.value.http_status == 409
    assert counts(order) == before


def test_the_current_version_is_accepted(shop):
    order = order_in(OrderStatus.SHIPPED, shop=shop)
    with pytest.raises(StaleVersion):
        deliver_order(order, by=SELLER, expected_version=order.version - 1)
    assert deliver_order(order, by=SELLER, expected_version=order.version).status == OrderStatus.DELIVERED


def test_marking_an_order_paid_lets_it_be_processed(shop):
    order = order_in(OrderStatus.PENDING, shop=shop, paid=False)
    version = order.version
    order = mark_paid(order, by=SELLER)
    assert order.payment_status == PaymentStatus.PAID
    assert order.version == version + 1
    assert order.events.order_by("id").last().kind == EventKind.PAYMENT
    assert process_order(order, by=SELLER).status == OrderStatus.PROCESSED


def test_a_paid_order_cannot_be_paid_again(shop):
    order = order_in(OrderStatus.PENDING, shop=shop)
    with pytest.raises(InvalidInput) as excinfo:
        mark_paid(order, by=SELLER)
    assert excinfo.value.code == "already_paid"


def test_a_cancelled_order_cannot_be_paid(shop):
    order = order_in(OrderStatus.CANCELLED, shop=shop, paid=False)
    before = counts(order)
    with pytest.raises(InvalidInput) as excinfo:
        mark_paid(order, by=SELLER)
    assert excinfo.value.code == "order_closed"
    assert counts(order) == before
