"""The order list and detail render plain values (orders/api/representations.py) instead of running
``OrderOutput`` over model instances: the JSON must be the same, key for key, for orders in every state."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders import selectors
from orders.api.representations import order_json
from orders.api.serializers import OrderOutput
from orders.services import Actor, ParcelSpec, add_note, request_return, ship_order
from shop.demo_data import SCENARIOS, generate_orders
from tests.factories import CouponFactory, order_in, place, return_everything, tracking_number

pytestmark = pytest.mark.django_db


def as_json(data) -> object:
    return json.loads(json.dumps(data))


def assert_same_json(expected: dict, actual: dict) -> None:
    expected, actual = as_json(expected), as_json(actual)
    assert list(actual) == list(expected)
    for key in expected:
        assert actual[key] == expected[key], f"{expected['number']}: {key} differs"


def test_every_demo_scenario_renders_as_the_serializer_does(shop):
    generate_orders(shop, 3 * len(SCENARIOS), showcase=2, notifications=False)
    models, next_models = selectors.order_list_for_shop(shop, limit=100)
    records, next_records = selectors.order_records_for_shop(shop, limit=100)
    assert next_models is next_records is None
    assert [record["number"] for record in records] == [order.number for order in models]
    assert {order.status for order in models} >= {"pending", "processed", "shipped", "delivered", "cancelled"}
    assert any(order.shipments.all() for order in models) and any(order.returns.all() for order in models)
    for order, record in zip(models, records, strict=True):
        assert_same_json(OrderOutput(order).data, order_json(record))


def test_detail_of_orders_built_by_the_services_renders_as_the_serializer_does(shop):
    coupon = CouponFactory(shop=shop, code="TENOFF")
    split = order_in("processed", shop, coupon_code=coupon.code)
    first, _ = split.lines.all()
    split = ship_order(
        split,
        parcels=[
            ParcelSpec(
                tracking_number=tracking_number(),
                lines={first.pk: first.quantity},
                estimated_delivery=timezone.localdate() + timedelta(days=3),
            )
        ],
        by=Actor(),
    )
    split = ship_order(split, parcels=[ParcelSpec(no_tracking=True, carrier_code="ups")], by=Actor())
    add_note(split, text="Gift wrap", by=Actor())
    delivered = order_in("delivered", shop)
    request_return(delivered, lines={delivered.lines.first().pk: 1}, reason="Too small", by=Actor.buyer())
    orders = [
        place(shop, paid=False, placed_at=timezone.now() - timedelta(days=30)),
        order_in("cancelled", shop),
        order_in("returned", shop),
        split,
        delivered,
        return_everything(order_in("delivered", shop)),
    ]
    for order in orders:
        expected = OrderOutput(selectors.order_detail_for_shop(shop, order.number)).data
        assert_same_json(expected, order_json(selectors.order_record_for_shop(shop, order.number.lower())))
    with timezone.override("America/New_York"):  # times are given in the current time zone, as DRF does
        expected = OrderOutput(selectors.order_detail_for_shop(shop, split.number)).data
        assert expected["placed_at"].endswith(("-05:00", "-04:00"))
        assert_same_json(expected, order_json(selectors.order_record_for_shop(shop, split.number)))
    with pytest.raises(selectors.Order.DoesNotExist):
        selectors.order_record_for_shop(shop, "SS-NOPE")


def test_a_full_page_of_records_takes_six_queries_whatever_its_size(shop):
    for status in ("delivered", "shipped", "processed"):
        order_in(status, shop)
    delivered = order_in("delivered", shop)
    request_return(delivered, lines={delivered.lines.first().pk: 1}, reason="Broken", by=Actor.buyer())

    def queries_for(limit: int) -> int:
        with CaptureQueriesContext(connection) as queries:
            records, _ = selectors.order_records_for_shop(shop, limit=limit)
        assert len(records) == limit
        return len(queries)

    # the page, lines, parcels with their lines, scans, returns with their lines, the timeline
    assert queries_for(1) == queries_for(4) == 6
