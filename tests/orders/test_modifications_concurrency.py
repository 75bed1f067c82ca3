"""Item changes racing on real PostgreSQL with real threads (see tests/orders/test_concurrency.py).

Two sellers saving the same items form, an approval racing the seller's "process", two sellers answering the
same request, a buyer asking while the seller processes: one wins, the other is refused with the reason.
"""

from decimal import Decimal

import pytest

from orders.models import BuyerRequest, EventKind, Notification, Order, OrderEvent, RequestStatus
from orders.services import (
    Actor,
    LineSpec,
    approve_modification,
    decline_modification,
    process_order,
    request_modification,
    seller_modify_lines,
)
from orders.states import OrderStatus
from tests.factories import ShopFactory, UserFactory, place
from tests.orders.test_concurrency import run_together, tally

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

BUYER = Actor.buyer()
ROUNDS = 6  # orders raced one after the other, so that either side gets to win some


def sellers(count: int) -> list[Actor]:
    return [Actor.seller(UserFactory()) for _ in range(count)]


def tee_and_cap(order: Order):
    lines = list(order.lines.order_by("id"))
    return lines[0], lines[1]


def tee_quantity(order: Order, quantity: int) -> list[LineSpec]:
    tee, cap = tee_and_cap(order)
    return [
        LineSpec(
            id=tee.pk, sku=tee.sku, name=tee.name, variant=tee.variant, quantity=quantity, unit_price="15.00"
        ),
        LineSpec(id=cap.pk, sku=cap.sku, name=cap.name, quantity=1, unit_price="9.50"),
    ]


def ask_for_size_l(order: Order) -> BuyerRequest:
    tee, _cap = tee_and_cap(order)
    return request_modification(
        order, changes=[{"line_id": tee.pk, "variant": "L / black", "quantity": 3}], by=BUYER
    )


def test_two_sellers_saving_the_same_form_cannot_both_win():
    order = place(ShopFactory())
    version = order.version
    first, second = sellers(2)
    edits = {first: 3, second: 5}

    def edit(seller: Actor):
        return lambda: seller_modify_lines(
            order, lines=tee_quantity(order, edits[seller]), by=seller, expected_version=version
        )

    outcomes = run_together([edit(first), edit(second)], threads=2)

    assert tally(outcomes) == {"ok": 1, "StaleVersion(stale_version)": 1}
    winner = outcomes[0].value if outcomes[0].ok else outcomes[1].value
    loser = next(outcome.error for outcome in outcomes if not outcome.ok)
    assert loser.details == {"expected_version": version, "current_version": version + 1}
    order.refresh_from_db()
    assert order.version == version + 1
    tee, _cap = tee_and_cap(order)
    assert tee.quantity == winner.event.data["after"][0]["quantity"]
    assert order.total == Decimal("15.00") * tee.quantity + Decimal("9.50") + Decimal("4.50")
    assert winner.new_total == order.total
    assert OrderEvent.objects.filter(order=order, kind=EventKind.LINES_CHANGED).count() == 1
    assert Notification.objects.filter(order=order, template="lines_changed").count() == 1


def test_ten_sellers_on_one_stale_form_leave_one_change():
    order = place(ShopFactory())
    version = order.version
    team = sellers(10)

    def edit(n: int):
        return lambda: seller_modify_lines(
            order, lines=tee_quantity(order, n + 3), by=team[n], expected_version=version
        )

    outcomes = run_together([edit(n) for n in range(10)], threads=10)

    assert tally(outcomes) == {"ok": 1, "StaleVersion(stale_version)": 9}
    order.refresh_from_db()
    assert order.version == version + 1
    assert OrderEvent.objects.filter(order=order, kind=EventKind.LINES_CHANGED).count() == 1
    assert Notification.objects.filter(order=order, template="lines_changed").count() == 1


def test_edits_without_a_version_queue_up_and_each_sees_the_one_before():
    """Without a version (a script, the admin) the edits run one after the other under the order's lock:
    none is lost unseen, each change's "before" is the previous change's "after"."""
    order = place(ShopFactory())
    first, second = sellers(2)

    outcomes = run_together(
        [
            lambda: seller_modify_lines(order, lines=tee_quantity(order, 3), by=first),
            lambda: seller_modify_lines(order, lines=tee_quantity(order, 5), by=second),
        ],
        threads=2,
    )

    assert tally(outcomes) == {"ok": 2}
    changes = list(OrderEvent.objects.filter(order=order, kind=EventKind.LINES_CHANGED).order_by("id"))
    assert len(changes) == 2
    assert changes[1].data["before"] == changes[0].data["after"]
    assert changes[1].data["old_total"] == changes[0].data["new_total"]
    order.refresh_from_db()
    assert str(order.total) == changes[1].data["new_total"]
    assert Notification.objects.filter(order=order, template="lines_changed").count() == 2


