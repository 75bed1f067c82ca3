"""Returns, coupons, customers, shipments and the events feed over the API."""

import pytest

from orders.models import Coupon
from tests.factories import CouponFactory, order_in, place

from .test_auth_and_errors import assert_error

pytestmark = pytest.mark.django_db


def test_a_return_from_request_to_refund(shop, api):
    order = order_in("delivered", shop)
    lines = [{"line": line.pk, "quantity": line.quantity} for line in order.lines.all()]
    response = api.post(
        f"/api/v1/orders/{order.number}/returns/", {"reason": "Too small", "lines": lines}, format="json"
    )
    assert response.status_code == 201, response.content
    return_id = response.json()["id"]
    assert response.json()["status"] == "requested"
    assert api.get(f"/api/v1/orders/{order.number}/returns/").json()[0]["id"] == return_id

    for action, expected in (("approve", "approved"), ("receive", "received")):
        response = api.post(f"/api/v1/returns/{return_id}/{action}/", {}, format="json")
        assert response.json()["status"] == expected
    response = api.post(f"/api/v1/returns/{return_id}/refund/", {}, format="json")
    assert response.json()["status"] == "refunded"
    assert response.json()["refund_amount"] == "39.50"
    order_body = api.get(f"/api/v1/orders/{order.number}/").json()
    assert order_body["status"] == "returned"
    assert order_body["payment_status"] == "partially_refunded"


def test_return_refusals(shop, api):
    pending = place(shop)
    line = pending.lines.first()
    body = {"reason": "x", "lines": [{"line": line.pk, "quantity": 1}]}
    assert_error(
        api.post(f"/api/v1/orders/{pending.number}/returns/", body, format="json"), 422, "not_delivered"
    )
    order = order_in("delivered", shop)
    line = order.lines.first()
    too_many = {"reason": "x", "lines": [{"line": line.pk, "quantity": 50}]}
    assert_error(
        api.post(f"/api/v1/orders/{order.number}/returns/", too_many, format="json"), 422, "too_many"
    )
    ok = api.post(
        f"/api/v1/orders/{order.number}/returns/",
        {"reason": "x", "lines": [{"line": line.pk, "quantity": 1}]},
        format="json",
    ).json()
    assert_error(api.post(f"/api/v1/returns/{ok['id']}/reject/", {}, format="json"), 400, "invalid")
    response = api.post(f"/api/v1/returns/{ok['id']}/reject/", {"reason": "Worn"}, format="json")
    assert response.json()["status"] == "rejected" and response.json()["rejection_reason"] == "Worn"
    error = assert_error(
        api.post(f"/api/v1/returns/{ok['id']}/approve/", {}, format="json"), 422, "illegal_return_transition"
    )
    assert error["details"]["current_status"] == "rejected"


def test_coupons_crud(shop, api):
    response = api.post(
        "/api/v1/coupons/", {"code": "SPRING", "kind": "percentage", "value": "15"}, format="json"
    )
    assert response.status_code == 201, response.content
    coupon_id = response.json()["id"]
    assert response.json()["times_used"] == 0
    assert_error(
        api.post("/api/v1/coupons/", {"code": "spring", "kind": "fixed", "value": "5"}, format="json"),
        400,
        "invalid",
    )
    assert_error(
        api.post("/api/v1/coupons/", {"code": "BIG", "kind": "percentage", "value": "150"}, format="json"),
        400,
        "invalid",
    )
    assert [c["code"] for c in api.get("/api/v1/coupons/").json()] == ["SPRING"]
    response = api.patch(f"/api/v1/coupons/{coupon_id}/", {"is_active": False}, format="json")
    assert response.json()["is_active"] is False
    assert api.get(f"/api/v1/coupons/{coupon_id}/").json()["is_active"] is False
    assert api.delete(f"/api/v1/coupons/{coupon_id}/").status_code == 204
    assert not Coupon.objects.filter(pk=coupon_id).exists()


def test_a_coupon_in_use_cannot_be_deleted(shop, api):
    coupon = CouponFactory(shop=shop, code="USED")
    place(shop, coupon_code="USED")
    assert_error(api.delete(f"/api/v1/coupons/{coupon.pk}/"), 409, "in_use")


def test_validate_prices_a_cart_without_using_the_coupon(shop, api):
    coupon = CouponFactory(shop=shop, code="TENOFF", kind="fixed", value="10.00", min_subtotal="20.00")
    cart = {"code": "tenoff", "lines": [{"quantity": 2, "unit_price": "15.00"}], "shipping_price": "4.00"}
    response = api.post("/api/v1/coupons/validate/", cart, format="json")
    assert response.json() == {
        "code": "TENOFF",
        "valid": True,
        "subtotal": "30.00",
        "discount": "10.00",
        "shipping_price": "4.00",
        "total": "24.00",
    }
    coupon.refresh_from_db()
    assert coupon.times_used == 0
    small = {"code": "TENOFF", "lines": [{"quantity": 1, "unit_price": "5.00"}]}
    assert_error(api.post("/api/v1/coupons/validate/", small, format="json"), 422, "coupon_min_subtotal")


def test_customers_read(shop, api):
    place(shop, email="one@example.net")
    place(shop, email="two@example.net")
    page = api.get("/api/v1/customers/?limit=1").json()
    assert [c["email"] for c in page["results"]] == ["two@example.net"]
    rest = api.get(f"/api/v1/customers/?cursor={page['next_cursor']}").json()
    assert [c["email"] for c in rest["results"]] == ["one@example.net"] and rest["next_cursor"] is None
    found = api.get("/api/v1/customers/?email=ONE@example.net").json()["results"][0]
    assert api.get(f"/api/v1/customers/{found['id']}/").json()["order_count"] == 1


def test_events_feed_follows_changes_with_a_cursor(shop, api):
    order = place(shop)
    page = api.get("/api/v1/events/").json()
    assert [(e["order"], e["kind"]) for e in page["results"]] == [(order.number, "placed")]
    cursor = page["next_cursor"]
    assert api.get(f"/api/v1/events/?after={cursor}").json()["results"] == []
    api.post(f"/api/v1/orders/{order.number}/process/", {}, format="json")
    api.post(f"/api/v1/orders/{order.number}/cancel/", {"reason": "Fraud"}, format="json")
    page = api.get(f"/api/v1/events/?after={cursor}").json()
    assert [e["kind"] for e in page["results"]] == ["processed", "cancelled"]
    assert api.get(f"/api/v1/events/?after={page['next_cursor']}").json()["results"] == []
    assert_error(api.get("/api/v1/events/?after=%%%"), 400, "invalid")


def test_shipments_list_detail_and_deliver(shop, api):
    order = order_in("shipped", shop)
    parcel = order.shipments.get()
    listed = api.get(f"/api/v1/shipments/?tracking_number={parcel.tracking_number.lower()}").json()["results"]
    assert [s["id"] for s in listed] == [parcel.pk]
    detail = api.get(f"/api/v1/shipments/{parcel.pk}/").json()
    assert detail["order"] == order.number and detail["events"][0]["status"] == "in_transit"
    response = api.post(f"/api/v1/shipments/{parcel.pk}/deliver/", {}, format="json")
    assert response.json()["status"] == "delivered"
    assert api.get(f"/api/v1/orders/{order.number}/").json()["status"] == "delivered"
    assert_error(
        api.post(f"/api/v1/shipments/{parcel.pk}/deliver/", {}, format="json"), 422, "already_delivered"
    )
    assert "ups" in [c["code"] for c in api.get("/api/v1/carriers/").json()]
