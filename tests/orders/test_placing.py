"""Placing an order: numbers, the buyer's link, the customer; bad input is refused and nothing is written."""

import math
import re
from decimal import Decimal

import pytest

from orders.errors import InvalidInput
from orders.models import EventKind, Notification, Order, OrderEvent, OrderLine
from orders.services import LineSpec, place_order
from orders.states import OrderStatus, PaymentMethod, PaymentStatus
from shop.models import Customer
from tests.factories import ADDRESS, ShopFactory, place, two_lines


def test_numbers_follow_each_other_per_shop(shop, other_shop):
    assert [place(shop).number for _ in range(2)] == ["SS-100001", "SS-100002"]
    assert place(other_shop).number == "SS-100001"
    assert place(shop).number == "SS-100003"


def test_the_shop_prefix_is_used(db):
    shop = ShopFactory(order_prefix="TEE", last_order_number=4999)
    assert place(shop).number == "TEE-5000"


def test_the_tracking_link_token_is_long_and_random(shop):
    orders = [place(shop) for _ in range(5)]
    tokens = [order.public_token for order in orders]
    assert len(set(tokens)) == len(tokens)
    for order in orders:
        token = order.public_token
        assert re.fullmatch(r"[A-Za-z0-9_-]+", token)
        assert len(token) * math.log2(64) >= 128  # URL-safe base64: 6 bits a character
        assert order.number.split("-")[1] not in token


def test_a_placed_order(shop):
    order = place(
        shop,
        email="  Ada.Buyer@Example.NET ",
        shipping_price=Decimal("4.50"),
        tax=Decimal("2.00"),
        note="  Leave at the door ",
        customer_phone="+44 1234",
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    assert order.payment_status == PaymentStatus.PAID
    assert order.email == "ada.buyer@example.net"
    assert order.customer.email == "ada.buyer@example.net"
    assert order.customer.name == "Ada Buyer"
    assert order.customer.phone == "+44 1234"
    assert order.currency == shop.currency
    assert (order.subtotal, order.discount, order.total) == (
        Decimal("39.50"),
        Decimal("0.00"),
        Decimal("46.00"),
    )
    assert order.note == "Leave at the door"
    assert order.ship_country == "GB"
    assert order.version == 1
    assert sorted(order.lines.values_list("sku", "quantity")) == [("CAP-RED", 1), ("TEE-M-BLK", 2)]
    event = order.events.get()
    assert (event.kind, event.data["total"]) == (EventKind.PLACED, "46.00")
    notification = Notification.objects.get(order=order)
    assert (notification.template, notification.recipient, notification.event) == (
        "order_confirmed",
        order.email,
        event,
    )


def test_a_returning_buyer_is_the_same_customer(shop):
    first = place(shop, email="ada@example.net")
    second = place(shop, email="ADA@example.net", customer_name="Ada B.")
    assert first.customer_id == second.customer_id
    customer = Customer.objects.get(pk=first.customer_id)
    assert customer.order_count == 2
    assert customer.name == "Ada B."
    assert Customer.objects.filter(shop=shop).count() == 1


def test_customers_belong_to_one_shop(shop, other_shop):
    assert place(shop).customer_id != place(other_shop).customer_id


def everything_written():
    return (
        Order.objects.count(),
        OrderLine.objects.count(),
        OrderEvent.objects.count(),
        Notification.objects.count(),
        Customer.objects.count(),
    )


def line(**changes):
    values = {"sku": "MUG", "name": "Mug", "quantity": 1, "unit_price": Decimal("8.00")}
    return LineSpec(**{**values, **changes})


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"address": {**ADDRESS, "line1": "  "}}, "shipping_address.line1"),
        ({"address": {**ADDRESS, "name": ""}}, "shipping_address.name"),
        ({"address": {**ADDRESS, "country": "Britain"}}, "shipping_address.country"),
        ({"address": {**ADDRESS, "planet": "Earth"}}, "shipping_address"),
        ({"lines": []}, "lines"),
        ({"lines": [line(), line(quantity=0)]}, "lines.1.quantity"),
        ({"lines": [line(unit_price=Decimal("-0.01"))]}, "lines.0.unit_price"),
        ({"lines": [line(sku=" ")]}, "lines.0"),
        ({"shipping_price": Decimal("-1")}, "shipping_price"),
        ({"tax": Decimal("-1")}, "tax"),
        ({"email": "not-an-email"}, "customer.email"),
        ({"payment_method": "iou"}, "payment_method"),
        ({"payment_status": PaymentStatus.REFUNDED}, "payment_status"),
    ],
    ids=[
        "no-street",
        "no-name",
        "bad-country",
        "unknown-address-field",
        "no-lines",
        "zero-quantity",
        "negative-price",
        "no-sku",
        "negative-shipping",
        "negative-tax",
        "bad-email",
        "unknown-payment-method",
        "refunded-new-order",
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(shop, changes, field):
    arguments = {
        "shop": shop,
        "email": "ada@example.net",
        "address": ADDRESS,
        "lines": two_lines(),
        "payment_method": PaymentMethod.CARD,
        **changes,
    }
    before = everything_written()
    with pytest.raises(InvalidInput) as excinfo:
        place_order(**arguments)
    assert excinfo.value.field == field
    assert excinfo.value.details["field"] == field
    assert everything_written() == before
    shop.refresh_from_db()
    assert shop.last_order_number == 100000


def test_a_refused_order_does_not_use_up_a_number(shop):
    with pytest.raises(InvalidInput):
        place(shop, coupon_code="NOSUCHCODE")
    assert place(shop).number == "SS-100001"
