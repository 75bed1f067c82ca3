"""Every (from, to) pair of the order state machine, through the services a seller or buyer would use."""

import itertools
from decimal import Decimal

import pytest

from orders import states
from orders.errors import IllegalTransition, TransitionBlocked
from orders.models import EventKind, Notification, Order, OrderEvent
from orders.services import (
    Actor,
    ParcelSpec,
    approve_return,
    cancel_order,
    deliver_order,
    process_order,
    receive_return,
    refund_return,
    request_return,
    return_to_sender,
    ship_order,
)
from orders.states import OrderStatus, PaymentMethod
from tests.factories import SELLER, order_in, tracking_number

S = OrderStatus

LEGAL_PAIRS = {
    (S.PENDING, S.PROCESSED),
    (S.PENDING, S.CANCELLED),
    (S.PROCESSED, S.CANCELLED),
    (S.PROCESSED, S.SHIPPED),
    (S.SHIPPED, S.DELIVERED),
    (S.SHIPPED, S.RETURNED),
    (S.DELIVERED, S.RETURNED),
}
ALL_PAIRS = list(itertools.product(list(S), repeat=2))

# The event and the buyer's email each legal move writes.
EXPECTED = {
    (S.PENDING, S.PROCESSED): (EventKind.PROCESSED, "order_processed"),
    (S.PENDING, S.CANCELLED): (EventKind.CANCELLED, "order_cancelled"),
    (S.PROCESSED, S.CANCELLED): (EventKind.CANCELLED, "order_cancelled"),
    (S.PROCESSED, S.SHIPPED): (EventKind.SHIPPED, "shipment_shipped"),
    (S.SHIPPED, S.DELIVERED): (EventKind.DELIVERED, "order_delivered"),
    (S.SHIPPED, S.RETURNED): (EventKind.RETURNED_TO_SENDER, "order_returned"),
    (S.DELIVERED, S.RETURNED): (EventKind.RETURNED, "order_returned"),
}


def _prepare_full_return(order):
    """Everything the buyer sends back, approved and received: only the refund is left."""
    lines = {line.pk: line.quantity for line in order.lines.all()}
    return_request = request_return(order, lines=lines, reason="Does not fit", by=Actor.buyer())
    approve_return(return_request, by=SELLER)
    receive_return(return_request, by=SELLER)
    return return_request


def mover(source: str, target: str):
    """The service call that asks for ``source → target``; returns a callable taking the order."""
    if target == S.PROCESSED:
        return lambda order: process_order(order, by=SELLER)
    if target == S.CANCELLED:
        return lambda order: cancel_order(order, reason="Buyer changed their mind", by=SELLER)
    if target == S.SHIPPED:
        return lambda order: ship_order(
            order, parcels=[ParcelSpec(tracking_number=tracking_number())], by=SELLER
        )
    if target == S.DELIVERED:
        return lambda order: deliver_order(order, by=SELLER)
    if target == S.RETURNED and source == S.DELIVERED:
        return None  # prepared separately: the refund of the last return is the move
    if target == S.RETURNED:
        return lambda order: return_to_sender(order, reason="Refused by the recipient", by=SELLER)
    # Nothing ever moves an order back to pending: there is no service for it, so ask the table directly.
    return lambda order: states.check_transition(order, target)


def snapshot(order: Order) -> dict:
    order.refresh_from_db()
    return {
        "status": order.status,
        "version": order.version,
        "events": OrderEvent.objects.filter(order=order).count(),
        "notifications": Notification.objects.filter(order=order).count(),
        "timestamps": {field: getattr(order, field) for field in states.TIMESTAMP_FIELDS.values()},
    }


@pytest.mark.parametrize(("source", "target"), ALL_PAIRS, ids=[f"{a}->{b}" for a, b in ALL_PAIRS])
def test_every_pair_of_states(shop, source, target):
    order = order_in(source, shop=shop)
    assert order.status == source

    if (source, target) in LEGAL_PAIRS:
        if (source, target) == (S.DELIVERED, S.RETURNED):
            return_request = _prepare_full_return(order)
            before = snapshot(order)
            refund_return(return_request, by=SELLER)
        else:
            before = snapshot(order)
            mover(source, target)(order)
        order.refresh_from_db()
        event_kind, template = EXPECTED[(source, target)]
        new_events = OrderEvent.objects.filter(order=order).order_by("id")[before["events"] :]
        new_templates = list(
            Notification.objects.filter(order=order).order_by("id").values_list("template", flat=True)
        )[before["notifications"] :]

        assert order.status == target
        assert before["timestamps"][states.TIMESTAMP_FIELDS[target]] is None
        assert getattr(order, states.TIMESTAMP_FIELDS[target]) is not None
        assert order.version == before["version"] + 1
        assert [e.kind for e in new_events].count(event_kind) == 1
        assert template in new_templates
        return

    before = snapshot(order)
    with pytest.raises(IllegalTransition) as excinfo:
        mover(source, target)(order)
    error = excinfo.value
    assert error.details == {
        "current_status": source,
        "requested_status": target,
        "allowed_statuses": states.allowed_moves(source),
    }
    assert error.http_status == 409
    assert str(S(source).label).lower() in error.message
    assert snapshot(order) == before


