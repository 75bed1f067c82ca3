"""Returns: the buyer asks; the seller approves or rejects, receives and refunds. The last refund returns the
order."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from orders.errors import InvalidInput
from orders.models import EventKind, Notification, Order, OrderEvent, Return, ReturnStatus
from orders.services import (
    Actor,
    approve_return,
    receive_return,
    refund_return,
    reject_return,
    request_return,
)
from orders.states import OrderStatus, PaymentStatus
from tests.factories import SELLER, order_in, return_everything

BUYER = Actor.buyer()


@pytest.fixture
def delivered(shop):
    return order_in(OrderStatus.DELIVERED, shop=shop)  # 2 T-shirts at 15.00, 1 cap at 9.50, shipping 4.50


def lines_of(order):
    tee, cap = order.lines.order_by("id")
    return tee, cap


def counts(order):
    order.refresh_from_db()
    return (
        order.status,
        order.version,
        order.payment_status,
        order.refunded_total,
        OrderEvent.objects.filter(order=order).count(),
        Notification.objects.filter(order=order).count(),
        list(Return.objects.filter(order=order).values_list("status", flat=True)),
    )


def received(order, lines, *, by=BUYER):
    return_request = request_return(order, lines=lines, reason="Too small", by=by)
    approve_return(return_request, by=SELLER)
    return receive_return(return_request, by=SELLER)


def deliver_days_ago(order, days):
    Order.objects.filter(pk=order.pk).update(delivered_at=timezone.now() - timedelta(days=days))


# --- The order's open-return flag (what the order list filters on) ----------------------------------------


def has_open_return(order) -> bool:
    order.refresh_from_db(fields=["has_open_return"])
    return order.has_open_return


def test_an_order_has_an_open_return_from_the_request_until_the_refund_or_the_rejection(delivered):
    tee, cap = lines_of(delivered)
    assert not has_open_return(delivered)
    first = request_return(delivered, lines={tee.pk: 1}, reason="Too small", by=BUYER)
    assert has_open_return(delivered)
    second = request_return(delivered, lines={cap.pk: 1}, reason="Wrong colour", by=BUYER)
    approve_return(first, by=SELLER)
    receive_return(first, by=SELLER)
    assert has_open_return(delivered)
    refund_return(first, by=SELLER)
    assert has_open_return(delivered)  # the second is still open
    reject_return(second, reason="Worn", by=SELLER)
    assert not has_open_return(delivered)
    assert Order.objects.filter(has_open_return=True).count() == 0


def test_a_refused_return_step_leaves_the_flag_as_it_was(delivered):
    tee, _cap = lines_of(delivered)
    return_request = request_return(delivered, lines={tee.pk: 1}, reason="Too small", by=BUYER)
    with pytest.raises(InvalidInput):
        refund_return(return_request, by=SELLER)  # not received yet
    assert has_open_return(delivered)


# --- Asking for a return ----------------------------------------------------------------------------------


def test_the_buyer_asks_within_the_window(delivered):
    tee, _cap = lines_of(delivered)
    deliver_days_ago(delivered, 29)
    version = counts(delivered)[1]
    return_request = request_return(delivered, lines={tee.pk: 1}, reason="  Too small ", by=BUYER)
    assert return_request.status == ReturnStatus.REQUESTED
    assert return_request.reason == "Too small"
    assert [(rl.order_line_id, rl.quantity) for rl in return_request.lines.all()] == [(tee.pk, 1)]
    delivered.refresh_from_db()
    assert delivered.status == OrderStatus.DELIVERED
    assert delivered.version == version + 1
    event = delivered.events.order_by("id").last()
    assert (event.kind, event.actor_kind, event.data["return_id"]) == (
        EventKind.RETURN_REQUESTED,
        "buyer",
        return_request.pk,
    )


def test_the_window_has_closed_for_the_buyer_but_not_for_the_seller(delivered):
    tee, _cap = lines_of(delivered)
    deliver_days_ago(delivered, 31)
    before = counts(delivered)
    with pytest.raises(InvalidInput) as excinfo:
        request_return(delivered, lines={tee.pk: 1}, reason="Too small", by=BUYER)
    assert excinfo.value.code == "window_closed"
    assert "30" in excinfo.value.message
    assert counts(delivered) == before

    assert (
        request_return(delivered, lines={tee.pk: 1}, reason="Goodwill", by=SELLER).status
        == ReturnStatus.REQUESTED
    )


@pytest.mark.parametrize("status", [OrderStatus.PROCESSED, OrderStatus.SHIPPED, OrderStatus.CANCELLED])
def test_only_a_delivered_order_can_be_returned(shop, status):
    order = order_in(status, shop=shop)
    tee, _cap = lines_of(order)
    before = counts(order)
    with pytest.raises(InvalidInput) as excinfo:
        request_return(order, lines={tee.pk: 1}, reason="Too small", by=SELLER)
    assert excinfo.value.code == "not_delivered"
    assert counts(order) == before


def test_no_more_than_was_shipped(delivered):
    tee, _cap = lines_of(delivered)
    before = counts(delivered)
    with pytest.raises(InvalidInput) as excinfo:
        request_return(delivered, lines={tee.pk: 3}, reason="Too small", by=BUYER)
    assert excinfo.value.code == "too_many"
    assert "2" in excinfo.value.message
    assert counts(delivered) == before


def test_other_returns_count_against_what_is_left(delivered):
    tee, cap = lines_of(delivered)
    request_return(delivered, lines={tee.pk: 1}, reason="Too small", by=BUYER)
    received(delivered, {tee.pk: 1})  # a second return of the other T-shirt, further along
    before = counts(delivered)
    with pytest.raises(InvalidInput) as excinfo:
        request_return(delivered, lines={tee.pk: 1}, reason="Too small", by=BUYER)
    assert excinfo.value.code == "too_many"
    assert "Only 0" in excinfo.value.message
    assert counts(delivered) == before
    assert request_return(delivered, lines={cap.pk: 1}, reason="Wrong colour", by=BUYER)


def test_a_rejected_return_frees_its_items(delivered):
    tee, _cap = lines_of(delivered)
    first = request_return(delivered, lines={tee.pk: 2}, reason="Too small", by=BUYER)
    with pytest.raises(InvalidInput):
        request_return(delivered, lines={tee.pk: 1}, reason="Too small", by=BUYER)
    reject_return(first, reason="Worn and washed", by=SELLER)
    assert (
        request_return(delivered, lines={tee.pk: 2}, reason="Too small", by=BUYER).status
        == ReturnStatus.REQUESTED
    )


@pytest.mark.parametrize(
    ("make_lines", "reason", "field"),
    [
        (lambda tee, cap: {}, "Too small", "lines"),
        (lambda tee, cap: {tee.pk: 0}, "Too small", "lines"),
        (lambda tee, cap: {10**9: 1}, "Too small", "lines"),
        (lambda tee, cap: {tee.pk: 1}, "   ", "reason"),
    ],
    ids=["no-lines", "zero", "unknown-line", "no-reason"],
)
def test_a_return_request_needs_items_and_a_reason(delivered, make_lines, reason, field):
    tee, cap = lines_of(delivered)
    before = counts(delivered)
    with pytest.raises(InvalidInput) as excinfo:
        request_return(delivered, lines=make_lines(tee, cap), reason=reason, by=BUYER)
    assert excinfo.value.field == field
    assert counts(delivered) == before


# --- The return's own moves -------------------------------------------------------------------------------


def test_approve_receive_and_refund_each_tell_the_buyer(delivered):
    tee, _cap = lines_of(delivered)
    return_request = request_return(delivered, lines={tee.pk: 1}, reason="Too small", by=BUYER)
    steps = [
        (approve_return, ReturnStatus.APPROVED, EventKind.RETURN_APPROVED, "return_approved", "decided_at"),
        (receive_return, ReturnStatus.RECEIVED, EventKind.RETURN_RECEIVED, "return_received", "received_at"),
        (refund_return, ReturnStatus.REFUNDED, EventKind.RETURN_REFUNDED, "return_refunded", "refunded_at"),
    ]
    for service, status, kind, template, stamp in steps:
        version = counts(delivered)[1]
        return_request = service(return_request, by=SELLER)
        return_request.refresh_from_db()
        assert return_request.status == status
        assert getattr(return_request, stamp) is not None
        event = delivered.events.order_by("id").last()
        assert (event.kind, event.data["return_id"]) == (kind, return_request.pk)
        notification = Notification.objects.get(order=delivered, template=template)
        assert notification.event == event
        assert counts(delivered)[1] == version + 1


def test_a_rejected_return_tells_the_buyer_why(delivered):
    tee, _cap = lines_of(delivered)
    return_request = request_return(delivered, lines={tee.pk: 1}, reason="Too small", by=BUYER)
    before = counts(delivered)
    with pytest.raises(InvalidInput) as excinfo:
        reject_return(return_request, reason="", by=SELLER)
    assert excinfo.value.code == "reason_required"
    assert counts(delivered) == before
    reject_return(return_request, reason="Worn and washed", by=SELLER)
    return_request.refresh_from_db()
    assert (return_request.status, return_request.rejection_reason) == (
        ReturnStatus.REJECTED,
        "Worn and washed",
    )
    assert (
        Notification.objects.get(order=delivered, template="return_rejected").context["reason"]
        == "Worn and washed"
    )


RETURN_SERVICES = {
    ReturnStatus.APPROVED: lambda r: approve_return(r, by=SELLER),
    ReturnStatus.REJECTED: lambda r: reject_return(r, reason="No", by=SELLER),
    ReturnStatus.RECEIVED: lambda r: receive_return(r, by=SELLER),
    ReturnStatus.REFUNDED: lambda r: refund_return(r, by=SELLER),
}
RETURN_PATHS = {
    ReturnStatus.REQUESTED: [],
    ReturnStatus.APPROVED: [ReturnStatus.APPROVED],
    ReturnStatus.REJECTED: [ReturnStatus.REJECTED],
    ReturnStatus.RECEIVED: [ReturnStatus.APPROVED, ReturnStatus.RECEIVED],
    ReturnStatus.REFUNDED: [ReturnStatus.APPROVED, ReturnStatus.RECEIVED, ReturnStatus.REFUNDED],
}
LEGAL_RETURN_MOVES = {
    (ReturnStatus.REQUESTED, ReturnStatus.APPROVED),
    (ReturnStatus.REQUESTED, ReturnStatus.REJECTED),
    (ReturnStatus.APPROVED, ReturnStatus.RECEIVED),
    (ReturnStatus.RECEIVED, ReturnStatus.REFUNDED),
}
ILLEGAL_RETURN_MOVES = [
    (source, target)
    for source in RETURN_PATHS
    for target in RETURN_SERVICES
    if (source, target) not in LEGAL_RETURN_MOVES
]


@pytest.mark.parametrize(
    ("source", "target"), ILLEGAL_RETURN_MOVES, ids=[f"{a}->{b}" for a, b in ILLEGAL_RETURN_MOVES]
)
def test_illegal_return_moves_are_refused(delivered, source, target):
    tee, _cap = lines_of(delivered)
    return_request = request_return(delivered, lines={tee.pk: 1}, reason="Too small", by=BUYER)
    for step in RETURN_PATHS[source]:
        RETURN_SERVICES[step](return_request)
    before = counts(delivered)
    with pytest.raises(InvalidInput) as excinfo:
        RETURN_SERVICES[target](return_request)
    assert excinfo.value.code == "illegal_return_transition"
    assert excinfo.value.details["current_status"] == source
    assert counts(delivered) == before


# --- Refunds ----------------------------------------------------------------------------------------------


def test_a_partial_refund_keeps_the_order_delivered(delivered):
    tee, _cap = lines_of(delivered)
    return_request = refund_return(received(delivered, {tee.pk: 1}), by=SELLER)
    assert return_request.refund_amount == Decimal("15.00")
    delivered.refresh_from_db()
    assert delivered.status == OrderStatus.DELIVERED
    assert delivered.payment_status == PaymentStatus.PARTIALLY_REFUNDED
    assert delivered.refunded_total == Decimal("15.00")
    assert Notification.objects.get(order=delivered, template="return_refunded").context["amount"] == "15.00"


def test_a_refund_of_a_chosen_amount(delivered):
    tee, _cap = lines_of(delivered)
    refund_return(received(delivered, {tee.pk: 1}), by=SELLER, amount=Decimal("7.50"))
    delivered.refresh_from_db()
    assert delivered.refunded_total == Decimal("7.50")


def test_a_refund_beyond_what_was_paid_is_refused(delivered):
    tee, _cap = lines_of(delivered)
    return_request = received(delivered, {tee.pk: 1})
    before = counts(delivered)
    for amount in (delivered.total + Decimal("0.01"), Decimal("-1")):
        with pytest.raises(InvalidInput) as excinfo:
            refund_return(return_request, by=SELLER, amount=amount)
        assert excinfo.value.code == "refund_out_of_range"
        assert counts(delivered) == before
    return_request.refresh_from_db()
    assert return_request.status == ReturnStatus.RECEIVED


def test_everything_back_and_refunded_returns_the_order(delivered):
    order = return_everything(delivered)
    assert order.status == OrderStatus.RETURNED
    assert order.returned_at is not None
    # The suggested refund is the items' price; the shipping stays with the seller.
    assert order.refunded_total == Decimal("39.50")
    assert order.payment_status == PaymentStatus.PARTIALLY_REFUNDED
    kinds = list(order.events.order_by("id").values_list("kind", flat=True))
    assert kinds[-2:] == [EventKind.RETURN_REFUNDED, EventKind.RETURNED]
    assert Notification.objects.filter(order=order, template="order_returned").count() == 1


def test_refunding_the_whole_total_marks_the_payment_refunded(delivered):
    tee, cap = lines_of(delivered)
    refund_return(received(delivered, {tee.pk: 2, cap.pk: 1}), by=SELLER, amount=delivered.total)
    delivered.refresh_from_db()
    assert delivered.status == OrderStatus.RETURNED
    assert delivered.payment_status == PaymentStatus.REFUNDED
    assert delivered.refunded_total == delivered.total


def test_items_back_in_several_returns(delivered):
    tee, cap = lines_of(delivered)
    refund_return(received(delivered, {tee.pk: 2}), by=SELLER)
    delivered.refresh_from_db()
    assert delivered.status == OrderStatus.DELIVERED
    refund_return(received(delivered, {cap.pk: 1}), by=SELLER)
    delivered.refresh_from_db()
    assert delivered.status == OrderStatus.RETURNED
    assert delivered.refunded_total == Decimal("39.50")


def test_a_received_return_not_yet_refunded_does_not_return_the_order(delivered):
    tee, cap = lines_of(delivered)
    received(delivered, {tee.pk: 2, cap.pk: 1})
    delivered.refresh_from_db()
    assert delivered.status == OrderStatus.DELIVERED


def test_a_cash_on_delivery_order_is_paid_on_delivery_and_can_then_be_refunded(shop):
    from orders.states import PaymentMethod, PaymentStatus
    from tests.factories import order_in

    order = order_in("delivered", shop=shop, paid=False, payment_method=PaymentMethod.CASH_ON_DELIVERY)
    assert order.payment_status == PaymentStatus.PAID
    line = order.lines.first()
    return_request = request_return(order, lines={line.pk: 1}, reason="Too small", by=Actor.buyer())
    approve_return(return_request, by=Actor.system())
    receive_return(return_request, by=Actor.system())
    refund_return(return_request, by=Actor.system(), amount=Decimal("5.00"))
    order.refresh_from_db()
    assert order.refunded_total == Decimal("5.00")
    assert order.payment_status == PaymentStatus.PARTIALLY_REFUNDED
