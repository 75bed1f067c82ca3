"""PATCH /api/v1/orders/{number}/lines/: the seller's (or storefront's) edit of a pending order's items."""

from decimal import Decimal

import pytest
from django.forms.models import model_to_dict

from orders.models import CouponKind, EventKind, Notification, Order, OrderEvent, OrderLine
from orders.services import process_order
from tests.factories import SELLER, CouponFactory, ShopFactory, place
from tests.orders.test_concurrency import run_together

from .conftest import client_for, openapi_schema
from .test_auth_and_errors import assert_error

pytestmark = pytest.mark.django_db


def lines_of(order: Order) -> list[dict]:
    """The order's lines as the API takes them back."""
    return [
        {
            "id": line.pk,
            "sku": line.sku,
            "name": line.name,
            "variant": line.variant,
            "quantity": line.quantity,
            "unit_price": str(line.unit_price),
        }
        for line in order.lines.order_by("id")
    ]


def snapshot(order: Order) -> dict:
    order = Order.objects.get(pk=order.pk)
    return {
        "order": model_to_dict(order) | {"version": order.version},
        "lines": [model_to_dict(line) for line in OrderLine.objects.filter(order=order).order_by("id")],
        "events": OrderEvent.objects.filter(order=order).count(),
        "emails": Notification.objects.filter(order=order).count(),
    }


def patch_lines(api, order: Order, body: dict, **headers):
    return api.patch(f"/api/v1/orders/{order.number}/lines/", body, format="json", **headers)


def test_an_edit_keeps_listed_lines_adds_new_ones_removes_the_rest(shop, api):
    order = place(shop)  # T-shirt 2 × 15.00, Cap 1 × 9.50, shipping 4.50: 44.00
    tee, cap = lines_of(order)
    body = {
        "version": order.version,
        "lines": [
            {**tee, "variant": "L / black", "quantity": 3},
            {"sku": "SOCK-1", "name": "Socks", "variant": "", "quantity": 2, "unit_price": "4.00"},
        ],
    }

    response = patch_lines(api, order, body)

    assert response.status_code == 200, response.content
    result = response.json()
    assert (result["old_total"], result["new_total"]) == ("44.00", "57.50")
    assert (result["difference"], result["settlement"], result["amount"]) == ("13.50", "to_pay", "13.50")
    assert result["dropped_coupon"] is None
    changed = result["order"]
    assert changed["version"] == order.version + 1
    assert response["ETag"] == f'"{order.version + 1}"'
    assert changed["total"] == "57.50"
    assert [(line["sku"], line["variant"], line["quantity"]) for line in changed["lines"]] == [
        ("TEE-M-BLK", "L / black", 3),
        ("SOCK-1", "", 2),
    ]
    assert changed["lines"][0]["id"] == tee["id"]  # kept its id
    assert not OrderLine.objects.filter(pk=cap["id"]).exists()
    event = OrderEvent.objects.get(order=order, kind=EventKind.LINES_CHANGED)
    assert event.actor_kind == "api"
    assert event.data["difference"] == "13.50"
    assert changed["events"][-1]["kind"] == "lines_changed"
    emails = Notification.objects.filter(order=order)
    assert [n.template for n in emails if n.template == "lines_changed"] == ["lines_changed"]


def test_a_smaller_order_is_a_refund_and_the_version_can_come_in_if_match(shop, api):
    order = place(shop)
    tee, cap = lines_of(order)

    response = patch_lines(
        api, order, {"lines": [{**tee, "quantity": 1}, cap]}, HTTP_IF_MATCH=f'"{order.version}"'
    )

    assert response.status_code == 200, response.content
    result = response.json()
    assert (result["old_total"], result["new_total"]) == ("44.00", "29.00")
    assert (result["difference"], result["settlement"], result["amount"]) == ("-15.00", "to_refund", "15.00")
    assert Notification.objects.filter(order=order, template="lines_changed").count() == 1