def test_the_table_has_the_seven_moves_of_the_design():
    pairs = {(s, t) for s, t in ALL_PAIRS if states.is_allowed(s, t)}
    assert pairs == LEGAL_PAIRS


@pytest.mark.parametrize(
    ("status", "moves"),
    [
        (S.PENDING, [S.PROCESSED, S.CANCELLED]),
        (S.PROCESSED, [S.CANCELLED, S.SHIPPED]),
        (S.SHIPPED, [S.DELIVERED, S.RETURNED]),
        (S.DELIVERED, [S.RETURNED]),
        (S.CANCELLED, []),
        (S.RETURNED, []),
    ],
)
def test_allowed_moves(status, moves):
    assert states.allowed_moves(status) == moves


def test_cancelled_and_returned_are_the_final_states():
    assert {S.CANCELLED, S.RETURNED} == states.FINAL_STATES


def test_each_state_after_pending_has_its_timestamp():
    assert states.TIMESTAMP_FIELDS == {
        S.PROCESSED: "processed_at",
        S.SHIPPED: "shipped_at",
        S.DELIVERED: "delivered_at",
        S.CANCELLED: "cancelled_at",
        S.RETURNED: "returned_at",
    }
    assert S.PENDING not in states.TIMESTAMP_FIELDS
    order_fields = {f.name for f in Order._meta.get_fields()}
    assert set(states.TIMESTAMP_FIELDS.values()) <= order_fields


def test_an_illegal_move_names_the_way_out(shop):
    order = order_in(S.CANCELLED, shop=shop)
    with pytest.raises(IllegalTransition) as excinfo:
        process_order(order, by=SELLER)
    assert excinfo.value.details["allowed_statuses"] == []
    assert "closed" in excinfo.value.message


def test_an_unpaid_card_order_cannot_be_processed(shop):
    order = order_in(S.PENDING, shop=shop, paid=False)
    before = snapshot(order)
    with pytest.raises(TransitionBlocked) as excinfo:
        process_order(order, by=SELLER)
    assert excinfo.value.details["current_status"] == S.PENDING
    assert excinfo.value.details["requested_status"] == S.PROCESSED
    assert "not paid" in excinfo.value.details["reason"]
    assert snapshot(order) == before


def test_an_unpaid_cash_on_delivery_order_can_be_processed(shop):
    order = order_in(S.PENDING, shop=shop, paid=False, payment_method=PaymentMethod.CASH_ON_DELIVERY)
    order = process_order(order, by=SELLER)
    assert order.status == S.PROCESSED
    assert order.payment_status == states.PaymentStatus.UNPAID


def test_a_processed_order_with_a_parcel_on_its_way_cannot_be_cancelled(shop):
    order = order_in(S.PROCESSED, shop=shop)
    first_line = order.lines.first()
    ship_order(
        order, parcels=[ParcelSpec(tracking_number=tracking_number(), lines={first_line.pk: 1})], by=SELLER
    )
    before = snapshot(order)
    with pytest.raises(TransitionBlocked) as excinfo:
        cancel_order(order, reason="Out of stock", by=SELLER)
    assert excinfo.value.details["requested_status"] == S.CANCELLED
    assert snapshot(order) == before


def test_a_delivered_order_returns_only_when_everything_came_back(shop):
    order = order_in(S.DELIVERED, shop=shop)
    before = snapshot(order)
    with pytest.raises(TransitionBlocked):
        return_to_sender(order, reason="Came back", by=SELLER)
    assert snapshot(order) == before


def test_a_processed_order_that_is_not_fully_packed_stays_processed(shop):
    order = order_in(S.PROCESSED, shop=shop)
    line = order.lines.first()
    order = ship_order(
        order, parcels=[ParcelSpec(tracking_number=tracking_number(), lines={line.pk: 1})], by=SELLER
    )
    assert order.status == S.PROCESSED
    with pytest.raises(TransitionBlocked):
        states.check_transition(order, S.SHIPPED)


def test_cancelling_a_paid_order_refunds_it(shop):
    order = order_in(S.PENDING, shop=shop)
    order = cancel_order(order, reason="Out of stock", by=SELLER)
    assert order.payment_status == states.PaymentStatus.REFUNDED
    assert order.refunded_total == order.total > Decimal("0")
    assert order.cancel_reason == "Out of stock"