def race_approval_and_processing() -> str:
    """One order: the seller approves the buyer's change while another processes the order."""
    order = place(ShopFactory())
    buyer_request = ask_for_size_l(order)
    approver, packer = sellers(2)

    outcomes = run_together(
        [lambda: approve_modification(buyer_request, by=approver), lambda: process_order(order, by=packer)],
        threads=2,
    )

    assert tally(outcomes) == {"ok": 2}  # processing never fails; the approval says what happened
    order.refresh_from_db()
    buyer_request.refresh_from_db()
    assert order.status == OrderStatus.PROCESSED
    tee, _cap = tee_and_cap(order)
    kinds = list(
        OrderEvent.objects.filter(order=order)
        .exclude(kind__in=[EventKind.NOTIFICATION_SENT, EventKind.NOTIFICATION_FAILED])
        .order_by("id")
        .values_list("kind", flat=True)
    )
    approved = Notification.objects.filter(order=order, template="modification_approved").count()
    declined = Notification.objects.filter(order=order, template="modification_declined").count()
    if buyer_request.status == RequestStatus.APPROVED:  # the approval got the lock first
        assert (tee.variant, tee.quantity) == ("L / black", 3)
        assert order.total == Decimal("59.00")
        assert kinds[-3:] == [EventKind.REQUEST_APPROVED, EventKind.LINES_CHANGED, EventKind.PROCESSED]
        assert (approved, declined) == (1, 0)
    else:  # processing got it first: the approval is refused with the reason
        assert buyer_request.status == RequestStatus.DECLINED
        assert buyer_request.decline_reason == (
            "The order was already being prepared, so its items could no longer change."
        )
        assert (tee.variant, tee.quantity) == ("M / black", 2)
        assert order.total == Decimal("44.00")
        assert kinds[-2:] == [EventKind.PROCESSED, EventKind.REQUEST_DECLINED]
        assert EventKind.LINES_CHANGED not in kinds
        assert (approved, declined) == (0, 1)
    return buyer_request.status


def test_an_approval_racing_the_sellers_processing_either_applies_first_or_is_declined():
    """Which side wins a round is up to the scheduler; every round must end in one of the two stories (the
    two orders of events are also tested one after the other in test_modifications.py)."""
    winners = [race_approval_and_processing() for _round in range(ROUNDS)]
    assert set(winners) <= {RequestStatus.APPROVED, RequestStatus.DECLINED}


def race_approval_and_decline() -> None:
    order = place(ShopFactory())
    buyer_request = ask_for_size_l(order)
    approver, decliner = sellers(2)

    outcomes = run_together(
        [
            lambda: approve_modification(buyer_request, by=approver),
            lambda: decline_modification(buyer_request, reason="Sold out", by=decliner),
        ],
        threads=2,
    )

    assert tally(outcomes) == {"ok": 1, "InvalidInput(already_decided)": 1}
    buyer_request.refresh_from_db()
    answers = OrderEvent.objects.filter(
        order=order, kind__in=[EventKind.REQUEST_APPROVED, EventKind.REQUEST_DECLINED]
    )
    assert answers.count() == 1
    emails = Notification.objects.filter(
        order=order, template__in=["modification_approved", "modification_declined"]
    )
    assert emails.count() == 1
    if outcomes[0].ok:
        assert buyer_request.status == RequestStatus.APPROVED
        assert emails.get().template == "modification_approved"
    else:
        assert buyer_request.status == RequestStatus.DECLINED
        assert emails.get().template == "modification_declined"


def test_two_sellers_answering_the_same_request_one_wins():
    for _round in range(ROUNDS // 2):
        race_approval_and_decline()


def race_request_and_processing() -> None:
    order = place(ShopFactory())
    (packer,) = sellers(1)

    outcomes = run_together(
        [lambda: ask_for_size_l(order), lambda: process_order(order, by=packer)], threads=2
    )

    assert outcomes[1].ok
    requests = BuyerRequest.objects.filter(order=order)
    if outcomes[0].ok:
        assert requests.get().status == RequestStatus.OPEN  # for the seller to answer
    else:
        assert outcomes[0].label == "InvalidInput(modification_not_pending)"
        assert outcomes[0].error.message == (
            "Your order is already being prepared, so its items can no longer change."
        )
        assert not requests.exists()


def test_a_buyer_asking_while_the_seller_processes_is_either_in_time_or_told_why():
    for _round in range(ROUNDS // 2):
        race_request_and_processing()
