"""Coupon rules as a buyer meets them at checkout, and the uses a coupon holds."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from orders.errors import CouponRejected
from orders.models import Coupon, CouponKind, CouponRedemption, Order
from orders.services import cancel_order, quote_coupon
from orders.services.coupons import discount_for
from shop.models import Customer
from tests.factories import SELLER, CouponFactory, place, two_lines

# two_lines(): 2 × 15.00 + 1 × 9.50 = 39.50 for 3 items; place() adds 4.50 shipping.


def refused(shop, coupon_code, *, email="ada@example.net", **kwargs):
    orders, customers = Order.objects.count(), Customer.objects.count()
    with pytest.raises(CouponRejected) as excinfo:
        place(shop, email=email, coupon_code=coupon_code, **kwargs)
    assert excinfo.value.field == "coupon_code"
    assert excinfo.value.details["coupon_code"] == coupon_code
    assert (Order.objects.count(), Customer.objects.count()) == (orders, customers)
    return excinfo.value


@pytest.mark.parametrize(
    ("attributes", "reason"),
    [
        ({"is_active": False}, "inactive"),
        ({"valid_until": timezone.now() - timedelta(days=1)}, "expired"),
        ({"valid_from": timezone.now() + timedelta(days=1)}, "not_yet_valid"),
        ({"usage_limit": 2, "times_used": 2}, "used_up"),
        ({"min_subtotal": Decimal("39.51")}, "min_subtotal"),
        ({"min_quantity": 4}, "min_quantity"),
        ({"returning_customers_only": True}, "returning_only"),
    ],
)
def test_a_coupon_that_does_not_apply_is_refused_with_its_rule(shop, attributes, reason):
    CouponFactory(shop=shop, code="DEAL", **attributes)
    error = refused(shop, "DEAL")
    assert error.reason == reason
    assert error.code == f"coupon_{reason}"
    assert error.http_status == 422


@pytest.mark.parametrize(
    "attributes",
    [
        {"valid_from": timezone.now() - timedelta(days=1), "valid_until": timezone.now() + timedelta(days=1)},
        {"usage_limit": 2, "times_used": 1},
        {"min_subtotal": Decimal("39.50")},
        {"min_quantity": 3},
    ],
    ids=["within-dates", "one-use-left", "subtotal-just-enough", "quantity-just-enough"],
)
def test_a_coupon_at_the_edge_of_its_rules_applies(shop, attributes):
    CouponFactory(shop=shop, code="DEAL", **attributes)
    assert place(shop, coupon_code="DEAL").discount == Decimal("3.95")


def test_an_unknown_code_is_refused(shop):
    assert refused(shop, "NOPE").reason == "unknown"


def test_another_shops_coupon_is_unknown_here(shop, other_shop):
    CouponFactory(shop=other_shop, code="THEIRS")
    assert refused(shop, "THEIRS").reason == "unknown"


def test_codes_are_matched_whatever_the_case(shop):
    coupon = CouponFactory(shop=shop, code="Summer10")
    order = place(shop, coupon_code="  sUMMER10 ")
    assert order.coupon == coupon


def test_usage_limit_counts_uses_across_buyers(shop):
    coupon = CouponFactory(shop=shop, code="FIRST2", usage_limit=2)
    place(shop, email="a@example.net", coupon_code="FIRST2")
    place(shop, email="b@example.net", coupon_code="FIRST2")
    assert refused(shop, "FIRST2", email="c@example.net").reason == "used_up"
    coupon.refresh_from_db()
    assert coupon.times_used == 2


def test_per_customer_limit(shop):
    CouponFactory(shop=shop, code="ONEEACH", per_customer_limit=1)
    place(shop, email="ada@example.net", coupon_code="ONEEACH")
    assert refused(shop, "ONEEACH", email="ADA@example.net").reason == "per_customer_limit"
    assert place(shop, email="bob@example.net", coupon_code="ONEEACH").coupon is not None


def test_a_cancelled_order_gives_the_buyer_their_use_back(shop):
    CouponFactory(shop=shop, code="ONEEACH", per_customer_limit=1)
    order = place(shop, coupon_code="ONEEACH")
    cancel_order(order, reason="Ordered the wrong size", by=SELLER)
    assert place(shop, coupon_code="ONEEACH").coupon is not None


def test_returning_customers_only(shop):
    CouponFactory(shop=shop, code="WELCOMEBACK", returning_customers_only=True)
    assert refused(shop, "WELCOMEBACK").reason == "returning_only"
    place(shop)  # the first order, without the coupon
    order = place(shop, coupon_code="WELCOMEBACK")
    assert order.discount == Decimal("3.95")


def test_a_cancelled_first_order_does_not_make_a_returning_customer(shop):
    CouponFactory(shop=shop, code="WELCOMEBACK", returning_customers_only=True)
    cancel_order(place(shop), reason="Changed my mind", by=SELLER)
    assert refused(shop, "WELCOMEBACK").reason == "returning_only"


def test_a_quote_without_a_known_customer_for_returning_only(shop):
    coupon = CouponFactory(shop=shop, code="WELCOMEBACK", returning_customers_only=True)
    with pytest.raises(CouponRejected) as excinfo:
        quote_coupon(coupon, customer=None, subtotal=Decimal("10"), quantity=1, shipping_price=Decimal("0"))
    assert excinfo.value.reason == "returning_only"


# --- Discounts --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value", "subtotal", "shipping", "discount"),
    [
        (CouponKind.PERCENTAGE, "10", "39.50", "4.50", "3.95"),
        (CouponKind.PERCENTAGE, "15", "0.10", "0", "0.02"),  # 0.015 rounds half up
        (CouponKind.PERCENTAGE, "33", "10.01", "0", "3.30"),  # 3.3033 rounds down
        (CouponKind.PERCENTAGE, "100", "39.50", "4.50", "39.50"),
        (CouponKind.FIXED, "5", "39.50", "4.50", "5"),
        (CouponKind.FIXED, "50", "39.50", "4.50", "39.50"),  # never more than the items
        (CouponKind.FREE_SHIPPING, "0", "39.50", "4.50", "4.50"),
        (CouponKind.FREE_SHIPPING, "0", "39.50", "0", "0"),
    ],
)
def test_the_discount_of_each_kind(kind, value, subtotal, shipping, discount):
    coupon = Coupon(kind=kind, value=Decimal(value))
    assert discount_for(coupon, subtotal=Decimal(subtotal), shipping_price=Decimal(shipping)) == Decimal(
        discount
    )


def test_order_totals_with_each_kind(shop):
    CouponFactory(shop=shop, code="PCT", kind=CouponKind.PERCENTAGE, value=Decimal("10"))
    CouponFactory(shop=shop, code="FIX", kind=CouponKind.FIXED, value=Decimal("50"))
    CouponFactory(shop=shop, code="SHIP", kind=CouponKind.FREE_SHIPPING)
    assert place(shop, email="a@example.net", coupon_code="PCT").total == Decimal("40.05")
    assert place(shop, email="b@example.net", coupon_code="FIX").total == Decimal("4.50")
    assert place(shop, email="c@example.net", coupon_code="SHIP").total == Decimal("39.50")


# --- Uses held and released -------------------------------------------------------------------------------


def test_placing_takes_a_use_and_cancelling_gives_it_back(shop):
    coupon = CouponFactory(shop=shop, code="TAKEONE", usage_limit=1)
    order = place(shop, coupon_code="TAKEONE", lines=two_lines())
    coupon.refresh_from_db()
    assert coupon.times_used == 1
    redemption = CouponRedemption.objects.get(order=order)
    assert (redemption.coupon, redemption.customer, redemption.amount) == (
        coupon,
        order.customer,
        Decimal("3.95"),
    )
    assert redemption.released_at is None
    assert order.events.get(kind="placed").data["coupon"] == "TAKEONE"

    order = cancel_order(order, reason="Out of stock", by=SELLER)
    coupon.refresh_from_db()
    redemption.refresh_from_db()
    assert coupon.times_used == 0
    assert redemption.released_at is not None
    assert order.events.get(kind="cancelled").data["coupon_released"] is True
    # The use is free again for someone else.
    assert place(shop, email="bob@example.net", coupon_code="TAKEONE").coupon == coupon


def test_cancelling_an_order_without_a_coupon_releases_nothing(shop):
    coupon = CouponFactory(shop=shop, code="UNUSED", times_used=0)
    order = cancel_order(place(shop), reason="Out of stock", by=SELLER)
    assert order.events.get(kind="cancelled").data["coupon_released"] is False
    coupon.refresh_from_db()
    assert coupon.times_used == 0
