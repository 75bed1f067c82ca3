"""Orders over the API: create, read, list with filters and cursors, move along the state machine, edit."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders.models import Order
from orders.services import Actor, LineSpec, request_return
from shop.models import Customer
from tests.factories import CouponFactory, order_in, place, tracking_number

from .payloads import order_payload
from .test_auth_and_errors import assert_error

pytestmark = pytest.mark.django_db


def test_create_returns_the_order_in_the_contract_shape(shop, api):
    response = api.post("/api/v1/orders/", order_payload(), format="json")
    assert response.status_code == 201, response.content
    order = response.json()
    assert order["number"].startswith("SS-")
    assert order["status"] == "pending"
    assert order["payment_status"] == "paid"
    assert order["version"] == 1
    assert response["ETag"] == '"1"'
    assert order["currency"] == "USD"
    assert (order["subtotal"], order["discount"], order["shipping_price"], order["total"]) == (
        "39.50",
        "0.00",
        "4.50",
        "44.00",
    )
    assert order["customer"]["email"] == "ada@example.net"
    assert order["shipping_address"]["country"] == "GB"
    assert [(line["sku"], line["quantity"], line["unit_price"]) for line in order["lines"]] == [
        ("TEE-M-BLK", 2, "15.00"),
        ("CAP-RED", 1, "9.50"),
    ]
    assert order["shipments"] == [] and order["returns"] == []
    assert [event["kind"] for event in order["events"]] == ["placed"]
    assert order["events"][0]["actor_kind"] == "api"
    assert order["tracking_url"].endswith("/")
    assert order["allowed_moves"] == ["processed", "cancelled"]
    assert Order.objects.get(number=order["number"]).shop == shop


def test_create_with_a_coupon_discounts_the_order(shop, api):
    CouponFactory(shop=shop, code="WELCOME10", value=10)
    response = api.post("/api/v1/orders/", order_payload(coupon_code="welcome10"), format="json")
    assert response.status_code == 201
    assert response.json()["discount"] == "3.95"
    assert response.json()["coupon_code"] == "WELCOME10"


def test_create_with_an_unknown_coupon_is_422_and_writes_nothing(api):
    response = api.post("/api/v1/orders/", order_payload(coupon_code="NOPE"), format="json")
    assert_error(response, 422, "coupon_unknown")
    assert not Order.objects.exists()


def test_detail_shows_lines_shipments_returns_and_timeline_in_fixed_queries(shop, api):
    order = order_in("delivered", shop)
    line = order.lines.first()
    request_return(order, lines={line.pk: 1}, reason="Too small", by=Actor.buyer())
    response = api.get(f"/api/v1/orders/{order.number}/")
    body = response.json()
    assert body["status"] == "delivered"
    assert body["shipments"][0]["carrier"] == "ups"
    assert body["shipments"][0]["status"] == "delivered"
    assert body["shipments"][0]["tracking_url"].startswith("https://www.ups.com/")
    assert {p["line"] for p in body["shipments"][0]["lines"]} == {line.pk for line in order.lines.all()}
    assert body["returns"][0]["status"] == "requested"
    assert [e["kind"] for e in body["events"]] == [
        "placed",
        "processed",
        "shipped",
        "delivered",
        "return_requested",
    ]

    with CaptureQueriesContext(connection) as small:
        api.get(f"/api/v1/orders/{order.number}/")
    many_lines = [
        LineSpec(sku=f"SKU-{i}", name=f"Item {i}", quantity=i + 1, unit_price=Decimal("2.00"))
        for i in range(8)
    ]
    big = order_in("delivered", shop, lines=many_lines)
    request_return(big, lines={line.pk: 1 for line in big.lines.all()}, reason="Wrong", by=Actor.buyer())
    request_return(big, lines={line.pk: 1 for line in big.lines.all()[1:]}, reason="Late", by=Actor.buyer())
    with CaptureQueriesContext(connection) as bigger:
        api.get(f"/api/v1/orders/{big.number}/")
    assert len(small) == len(bigger) <= 12


def test_list_is_newest_first_with_a_cursor(shop, api):
    now = timezone.now()
    numbers = [place(shop, placed_at=now - timedelta(minutes=i)).number for i in range(7)]
    seen, cursor = [], None
    while True:
        page = api.get("/api/v1/orders/?limit=3" + (f"&cursor={cursor}" if cursor else "")).json()
        seen += [order["number"] for order in page["results"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == numbers


def test_list_query_count_does_not_grow_with_the_page_size(shop, api):
    for _ in range(6):
        order_in("delivered", shop)
    api.get("/api/v1/orders/")  # the key's first use records last_used_at

    def queries_for(limit: int) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert len(api.get(f"/api/v1/orders/?limit={limit}").json()["results"]) == limit
        return len(queries)

    assert queries_for(1) == queries_for(6) <= 12


def test_list_filters(shop, api):
    old = place(shop, email="old@example.net", placed_at=timezone.now() - timedelta(days=10))
    unpaid = place(shop, email="unpaid@example.net", paid=False)
    shipped = order_in("shipped", shop, email="shipped@example.net")
    delivered = order_in("delivered", shop, email="back@example.net")
    request_return(delivered, lines={delivered.lines.first().pk: 1}, reason="Broken", by=Actor.buyer())

    def numbers(query: str) -> set[str]:
        response = api.get(f"/api/v1/orders/?{query}")
        assert response.status_code == 200, response.content
        return {order["number"] for order in response.json()["results"]}

    assert numbers("status=shipped") == {shipped.number}
    assert numbers("status=shipped,delivered") == {shipped.number, delivered.number}
    assert numbers("payment_status=unpaid") == {unpaid.number}
    assert numbers("late=true") == {old.number}
    assert numbers("has_open_return=true") == {delivered.number}
    assert numbers("has_open_return=false") == {old.number, unpaid.number, shipped.number}
    since = (timezone.now() - timedelta(days=1)).isoformat().replace("+", "%2B")
    assert numbers(f"placed_before={since}") == {old.number}
    assert numbers(f"placed_after={since}") == {unpaid.number, shipped.number, delivered.number}
    Order.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=9))
    assert numbers(f"updated_since={since}") == {unpaid.number, shipped.number, delivered.number}
    assert numbers(f"q={shipped.number.lower()}") == {shipped.number}
    assert numbers("q=UNPAID@example.net") == {unpaid.number}
    parcel = shipped.shipments.get()
    assert numbers(f"q={parcel.tracking_number}") == {shipped.number}
    assert numbers("q=ada buyer") == {old.number, unpaid.number, shipped.number, delivered.number}
    for query, field in (
        ("status=lost", "status"),
        ("payment_status=stolen", "payment_status"),
        ("colour=red", "colour"),
    ):
        error = assert_error(api.get(f"/api/v1/orders/?{query}"), 400, "invalid")
        assert field in error["details"]["fields"]
    assert numbers("status=shipped&format=json") == {shipped.number}
    assert_error(api.get("/api/v1/orders/?cursor=garbage"), 400, "invalid")


def test_transitions_process_ship_deliver(shop, api):
    order = place(shop)
    response = api.post(f"/api/v1/orders/{order.number}/process/", {}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "processed"

    first, second = order.lines.all()
    number = tracking_number()
    response = api.post(
        f"/api/v1/orders/{order.number}/ship/",
        {"carrier": "ups", "tracking_number": number, "lines": [{"line": first.pk, "quantity": 2}]},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "processed"  # one line still to ship
    assert body["shipments"][0]["tracking_number"] == number

    # The rest, carrier detected from the number.
    response = api.post(
        f"/api/v1/orders/{order.number}/ship/", {"tracking_number": tracking_number()}, format="json"
    )
    assert response.json()["status"] == "shipped"
    assert [p["line"] for p in response.json()["shipments"][1]["lines"]] == [second.pk]

    response = api.post(f"/api/v1/orders/{order.number}/deliver/", {}, format="json")
    assert response.json()["status"] == "delivered"
    assert all(s["status"] == "delivered" for s in response.json()["shipments"])


def test_an_illegal_move_is_409_naming_the_status_and_the_allowed_moves(shop, api):
    order = order_in("delivered", shop)
    response = api.post(
        f"/api/v1/orders/{order.number}/cancel/", {"reason": "Changed my mind"}, format="json"
    )
    error = assert_error(response, 409, "illegal_transition")
    assert error["details"]["status"] == "delivered"
    assert error["details"]["allowed"] == ["returned"]
    order.refresh_from_db()
    assert order.status == "delivered"


def test_a_blocked_move_is_409_with_the_reason(shop, api):
    order = place(shop, paid=False)
    error = assert_error(
        api.post(f"/api/v1/orders/{order.number}/process/", {}, format="json"), 409, "transition_blocked"
    )
    assert error["details"]["status"] == "pending"


def test_cancel_needs_a_reason_and_refunds_a_paid_order(shop, api):
    order = place(shop)
    assert_error(api.post(f"/api/v1/orders/{order.number}/cancel/", {}, format="json"), 400, "invalid")
    response = api.post(f"/api/v1/orders/{order.number}/cancel/", {"reason": "Out of stock"}, format="json")
    assert response.json()["status"] == "cancelled"
    assert response.json()["payment_status"] == "refunded"
    assert response.json()["cancel_reason"] == "Out of stock"


def test_ship_refuses_bad_lines_and_unknown_carriers(shop, api):
    order = order_in("processed", shop)
    assert_error(
        api.post(
            f"/api/v1/orders/{order.number}/ship/",
            {"carrier": "pigeon", "tracking_number": "X1"},
            format="json",
        ),
        422,
        "unknown_carrier",
    )
    line = order.lines.first()
    assert_error(
        api.post(
            f"/api/v1/orders/{order.number}/ship/",
            {
                "carrier": "ups",
                "tracking_number": tracking_number(),
                "lines": [{"line": line.pk, "quantity": 99}],
            },
            format="json",
        ),
        422,
        "too_many",
    )
    assert not order.shipments.exists()


def test_patch_changes_the_address_with_the_current_version(shop, api):
    order = place(shop)
    response = api.patch(
        f"/api/v1/orders/{order.number}/",
        {"version": 1, "shipping_address": {"line1": "1 New Road", "city": "Southsea"}},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["shipping_address"]["line1"] == "1 New Road"
    assert body["shipping_address"]["name"] == "Ada Buyer"  # untouched fields stay
    assert body["version"] == 2
    assert body["events"][-1]["kind"] == "address_changed"


def test_patch_with_a_stale_version_is_409_and_changes_nothing(shop, api):
    order = place(shop)
    api.post(f"/api/v1/orders/{order.number}/process/", {}, format="json")  # version 2 now
    response = api.patch(
        f"/api/v1/orders/{order.number}/",
        {"shipping_address": {"city": "Leeds"}},
        format="json",
        HTTP_IF_MATCH='"1"',
    )
    error = assert_error(response, 409, "stale_version")
    assert error["details"] == {"expected_version": 1, "current_version": 2}
    order.refresh_from_db()
    assert order.ship_city == "Portsmouth"


def test_patch_without_a_version_is_428(shop, api):
    order = place(shop)
    assert_error(
        api.patch(f"/api/v1/orders/{order.number}/", {"internal_note": "Gift wrap"}, format="json"),
        428,
        "version_required",
    )


def test_patch_adds_an_internal_note(shop, api):
    order = place(shop)
    response = api.patch(
        f"/api/v1/orders/{order.number}/",
        {"internal_note": "Gift wrap please"},
        format="json",
        HTTP_IF_MATCH='W/"1"',
    )
    assert response.status_code == 200
    assert response.json()["events"][-1]["message"] == "Gift wrap please"


def test_an_action_with_a_stale_version_is_refused(shop, api):
    order = place(shop)
    response = api.post(f"/api/v1/orders/{order.number}/process/", {"version": 7}, format="json")
    assert_error(response, 409, "stale_version")


def test_customers_are_created_per_shop(shop, api):
    api.post("/api/v1/orders/", order_payload(), format="json")
    api.post("/api/v1/orders/", order_payload(), format="json")
    customer = Customer.objects.get(shop=shop, email="ada@example.net")
    assert customer.order_count == 2
