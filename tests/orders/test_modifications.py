"""Item changes (issue 9): the shop's policy, the buyer's request, the seller's answer, the seller's edit."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone, translation

from orders.errors import CouponRejected, InvalidInput, StaleVersion
from orders.models import (
    BuyerRequest,
    CouponKind,
    CouponRedemption,
    EventKind,
    Notification,
    OrderEvent,
    OrderLine,
    RequestKind,
    RequestStatus,
)
from orders.notifications.email import render_message
from orders.services import (
    Actor,
    LineSpec,
    approve_modification,
    decline_modification,
    modification_policy,
    process_order,
    request_modification,
    seller_modify_lines,
)
from orders.states import OrderStatus
from tests.factories import SELLER, CouponFactory, UserFactory, order_in, place

BUYER = Actor.buyer()
PLACED_AT = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)


@pytest.fixture
def seller():
    return Actor.seller(UserFactory(full_name="Sam Seller"))


def tee_and_cap(order):
    """The two lines every order of ``place`` has: 2 × T-shirt M / black at 15.00, 1 × Cap at 9.50."""
    lines = list(order.lines.order_by("id"))
    return lines[0], lines[1]


def snapshot(order):
    """Everything a refused call must leave as it was."""
    order.refresh_from_db()
    return (
        order.status,
        order.version,
        order.total,
        order.coupon_id,
        OrderEvent.objects.filter(order=order).count(),
        Notification.objects.filter(order=order).count(),
        sorted(OrderLine.objects.filter(order=order).values_list("sku", "variant", "quantity", "unit_price")),
        sorted(BuyerRequest.objects.filter(order=order).values_list("status", "payload")),
    )


def emails(order, template):
    return Notification.objects.filter(order=order, template=template)


def ask_for_size_l(order, **kwargs):
    tee, _cap = tee_and_cap(order)
    return request_modification(
        order, changes=[{"line_id": tee.pk, "variant": "L / black", "quantity": 3}], by=BUYER, **kwargs
    )


# --- The policy ---------------------------------------------------------------------------------------------


def test_within_the_window_the_buyer_sees_until_when(shop):
    shop.modification_window_hours = 24
    shop.save()
    order = place(shop, placed_at=PLACED_AT)
    with translation.override("en"):
        policy = modification_policy(order, now=PLACED_AT + timedelta(hours=1))
    assert policy.allowed
    assert policy.code == "open"
    assert policy.deadline == PLACED_AT + timedelta(hours=24)
    assert policy.reason == (
        "You can change items until 2 p.m. on November 26, as long as the order is not being prepared yet."
    )


def test_the_deadline_is_told_in_the_shops_zone_or_the_buyers(shop):
    shop.modification_window_hours = 9
    shop.timezone = "Europe/Paris"
    shop.save()
    order = place(shop, placed_at=PLACED_AT)
    now = PLACED_AT + timedelta(hours=1)
    with translation.override("en"):
        assert "until midnight on November 26" in modification_policy(order, now=now).reason
        in_new_york = modification_policy(order, now=now, zone=ZoneInfo("America/New_York"))
    assert "until 6 p.m. on November 25" in in_new_york.reason
    with translation.override("de"):  # dates and times in the reader's language
        assert "26. November" in modification_policy(order, now=now).reason


def test_once_the_window_has_passed_the_buyer_cannot_ask(shop):
    shop.modification_window_hours = 24
    shop.save()
    order = place(shop, placed_at=PLACED_AT)
    with translation.override("en"):
        policy = modification_policy(order, now=PLACED_AT + timedelta(hours=24))
    assert not policy.allowed
    assert policy.code == "window_closed"
    assert policy.deadline == PLACED_AT + timedelta(hours=24)
    assert policy.reason == "Items could be changed until 2 p.m. on November 26; that time has passed."


def test_zero_hours_means_until_the_order_is_processed(shop):
    shop.modification_window_hours = 0
    shop.save()
    order = place(shop, placed_at=PLACED_AT)
    policy = modification_policy(order, now=PLACED_AT + timedelta(days=30))
    assert policy.allowed
    assert policy.deadline is None
    assert policy.reason == "You can change items until the order is being prepared."


def test_a_shop_can_turn_item_changes_off(shop):
    shop.allow_modifications = False
    shop.save()
    order = place(shop)
    policy = modification_policy(order)
    assert (policy.allowed, policy.code, policy.deadline) == (False, "disabled", None)
    assert policy.reason == "This shop does not change items once an order is placed."


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (OrderStatus.PROCESSED, "Your order is already being prepared, so its items can no longer change."),
        (OrderStatus.SHIPPED, "Your order has already shipped, so its items can no longer change."),
        (OrderStatus.DELIVERED, "Your order has already shipped, so its items can no longer change."),
        (OrderStatus.CANCELLED, "The order was cancelled."),
        (OrderStatus.RETURNED, "The order is closed."),
    ],
)
def test_never_once_the_order_is_processed(shop, status, reason):
    shop.modification_window_hours = 0
    shop.save()
    order = order_in(status, shop=shop)
    policy = modification_policy(order)
    assert (policy.allowed, policy.code, policy.reason) == (False, "not_pending", reason)


# --- The buyer asks -----------------------------------------------------------------------------------------


def test_the_buyer_asks_for_another_size_and_quantity(shop):
    order = place(shop)
    tee, cap = tee_and_cap(order)
    version = order.version
    emails_before = Notification.objects.filter(order=order).count()

    buyer_request = request_modification(
        order,
        changes=[
            {"line_id": tee.pk, "variant": " L /  black ", "quantity": 3},
            {"line_id": cap.pk, "quantity": "2"},
        ],
        message="Sorry, M is too small",
        by=BUYER,
    )

    assert buyer_request.kind == RequestKind.MODIFICATION
    assert buyer_request.status == RequestStatus.OPEN
    assert buyer_request.shop == shop
    assert buyer_request.message == "Sorry, M is too small"
    assert buyer_request.payload == {
        "changes": [
            {
                "line_id": tee.pk,
                "sku": "TEE-M-BLK",
                "name": "T-shirt",
                "unit_price": "15.00",
                "before": {"variant": "M / black", "quantity": 2},
                "after": {"variant": "L / black", "quantity": 3},
            },
            {
                "line_id": cap.pk,
                "sku": "CAP-RED",
                "name": "Cap",
                "unit_price": "9.50",
                "before": {"variant": "", "quantity": 1},
                "after": {"variant": "", "quantity": 2},
            },
        ]
    }
    order.refresh_from_db()
    assert order.version == version + 1  # an open dashboard form is stale now
    assert sorted(order.lines.values_list("variant", "quantity")) == [("", 1), ("M / black", 2)]  # not yet
    event = order.events.get(kind=EventKind.MODIFICATION_REQUESTED)
    assert event.actor_kind == "buyer"
    assert event.message == "Sorry, M is too small"
    assert event.data == {
        "request_id": buyer_request.pk,
        "changes": buyer_request.payload["changes"],
        "replaces_earlier_request": False,
    }
    assert (
        Notification.objects.filter(order=order).count() == emails_before
    )  # the buyer is told on the answer


def test_asking_again_replaces_the_open_request(shop):
    order = place(shop)
    tee, _cap = tee_and_cap(order)
    first = ask_for_size_l(order)
    second = request_modification(order, changes=[{"line_id": tee.pk, "variant": "XL / black"}], by=BUYER)

    assert second.pk == first.pk
    assert BuyerRequest.objects.filter(order=order, kind=RequestKind.MODIFICATION).count() == 1
    second.refresh_from_db()
    assert second.status == RequestStatus.OPEN
    assert [c["after"] for c in second.payload["changes"]] == [{"variant": "XL / black", "quantity": 2}]
    events = list(order.events.filter(kind=EventKind.MODIFICATION_REQUESTED).order_by("id"))
    assert [e.data["replaces_earlier_request"] for e in events] == [False, True]
    assert events[1].message == "Item change requested again, replacing the earlier one"


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ([], "empty", "changes"),
        ("TEE", "empty", "changes"),
        (["TEE"], "invalid", "changes.0"),
        ([{"quantity": 3}], "unknown_line", "changes.0.line_id"),
        ([{"line_id": 0, "quantity": 3}], "unknown_line", "changes"),
        ([{"line_id": "TEE", "quantity": 3}], "unknown_line", "changes.0.line_id"),
        ([{"line_id": "tee", "quantity": 0}], "invalid_quantity", "changes.0.quantity"),
        ([{"line_id": "tee", "quantity": -1}], "invalid_quantity", "changes.0.quantity"),
        ([{"line_id": "tee", "quantity": "-1"}], "invalid_quantity", "changes.0.quantity"),
        ([{"line_id": "tee", "quantity": 1.5}], "invalid_quantity", "changes.0.quantity"),
        ([{"line_id": "tee", "quantity": "two"}], "invalid_quantity", "changes.0.quantity"),
        ([{"line_id": "tee", "quantity": True}], "invalid_quantity", "changes.0.quantity"),
        ([{"line_id": "tee", "quantity": 10000}], "invalid_quantity", "changes.0.quantity"),
        ([{"line_id": "tee", "variant": "L" * 121}], "too_long", "changes.0.variant"),
        ([{"line_id": "tee", "variant": 42}], "invalid", "changes.0.variant"),
        ([{"line_id": "tee", "unit_price": "0.01"}], "invalid", "changes.0"),
        (
            [{"line_id": "tee", "quantity": 3}, {"line_id": "tee", "quantity": 4}],
            "duplicate",
            "changes.1.line_id",
        ),
        ([{"line_id": "tee", "variant": "M / black", "quantity": 2}], "unchanged", "changes"),
        ([{"line_id": "tee"}], "unchanged", "changes"),
    ],
)
def test_wrong_changes_are_refused(shop, changes, code, field):
    order = place(shop)
    tee, _cap = tee_and_cap(order)
    if isinstance(changes, list):
        changes = [
            {**c, "line_id": tee.pk} if isinstance(c, dict) and c.get("line_id") == "tee" else c
            for c in changes
        ]
    before = snapshot(order)
    with pytest.raises(InvalidInput) as excinfo:
        request_modification(order, changes=changes, by=BUYER)
    assert excinfo.value.code == code
    assert excinfo.value.field == field
    assert excinfo.value.message
    assert snapshot(order) == before


def test_a_line_of_another_order_is_refused(shop):
    order, other = place(shop), place(shop, email="bob@example.net")
    other_line = other.lines.first()
    before = snapshot(order)
    with pytest.raises(InvalidInput) as excinfo:
        request_modification(order, changes=[{"line_id": other_line.pk, "quantity": 5}], by=BUYER)
    assert excinfo.value.code == "unknown_line"
    assert excinfo.value.message == "That item is not in this order."
    assert snapshot(order) == before


def test_a_long_message_is_refused(shop):
    order = place(shop)
    with pytest.raises(InvalidInput) as excinfo:
        ask_for_size_l(order, message="x" * 1001)
    assert (excinfo.value.code, excinfo.value.field) == ("too_long", "message")


@pytest.mark.parametrize("case", ["window_closed", "disabled", "not_pending"])
def test_outside_the_policy_the_request_is_refused_with_its_reason(shop, case):
    shop.modification_window_hours = 24
    shop.allow_modifications = case != "disabled"
    shop.save()
    placed_at = timezone.now() - timedelta(hours=25 if case == "window_closed" else 1)
    order = place(shop, placed_at=placed_at)
    if case == "not_pending":
        order = process_order(order, by=SELLER)
    policy = modification_policy(order)
    before = snapshot(order)
    with pytest.raises(InvalidInput) as excinfo:
        ask_for_size_l(order)
    assert excinfo.value.code == f"modification_{case}"
    assert excinfo.value.message == policy.reason
    assert snapshot(order) == before


# --- The seller approves ------------------------------------------------------------------------------------


def test_approving_applies_the_change_and_tells_the_buyer_once(shop, seller):
    order = place(shop)
    tee, cap = tee_and_cap(order)
    buyer_request = ask_for_size_l(order)
    order.refresh_from_db()
    assert order.total == Decimal("44.00")  # 2 × 15.00 + 9.50 + 4.50 shipping

    approved = approve_modification(buyer_request, by=seller, expected_version=order.version)

    assert approved.status == RequestStatus.APPROVED
    assert approved.decided_by == seller.user
    assert approved.decided_at is not None
    order.refresh_from_db()
    assert list(order.lines.order_by("id").values_list("pk", "sku", "variant", "quantity")) == [
        (tee.pk, "TEE-M-BLK", "L / black", 3),
        (cap.pk, "CAP-RED", "", 1),
    ]
    assert (order.subtotal, order.total) == (Decimal("54.50"), Decimal("59.00"))
    decision = order.events.get(kind=EventKind.REQUEST_APPROVED)
    assert decision.data == {"request_id": buyer_request.pk, "kind": "modification"}
    assert decision.actor == seller.user
    change = order.events.get(kind=EventKind.LINES_CHANGED)
    assert change.data["request_id"] == buyer_request.pk
    assert [line["id"] for line in change.data["before"]] == [tee.pk, cap.pk]
    assert (change.data["before"][0]["variant"], change.data["before"][0]["quantity"]) == ("M / black", 2)
    assert (change.data["after"][0]["variant"], change.data["after"][0]["quantity"]) == ("L / black", 3)
    assert (change.data["old_total"], change.data["new_total"], change.data["difference"]) == (
        "44.00",
        "59.00",
        "15.00",
    )
    # One email: the approval, attached to the change; no separate "items changed" email.
    approval = emails(order, "modification_approved").get()
    assert approval.event == change
    assert approval.dedupe_key == f"o{order.pk}:e{change.pk}:modification_approved:{order.email}"
    assert approval.context["old_total"] == "44.00"
    assert not emails(order, "lines_changed").exists()
    assert not emails(order, "modification_declined").exists()
    _subject, text, html = render_message(
        order, "modification_approved", extra=approval.context, language="en"
    )
    assert "3 × T-shirt (L / black)" in text
    assert "Total before: $44.00" in text
    assert "New total: $59.00" in text
    assert "<li>3 × T-shirt (L / black)</li>" in html


def test_a_request_approved_after_the_order_was_processed_is_declined_with_the_reason(shop, seller):
    order = place(shop)
    buyer_request = ask_for_size_l(order)
    process_order(order, by=SELLER)
    lines_before = sorted(order.lines.values_list("variant", "quantity"))

    answered = approve_modification(buyer_request, by=seller)

    assert answered.status == RequestStatus.DECLINED
    reason = "The order was already being prepared, so its items could no longer change."
    assert answered.decline_reason == reason
    assert answered.decided_by == seller.user
    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSED
    assert sorted(order.lines.values_list("variant", "quantity")) == lines_before
    event = order.events.get(kind=EventKind.REQUEST_DECLINED)
    assert event.message == reason
    assert event.data == {
        "request_id": buyer_request.pk,
        "kind": "modification",
        "reason": reason,
        "automatic": True,
    }
    assert not order.events.filter(kind__in=[EventKind.REQUEST_APPROVED, EventKind.LINES_CHANGED]).exists()
    declined = emails(order, "modification_declined").get()
    assert declined.context["reason"] == reason
    assert not emails(order, "modification_approved").exists()
    # Answered: it cannot be approved again.
    with pytest.raises(InvalidInput) as excinfo:
        approve_modification(buyer_request, by=seller)
    assert excinfo.value.code == "already_decided"


def test_a_coupon_the_change_breaks_is_explained_and_can_be_dropped(shop, seller):
    coupon = CouponFactory(
        shop=shop, code="BIG", kind=CouponKind.FIXED, value=Decimal("5"), min_subtotal=Decimal("35")
    )
    order = place(shop, coupon_code="BIG")  # 39.50 of items, 5.00 off
    tee, _cap = tee_and_cap(order)
    buyer_request = request_modification(order, changes=[{"line_id": tee.pk, "quantity": 1}], by=BUYER)
    before = snapshot(order)

    with translation.override("en"), pytest.raises(CouponRejected) as excinfo:
        approve_modification(buyer_request, by=seller)
    assert excinfo.value.message == (
        "With these changes the coupon BIG no longer applies. Approve anyway to take the coupon off the "
        "order (the total goes up), or decline the request. Reason: The coupon BIG needs a subtotal of at "
        "least $35.00."
    )
    assert excinfo.value.code == "coupon_min_subtotal"
    assert excinfo.value.details == {"field": "coupon_code", "coupon_code": "BIG", "can_drop_coupon": True}
    assert snapshot(order) == before  # nothing written, the request still open

    approve_modification(buyer_request, by=seller, drop_coupon_if_invalid=True)
    order.refresh_from_db()
    assert order.coupon is None
    assert (order.subtotal, order.discount, order.total) == (
        Decimal("24.50"),
        Decimal("0.00"),
        Decimal("29.00"),
    )
    coupon.refresh_from_db()
    assert coupon.times_used == 0
    assert not CouponRedemption.objects.filter(order=order).exists()
    approval = emails(order, "modification_approved").get()
    assert approval.context["dropped_coupon"] == "BIG"
    _subject, text, _html = render_message(
        order, "modification_approved", extra=approval.context, language="en"
    )
    assert "The coupon BIG no longer applies to this order." in text


def test_approving_a_change_made_by_hand_meanwhile_tells_the_buyer_once(shop, seller):
    order = place(shop)
    tee, cap = tee_and_cap(order)
    buyer_request = ask_for_size_l(order)
    seller_modify_lines(
        order,
        lines=[
            LineSpec(
                id=tee.pk,
                sku="TEE-L-BLK",
                name="T-shirt",
                variant="L / black",
                quantity=3,
                unit_price="15.00",
            ),
            LineSpec(id=cap.pk, sku="CAP-RED", name="Cap", quantity=1, unit_price="9.50"),
        ],
        by=seller,
    )
    changes = order.events.filter(kind=EventKind.LINES_CHANGED).count()

    approve_modification(buyer_request, by=seller)

    assert order.events.filter(kind=EventKind.LINES_CHANGED).count() == changes
    assert OrderLine.objects.get(pk=tee.pk).sku == "TEE-L-BLK"  # the seller's SKU stays
    approval = emails(order, "modification_approved").get()
    assert approval.event == order.events.get(kind=EventKind.REQUEST_APPROVED)


def test_a_line_removed_meanwhile_stops_the_approval(shop, seller):
    order = place(shop)
    _tee, cap = tee_and_cap(order)
    buyer_request = ask_for_size_l(order)
    seller_modify_lines(
        order,
        lines=[LineSpec(id=cap.pk, sku="CAP-RED", name="Cap", quantity=1, unit_price="9.50")],
        by=seller,
    )
    before = snapshot(order)
    with pytest.raises(InvalidInput) as excinfo:
        approve_modification(buyer_request, by=seller)
    assert excinfo.value.code == "line_removed"
    assert excinfo.value.message.startswith("T-shirt is no longer in the order.")
    assert snapshot(order) == before


def test_a_stale_approval_is_refused(shop, seller):
    order = place(shop)
    version = order.version
    buyer_request = ask_for_size_l(order)  # the buyer's request moved the version on
    with pytest.raises(StaleVersion):
        approve_modification(buyer_request, by=seller, expected_version=version)
    buyer_request.refresh_from_db()
    assert buyer_request.status == RequestStatus.OPEN


def test_only_item_change_requests_are_answered_here(shop, seller):
    order = place(shop)
    address_request = BuyerRequest.objects.create(
        shop=shop, order=order, kind=RequestKind.ADDRESS_CHANGE, payload={"line1": "3 Quay Lane"}
    )
    with pytest.raises(InvalidInput) as excinfo:
        approve_modification(address_request, by=seller)
    assert excinfo.value.code == "not_a_modification"
    with pytest.raises(InvalidInput) as excinfo:
        decline_modification(address_request.pk, reason="No", by=seller)
    assert excinfo.value.code == "not_a_modification"


# --- The seller declines ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("reason", "code"), [("", "empty"), ("   ", "empty"), ("x" * 501, "too_long")])
def test_declining_needs_a_reason(shop, seller, reason, code):
    order = place(shop)
    buyer_request = ask_for_size_l(order)
    before = snapshot(order)
    with pytest.raises(InvalidInput) as excinfo:
        decline_modification(buyer_request, reason=reason, by=seller)
    assert (excinfo.value.code, excinfo.value.field) == (code, "reason")
    assert snapshot(order) == before


def test_declining_tells_the_buyer_why_once(shop, seller):
    order = place(shop)
    buyer_request = ask_for_size_l(order)

    declined = decline_modification(buyer_request.pk, reason="  Size L is sold out.  ", by=seller)

    assert declined.status == RequestStatus.DECLINED
    assert declined.decline_reason == "Size L is sold out."
    assert declined.decided_by == seller.user
    assert declined.decided_at is not None
    order.refresh_from_db()
    assert sorted(order.lines.values_list("variant", "quantity")) == [("", 1), ("M / black", 2)]
    event = order.events.get(kind=EventKind.REQUEST_DECLINED)
    assert event.actor == seller.user
    assert event.data == {
        "request_id": buyer_request.pk,
        "kind": "modification",
        "reason": "Size L is sold out.",
        "automatic": False,
    }
    notification = emails(order, "modification_declined").get()
    assert notification.event == event
    assert notification.context["reason"] == "Size L is sold out."
    assert not emails(order, "modification_approved").exists()
    _subject, text, html = render_message(
        order, "modification_declined", extra=notification.context, language="en"
    )
    assert "We could not make the item changes you asked for" in text
    assert "- T-shirt: 2 × M / black → 3 × L / black" in text
    assert "Reason: Size L is sold out." in text
    assert "Size L is sold out." in html
    with pytest.raises(InvalidInput) as excinfo:
        decline_modification(buyer_request, reason="Again", by=seller)
    assert excinfo.value.code == "already_decided"


def test_after_an_answer_the_buyer_can_ask_again(shop, seller):
    order = place(shop)
    first = ask_for_size_l(order)
    decline_modification(first, reason="Sold out", by=seller)
    second = ask_for_size_l(order)
    assert second.pk != first.pk
    assert second.status == RequestStatus.OPEN


# --- The seller edits ---------------------------------------------------------------------------------------


def test_the_seller_raises_a_quantity_and_sees_what_the_buyer_owes(shop, seller):
    order = place(shop)
    tee, cap = tee_and_cap(order)
    result = seller_modify_lines(
        order,
        lines=[
            LineSpec(
                id=tee.pk,
                sku="TEE-L-BLK",
                name="T-shirt",
                variant="L / black",
                quantity=3,
                unit_price="15.00",
            ),
            LineSpec(id=cap.pk, sku="CAP-RED", name="Cap", quantity=1, unit_price="9.50"),
        ],
        by=seller,
        expected_version=order.version,
    )
    assert (result.old_total, result.new_total, result.difference) == (
        Decimal("44.00"),
        Decimal("59.00"),
        Decimal("15.00"),
    )
    assert (result.settlement, result.amount) == ("to_pay", Decimal("15.00"))
    assert result.dropped_coupon is None
    assert result.order.total == Decimal("59.00")
    assert result.event.kind == EventKind.LINES_CHANGED
    assert result.event.actor == seller.user
    before = {line["id"]: line for line in result.event.data["before"]}
    after = {line["id"]: line for line in result.event.data["after"]}
    assert (before[tee.pk]["sku"], before[tee.pk]["quantity"]) == ("TEE-M-BLK", 2)
    assert (after[tee.pk]["sku"], after[tee.pk]["quantity"]) == ("TEE-L-BLK", 3)
    assert emails(order, "lines_changed").get().event == result.event


def test_removing_and_adding_lines_shows_the_refund(shop, seller):
    order = place(shop)
    tee, cap = tee_and_cap(order)
    result = seller_modify_lines(
        order,
        lines=[
            LineSpec(
                id=tee.pk,
                sku="TEE-M-BLK",
                name="T-shirt",
                variant="M / black",
                quantity=1,
                unit_price="15.00",
            ),
            LineSpec(sku="SOCKS", name="Socks", quantity=1, unit_price="4.00"),
        ],
        by=seller,
    )
    assert (result.difference, result.settlement, result.amount) == (
        Decimal("-20.50"),
        "to_refund",
        Decimal("20.50"),
    )
    assert sorted(order.lines.values_list("sku", "quantity")) == [("SOCKS", 1), ("TEE-M-BLK", 1)]
    assert not OrderLine.objects.filter(pk=cap.pk).exists()
    assert emails(order, "lines_changed").count() == 1


def test_an_even_swap_has_nothing_to_settle(shop, seller):
    order = place(shop)
    tee, cap = tee_and_cap(order)
    result = seller_modify_lines(
        order,
        lines=[
            LineSpec(
                id=tee.pk,
                sku="TEE-S-BLK",
                name="T-shirt",
                variant="S / black",
                quantity=2,
                unit_price="15.00",
            ),
            LineSpec(id=cap.pk, sku="CAP-RED", name="Cap", quantity=1, unit_price="9.50"),
        ],
        by=seller,
    )
    assert (result.difference, result.settlement, result.amount) == (Decimal("0.00"), "none", Decimal("0.00"))


def test_an_edit_that_changes_nothing_is_refused(shop, seller):
    order = place(shop)
    tee, cap = tee_and_cap(order)
    before = snapshot(order)
    with pytest.raises(InvalidInput) as excinfo:
        seller_modify_lines(
            order,
            lines=[
                LineSpec(id=cap.pk, sku="CAP-RED", name="Cap ", quantity=1, unit_price=Decimal("9.5")),
                LineSpec(
                    id=tee.pk,
                    sku="TEE-M-BLK",
                    name="T-shirt",
                    variant="M / black",
                    quantity=2,
                    unit_price="15",
                ),
            ],
            by=seller,
        )
    assert excinfo.value.code == "unchanged"
    assert snapshot(order) == before


def test_a_coupon_the_edit_breaks_is_explained_not_dropped(shop, seller):
    CouponFactory(
        shop=shop, code="BIG", kind=CouponKind.FIXED, value=Decimal("5"), min_subtotal=Decimal("35")
    )
    order = place(shop, coupon_code="BIG")
    tee, _cap = tee_and_cap(order)
    lines = [
        LineSpec(id=tee.pk, sku="TEE-M-BLK", name="T-shirt", variant="M / black", quantity=2, unit_price="15")
    ]
    before = snapshot(order)
    with translation.override("en"), pytest.raises(CouponRejected) as excinfo:
        seller_modify_lines(order, lines=lines, by=seller)
    assert excinfo.value.message.startswith("With these items the coupon BIG no longer applies. ")
    assert excinfo.value.message.endswith("Reason: The coupon BIG needs a subtotal of at least $35.00.")
    assert excinfo.value.details["can_drop_coupon"] is True
    assert snapshot(order) == before

    result = seller_modify_lines(order, lines=lines, by=seller, drop_coupon_if_invalid=True)
    # 39.50 - 5.00 + 4.50 = 39.00 before; 30.00 + 4.50 = 34.50 after.
    assert (result.old_total, result.new_total, result.difference) == (
        Decimal("39.00"),
        Decimal("34.50"),
        Decimal("-4.50"),
    )
    assert result.dropped_coupon == "BIG"
    assert emails(order, "lines_changed").get().context["dropped_coupon"] == "BIG"


@pytest.mark.parametrize(
    ("spec", "field", "code"),
    [
        ({"variant": "L" * 121}, "lines.0.variant", "too_long"),
        ({"sku": "S" * 65}, "lines.0.sku", "too_long"),
        ({"name": "N" * 201}, "lines.0.name", "too_long"),
        ({"quantity": 10000}, "lines.0.quantity", "invalid_quantity"),
        ({"quantity": 0}, "lines.0.quantity", "invalid"),
    ],
)
def test_wrong_lines_are_refused_with_the_field(shop, seller, spec, field, code):
    order = place(shop)
    tee, _cap = tee_and_cap(order)
    values = {
        "id": tee.pk,
        "sku": "TEE-M-BLK",
        "name": "T-shirt",
        "quantity": 2,
        "unit_price": "15.00",
        **spec,
    }
    before = snapshot(order)
    with pytest.raises(InvalidInput) as excinfo:
        seller_modify_lines(order, lines=[LineSpec(**values)], by=seller)
    assert (excinfo.value.field, excinfo.value.code) == (field, code)
    assert snapshot(order) == before


@pytest.mark.parametrize("status", [OrderStatus.PROCESSED, OrderStatus.SHIPPED, OrderStatus.CANCELLED])
def test_the_seller_cannot_edit_items_once_processed(shop, seller, status):
    order = order_in(status, shop=shop)
    tee, _cap = tee_and_cap(order)
    before = snapshot(order)
    with pytest.raises(InvalidInput) as excinfo:
        seller_modify_lines(
            order,
            lines=[LineSpec(id=tee.pk, sku="TEE", name="T-shirt", quantity=5, unit_price="15")],
            by=seller,
        )
    assert excinfo.value.code == "not_pending"
    assert snapshot(order) == before


def test_a_stale_edit_is_refused(shop, seller):
    order = place(shop)
    tee, _cap = tee_and_cap(order)
    version = order.version
    ask_for_size_l(order)
    with pytest.raises(StaleVersion):
        seller_modify_lines(
            order,
            lines=[LineSpec(id=tee.pk, sku="TEE", name="T-shirt", quantity=5, unit_price="15")],
            by=seller,
            expected_version=version,
        )


def test_a_request_of_another_shop_is_not_found(shop, other_shop, seller):
    buyer_request = ask_for_size_l(place(shop))
    with pytest.raises(BuyerRequest.DoesNotExist):
        approve_modification(buyer_request.pk, by=seller, shop=other_shop)
    with pytest.raises(BuyerRequest.DoesNotExist):
        decline_modification(buyer_request.pk, reason="No", by=seller, shop=other_shop)
    buyer_request.refresh_from_db()
    assert buyer_request.status == RequestStatus.OPEN
    assert approve_modification(buyer_request.pk, by=seller, shop=shop).status == RequestStatus.APPROVED


def test_each_step_is_a_fixed_handful_of_queries(shop, seller, django_assert_num_queries):
    """Two lines: lock, read, write, one event (+ its webhook check), one email row; savepoints counted."""
    order = place(shop)
    _tee, cap = tee_and_cap(order)
    with django_assert_num_queries(11):
        buyer_request = ask_for_size_l(order)
    with django_assert_num_queries(22):  # the approval, then modify_lines: one UPDATE per line
        approve_modification(buyer_request.pk, shop=shop, by=seller)
    with django_assert_num_queries(20):
        seller_modify_lines(
            order,
            lines=[LineSpec(id=cap.pk, sku="CAP-RED", name="Cap", quantity=2, unit_price="9.50")],
            by=seller,
        )