def test_without_a_version_it_is_428_and_nothing_changes(shop, api):
    order = place(shop)
    tee, cap = lines_of(order)
    before = snapshot(order)
    response = patch_lines(api, order, {"lines": [{**tee, "quantity": 5}, cap]})
    assert_error(response, 428, "version_required")
    assert snapshot(order) == before


def test_a_stale_version_is_409_with_the_current_version(shop, api):
    order = place(shop)
    tee, cap = lines_of(order)
    first = patch_lines(api, order, {"version": order.version, "lines": [{**tee, "quantity": 3}, cap]})
    assert first.status_code == 200
    before = snapshot(order)

    response = patch_lines(api, order, {"version": order.version, "lines": [{**tee, "quantity": 5}, cap]})

    error = assert_error(response, 409, "stale_version")
    assert error["details"] == {"expected_version": order.version, "current_version": order.version + 1}
    assert snapshot(order) == before


def test_an_order_no_longer_pending_is_409_naming_its_status(shop, api):
    order = place(shop)
    tee, cap = lines_of(order)
    order = process_order(order, by=SELLER)
    before = snapshot(order)

    response = patch_lines(api, order, {"version": order.version, "lines": [{**tee, "quantity": 3}, cap]})

    error = assert_error(response, 409, "not_pending")
    assert error["details"]["status"] == "processed"
    assert error["details"]["field"] == "lines"
    assert snapshot(order) == before


@pytest.mark.parametrize("quantity", [0, -1])
def test_a_quantity_below_one_is_400_naming_the_field(shop, api, quantity):
    order = place(shop)
    tee, cap = lines_of(order)
    before = snapshot(order)
    response = patch_lines(
        api, order, {"version": order.version, "lines": [tee, {**cap, "quantity": quantity}]}
    )
    error = assert_error(response, 400, "invalid")
    assert list(error["details"]["fields"]["lines"]["1"]) == ["quantity"]
    assert snapshot(order) == before


def test_an_unknown_line_is_422_naming_its_place(shop, other_shop, api):
    order = place(shop)
    stranger = place(other_shop).lines.first()  # a real line, of another shop's order
    tee, cap = lines_of(order)
    before = snapshot(order)
    response = patch_lines(api, order, {"version": order.version, "lines": [tee, {**cap, "id": stranger.pk}]})
    error = assert_error(response, 422, "unknown_line")
    assert error["details"]["field"] == "lines.1.id"
    assert error["details"]["lines"] == [stranger.pk]
    assert snapshot(order) == before
    assert OrderLine.objects.filter(pk=stranger.pk, quantity=stranger.quantity).exists()


def test_no_lines_is_400(shop, api):
    order = place(shop)
    before = snapshot(order)
    for body in ({"version": order.version, "lines": []}, {"version": order.version}):
        error = assert_error(patch_lines(api, order, body), 400, "invalid")
        assert "lines" in error["details"]["fields"]
    assert snapshot(order) == before


