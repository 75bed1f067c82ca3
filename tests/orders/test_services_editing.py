"""Changing the shipping address and the items of an order, and internal notes."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from orders.errors import CouponRejected, InvalidInput, StaleVersion
from orders.models import CouponKind, CouponRedemption, EventKind, Notification, OrderEvent, OrderLine
from orders.services import (
    Actor,
    LineSpec,
    ParcelSpec,
    add_note,
    change_shipping_address,
    modify_lines,
    ship_order,
)
from orders.states import OrderStatus
from tests.factories import ADDRESS, SELLER, CouponFactory, UserFactory, order_in, place, tracking_number

NEW_ADDRESS = {
    "name": "Ada Buyer",
    "line1": "3 Quay Lane",
    "city": "Bristol",
    "postal_code": "BS1 4DJ",
    "country": "gb",
}


def counts(order):
    order.refresh_from_db()
    return (
        order.status,
        order.version,
        order.total,
        OrderEvent.objects.filter(order=order).count(),
        Notification.objects.filter(order=order).count(),
        sorted(OrderLine.objects.filter(order=order).values_list("sku", "quantity", "unit_price")),
        order.ship_line1,
    )


# --- Shipping address -------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [OrderStatus.PENDING, OrderStatus.PROCESSED])
def test_the_address_changes_before_shipping(shop, status):
    order = order_in(status, shop=shop)
    version = order.version
    order = change_shipping_address(order, address=NEW_ADDRESS, by=Actor.buyer())
    order.refresh_from_db()
    assert (order.ship_line1, order.ship_city, order.ship_country) == ("3 Quay Lane", "Bristol", "GB")
    assert order.status == status
    assert order.version == version + 1
    event = order.events.order_by("id").last()
    assert event.kind == EventKind.ADDRESS_CHANGED
    assert event.actor_kind == "buyer"
    assert event.data["before"]["line1"] == ADDRESS["line1"]
    assert event.data["after"]["line1"] == "3 Quay Lane"
    assert event.data["after"]["country"] == "GB"
    notification = Notification.objects.get(order=order, template="address_changed")
    assert notification.event == event
    assert notification.recipient == order.email


@pytest.mark.parametrize(
    "status", [OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.CANCELLED, OrderStatus.RETURNED]
)
def test_the_address_is_fixed_once_shipped_or_closed(shop, status):
    order = order_in(status, shop=shop)
    before = counts(order)
    with pytest.raises(InvalidInput) as excinfo:
        change_shipping_address(order, address=NEW_ADDRESS, by=SELLER)
    assert excinfo.value.code == "already_shipped"
    assert excinfo.value.field == "shipping_address"
    assert counts(order) == before


def test_the_address_is_fixed_once_a_parcel_left(shop):
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    line = order.lines.first()
    ship_order(order, parcels=[ParcelSpec(tracking_number=tracking_number(), lines={line.pk: 1})], by=SELLER)
    before = counts(order)
    assert before[0] == OrderStatus.PROCESSED
    with pytest.raises(InvalidInput) as excinfo:
        change_shipping_address(order, address=NEW_ADDRESS, by=SELLER)
    assert excinfo.value.code == "already_shipped"
    assert counts(order) == before


def test_the_same_address_is_not_a_change(shop):
    order = order_in(OrderStatus.PENDING, shop=shop)
    before = counts(order)
    with pytest.raises(InvalidInput) as excinfo:
        change_shipping_address(order, address={**ADDRESS, "city": "  Portsmouth "}, by=SELLER)
    assert excinfo.value.code == "unchanged"
    assert counts(order) == before


def test_an_incomplete_address_names_the_missing_field(shop):
    order = order_in(OrderStatus.PENDING, shop=shop)
    before = counts(order)
    with pytest.raises(InvalidInput) as excinfo:
        change_shipping_address(order, address={**NEW_ADDRESS, "city": ""}, by=SELLER)
    assert excinfo.value.field == "shipping_address.city"
    assert counts(order) == before


def test_a_stale_address_form_is_refused(shop):
    order = order_in(OrderStatus.PENDING, shop=shop)
    before = counts(order)
    with pytest.raises(StaleVersion):
        change_shipping_address(order, address=NEW_ADDRESS, by=SELLER, expected_version=order.version - 1)
    assert counts(order) == before


# --- Items ------------------------------------------------------------------------------------------------


def specs_of(order):
    return [
        LineSpec(
            id=line.pk,
            sku=line.sku,
            name=line.name,
            variant=line.variant,
            quantity=line.quantity,
            unit_price=line.unit_price,
        )
        for line in order.lines.order_by("id")
    ]


def test_changing_quantity_and_variant_recomputes_the_totals(shop):
    order = order_in(OrderStatus.PENDING, shop=shop)  # 2 × 15.00 + 1 × 9.50, shipping 4.50
    tee, cap = specs_of(order)
    old_total = order.total
    order = modify_lines(
        order,
        lines=[
            LineSpec(
                id=tee.id,
                sku=tee.sku,
                name=tee.name,
                variant="L / black",
                quantity=3,
                unit_price=tee.unit_price,
            ),
            cap,
        ],
        by=SELLER,
    )
    order.refresh_from_db()
    assert order.subtotal == Decimal("54.50")
    assert order.total == Decimal("59.00")
    line = order.lines.get(pk=tee.id)
    assert (line.variant, line.quantity) == ("L / black", 3)
    event = order.events.order_by("id").last()
    assert event.kind == EventKind.LINES_CHANGED
    assert event.data["old_total"] == str(old_total)
    assert event.data["new_total"] == "59.00"
    assert event.data["difference"] == "15.00"
    notification = Notification.objects.get(order=order, template="lines_changed")
    assert notification.context["difference"] == "15.00"


def test_adding_and_removing_lines(shop):
    order = order_in(OrderStatus.PENDING, shop=shop)
    tee, cap = specs_of(order)
    order = modify_lines(
        order,
        lines=[tee, LineSpec(sku="SOCK", name="Socks", quantity=4, unit_price=Decimal("3.00"))],
        by=SELLER,
    )
    assert sorted(order.lines.values_list("sku", "quantity")) == [("SOCK", 4), ("TEE-M-BLK", 2)]
    assert not OrderLine.objects.filter(pk=cap.id).exists()
    order.refresh_from_db()
    assert order.subtotal == Decimal("42.00")
    assert order.total == Decimal("46.50")
    event = order.events.order_by("id").last()
    assert len(event.data["before"]) == 2
    assert {line["sku"] for line in event.data["after"]} == {"TEE-M-BLK", "SOCK"}


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        ([], "lines"),
        ([LineSpec(sku="A", name="A", quantity=0, unit_price=Decimal("1"))], "lines.0.quantity"),
        ([LineSpec(sku="A", name="A", quantity=1, unit_price=Decimal("-1"))], "lines.0.unit_price"),
        ([LineSpec(sku="", name="A", quantity=1, unit_price=Decimal("1"))], "lines.0"),
        ([LineSpec(id=10**9, sku="A", name="A", quantity=1, unit_price=Decimal("1"))], "lines"),
    ],
    ids=["no-lines", "zero-quantity", "negative-price", "no-sku", "unknown-line"],
)
def test_wrong_items_are_refused(shop, lines, field):
    order = order_in(OrderStatus.PENDING, shop=shop)
    before = counts(order)
    with pytest.raises(InvalidInput) as excinfo:
        modify_lines(order, lines=lines, by=SELLER)
    assert excinfo.value.field == field
    assert counts(order) == before


@pytest.mark.parametrize("status", [OrderStatus.PROCESSED, OrderStatus.SHIPPED, OrderStatus.CANCELLED])
def test_items_are_fixed_once_processed(shop, status):
    order = order_in(status, shop=shop)
    before = counts(order)
    with pytest.raises(InvalidInput) as excinfo:
        modify_lines(order, lines=specs_of(order), by=SELLER)
    assert excinfo.value.code == "not_pending"
    assert counts(order) == before


def test_the_coupon_discount_follows_the_new_items(shop):
    CouponFactory(shop=shop, code="TENOFF", kind=CouponKind.PERCENTAGE, value=Decimal("10"))
    order = place(shop, coupon_code="TENOFF")
    assert order.discount == Decimal("3.95")
    tee, _cap = specs_of(order)
    order = modify_lines(order, lines=[tee], by=SELLER)
    order.refresh_from_db()
    assert order.discount == Decimal("3.00")
    assert order.total == Decimal("31.50")
    assert CouponRedemption.objects.get(order=order).amount == Decimal("3.00")


def test_a_coupon_that_no_longer_applies_refuses_the_change(shop):
    coupon = CouponFactory(
        shop=shop, code="BIG", kind=CouponKind.FIXED, value=Decimal("5"), min_subtotal=Decimal("35")
    )
    order = place(shop, coupon_code="BIG")
    tee, _cap = specs_of(order)
    before = counts(order)
    with pytest.raises(CouponRejected) as excinfo:
        modify_lines(order, lines=[tee], by=SELLER)  # 30.00 < 35.00
    assert excinfo.value.code == "coupon_min_subtotal"
    assert excinfo.value.field == "coupon_code"
    assert counts(order) == before
    coupon.refresh_from_db()
    assert coupon.times_used == 1
    assert CouponRedemption.objects.filter(order=order, released_at__isnull=True).exists()


def test_a_coupon_that_no_longer_applies_can_be_dropped(shop):
    coupon = CouponFactory(
        shop=shop, code="BIG", kind=CouponKind.FIXED, value=Decimal("5"), min_subtotal=Decimal("35")
    )
    order = place(shop, coupon_code="BIG")
    tee, _cap = specs_of(order)
    order = modify_lines(order, lines=[tee], by=SELLER, drop_coupon_if_invalid=True)
    order.refresh_from_db()
    assert order.coupon is None
    assert order.discount == Decimal("0.00")
    assert order.total == Decimal("34.50")
    coupon.refresh_from_db()
    assert coupon.times_used == 0
    assert not CouponRedemption.objects.filter(order=order, released_at__isnull=True).exists()
    event = order.events.order_by("id").last()
    assert event.data["dropped_coupon"] == "BIG"
    assert Notification.objects.get(order=order, template="lines_changed").context["dropped_coupon"] == "BIG"


def test_a_used_up_coupon_stays_on_the_order_that_holds_it(shop):
    coupon = CouponFactory(shop=shop, code="ONCE", usage_limit=1)
    order = place(shop, coupon_code="ONCE")
    tee, cap = specs_of(order)
    order = modify_lines(
        order,
        lines=[tee, LineSpec(id=cap.id, sku=cap.sku, name=cap.name, quantity=2, unit_price=cap.unit_price)],
        by=SELLER,
    )
    order.refresh_from_db()
    assert order.coupon == coupon
    coupon.refresh_from_db()
    assert coupon.times_used == 1


def test_a_coupon_that_expired_since_the_order_was_placed_still_holds(shop):
    """The buyer was promised the discount when they ordered; editing a size later must not take it away."""
    coupon = CouponFactory(shop=shop, code="SUMMER", valid_until=timezone.now() + timedelta(hours=1))
    order = place(shop, coupon_code="SUMMER")
    coupon.valid_until = order.placed_at + timedelta(microseconds=1)  # expired right after the order
    coupon.save()
    tee, _cap = specs_of(order)
    order = modify_lines(order, lines=[tee], by=SELLER)
    order.refresh_from_db()
    assert order.coupon == coupon
    assert order.discount == Decimal("3.00")


# --- Notes ------------------------------------------------------------------------------------------------


def test_a_note_is_on_the_timeline_but_the_buyer_is_not_told(shop):
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    user = UserFactory()
    notifications = Notification.objects.filter(order=order).count()
    add_note(order, text="  Gift wrap, please  ", by=Actor.seller(user))
    event = order.events.order_by("id").last()
    assert (event.kind, event.message, event.actor, event.actor_kind) == (
        EventKind.NOTE,
        "Gift wrap, please",
        user,
        "seller",
    )
    assert Notification.objects.filter(order=order).count() == notifications


def test_an_empty_note_is_refused(shop):
    order = order_in(OrderStatus.PENDING, shop=shop)
    before = counts(order)
    with pytest.raises(InvalidInput) as excinfo:
        add_note(order, text="   ", by=SELLER)
    assert excinfo.value.code == "empty"
    assert counts(order) == before


def test_deactivating_a_coupon_does_not_take_it_off_a_pending_order(shop):
    from orders.models import Coupon

    CouponFactory(shop=shop, code="TENOFF", value=Decimal("10"))
    order = place(shop, coupon_code="TENOFF")
    Coupon.objects.filter(code="TENOFF").update(is_active=False)
    line = order.lines.first()
    order = modify_lines(
        order,
        lines=[
            LineSpec(
                id=line.pk,
                sku=line.sku,
                name=line.name,
                quantity=line.quantity + 1,
                unit_price=line.unit_price,
            )
        ],
        by=Actor.system(),
    )
    assert order.coupon is not None and order.coupon.code == "TENOFF"
    assert order.discount == (order.subtotal * Decimal("0.10")).quantize(Decimal("0.01"))