def test_a_line_listed_twice_is_400_naming_the_second(shop, api):
    order = place(shop)
    tee, cap = lines_of(order)
    response = patch_lines(
        api, order, {"version": order.version, "lines": [tee, cap, {**tee, "quantity": 9}]}
    )
    error = assert_error(response, 400, "invalid")
    assert error["details"]["fields"]["lines"]["2"] == {
        "id": ["This line is listed twice; list each line once."]
    }


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"sku": "X" * 65}, "sku"),
        ({"variant": "V" * 121}, "variant"),
        ({"quantity": 10_000}, "quantity"),
        ({"unit_price": "-1.00"}, "unit_price"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_line_fields_are_400_naming_the_field(shop, api, change, field):
    order = place(shop)
    tee, cap = lines_of(order)
    response = patch_lines(api, order, {"version": order.version, "lines": [tee, {**cap, **change}]})
    error = assert_error(response, 400, "invalid")
    assert field in error["details"]["fields"]["lines"]["1"]


def test_a_total_too_large_for_the_columns_is_400(shop, api):
    order = place(shop)
    tee, cap = lines_of(order)
    huge = {**tee, "quantity": 9999, "unit_price": "9999999999.99"}
    error = assert_error(
        patch_lines(api, order, {"version": order.version, "lines": [huge, cap]}), 400, "invalid"
    )
    assert "lines" in error["details"]["fields"]


def test_an_edit_that_changes_nothing_is_422_unchanged(shop, api):
    order = place(shop)
    before = snapshot(order)
    response = patch_lines(api, order, {"version": order.version, "lines": lines_of(order)})
    assert_error(response, 422, "unchanged")
    assert snapshot(order) == before


def test_a_coupon_the_edit_breaks_is_422_with_a_hint_then_dropped_on_request(shop, api):
    CouponFactory(
        shop=shop, code="BIG", kind=CouponKind.FIXED, value=Decimal("5"), min_subtotal=Decimal("35")
    )
    order = place(shop, coupon_code="BIG")  # 39.50 of items, 5.00 off: 39.00
    tee, cap = lines_of(order)
    body = {"version": order.version, "lines": [{**tee, "quantity": 1}, cap]}
    before = snapshot(order)

    refused = patch_lines(api, order, body, HTTP_ACCEPT_LANGUAGE="en")

    error = assert_error(refused, 422, "coupon_min_subtotal")
    assert error["message"].startswith("With these items the coupon BIG no longer applies.")
    assert "needs a subtotal of at least $35.00" in error["message"]
    assert error["details"]["can_drop_coupon"] is True
    assert error["details"]["coupon_code"] == "BIG"
    assert "drop_coupon_if_invalid" in error["details"]["hint"]
    assert snapshot(order) == before

    dropped = patch_lines(api, order, {**body, "drop_coupon_if_invalid": True})

    assert dropped.status_code == 200, dropped.content
    result = dropped.json()
    assert result["dropped_coupon"] == "BIG"
    assert result["order"]["coupon_code"] is None
    assert (result["old_total"], result["new_total"], result["difference"]) == ("39.00", "29.00", "-10.00")
    assert Notification.objects.filter(order=order, template="lines_changed").count() == 1


def test_another_shops_order_is_404(shop, other_api):
    order = place(shop)
    before = snapshot(order)
    response = patch_lines(other_api, order, {"version": order.version, "lines": lines_of(order)})
    assert_error(response, 404, "not_found")
    assert snapshot(order) == before


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_clients_saving_the_same_version_at_once_one_wins_one_gets_409():
    openapi_schema()  # built once here, not inside the racing threads
    shop = ShopFactory()
    order = place(shop)
    tee, cap = lines_of(order)
    clients = [client_for(shop), client_for(shop)]
    bodies = [
        {"version": order.version, "lines": [{**tee, "quantity": quantity}, cap]} for quantity in (3, 5)
    ]

    outcomes = run_together(
        [lambda n=n: patch_lines(clients[n], order, bodies[n]) for n in range(2)], threads=2
    )

    assert all(outcome.ok for outcome in outcomes), [outcome.error for outcome in outcomes]
    statuses = sorted(outcome.value.status_code for outcome in outcomes)
    assert statuses == [200, 409]
    loser = next(outcome.value for outcome in outcomes if outcome.value.status_code == 409)
    assert loser.json()["error"]["code"] == "stale_version"
    assert loser.json()["error"]["details"]["current_version"] == order.version + 1
    winner = next(outcome.value for outcome in outcomes if outcome.value.status_code == 200)
    assert Order.objects.get(pk=order.pk).version == order.version + 1 == winner.json()["order"]["version"]
    assert OrderLine.objects.get(pk=tee["id"]).quantity == winner.json()["order"]["lines"][0]["quantity"]
    assert OrderEvent.objects.filter(order=order, kind=EventKind.LINES_CHANGED).count() == 1
    assert Notification.objects.filter(order=order, template="lines_changed").count() == 1
