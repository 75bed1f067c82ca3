"""Every route and method tried with another shop's key: 404, no foreign row listed or changed."""

import pytest
from django.forms.models import model_to_dict

from orders.models import BuyerRequest, Coupon, Order, OrderEvent, OrderLine, Return
from orders.services import Actor, request_modification, request_return
from shipping.models import Shipment, TrackingEvent
from shop.models import Customer
from tests.factories import CouponFactory, order_in, place

from .conftest import openapi_schema

pytestmark = pytest.mark.django_db


@pytest.fixture
def foreign(shop):
    """Shop A's rows: a delivered order with a return, a shipped order, a pending one and a coupon."""
    delivered = order_in("delivered", shop, email="a1@example.net")
    return_request = request_return(
        delivered, lines={delivered.lines.first().pk: 1}, reason="Too big", by=Actor.buyer()
    )
    shipped = order_in("shipped", shop, email="a2@example.net")
    pending = place(shop, email="a3@example.net")
    coupon = CouponFactory(shop=shop, code="SHOPAONLY")
    tee = pending.lines.order_by("id").first()
    buyer_request = request_modification(
        pending, changes=[{"line_id": tee.pk, "quantity": 3}], by=Actor.buyer()
    )
    return {
        "delivered": delivered,
        "shipped": shipped,
        "pending": pending,
        "return": return_request,
        "coupon": coupon,
        "shipment": shipped.shipments.get(),
        "customer": pending.customer,
        "request": buyer_request,
        "import": _preview_of_a_file(shop),
    }


def _preview_of_a_file(shop):
    from orders.models import ImportState, OrderImport

    return OrderImport.objects.create(
        shop=shop, file="imports/a.csv", original_name="a.csv", state=ImportState.PREVIEWED
    )


def routes(f) -> list[tuple[str, str, str, dict]]:
    """(method, schema path, concrete path, body) for every operation that names one of shop A's rows."""
    n, p = f["pending"].number, f["shipped"].number
    r, c, s, cu = f["return"].pk, f["coupon"].pk, f["shipment"].pk, f["customer"].pk
    line = f["pending"].lines.first().pk
    rq = f["request"].pk
    return [
        ("get", "/api/v1/orders/{number}/", f"/api/v1/orders/{n}/", {}),
        ("patch", "/api/v1/orders/{number}/", f"/api/v1/orders/{n}/", {"version": 1, "internal_note": "x"}),
        ("post", "/api/v1/orders/{number}/process/", f"/api/v1/orders/{n}/process/", {}),
        (
            "post",
            "/api/v1/orders/{number}/ship/",
            f"/api/v1/orders/{n}/ship/",
            {"carrier": "other", "no_tracking": True},
        ),
        ("post", "/api/v1/orders/{number}/deliver/", f"/api/v1/orders/{p}/deliver/", {}),
        ("post", "/api/v1/orders/{number}/cancel/", f"/api/v1/orders/{n}/cancel/", {"reason": "x"}),
        ("get", "/api/v1/orders/{number}/returns/", f"/api/v1/orders/{n}/returns/", {}),
        (
            "post",
            "/api/v1/orders/{number}/returns/",
            f"/api/v1/orders/{f['delivered'].number}/returns/",
            {"reason": "x", "lines": [{"line": line, "quantity": 1}]},
        ),
        ("get", "/api/v1/returns/{id}/", f"/api/v1/returns/{r}/", {}),
        ("post", "/api/v1/returns/{id}/approve/", f"/api/v1/returns/{r}/approve/", {}),
        ("post", "/api/v1/returns/{id}/reject/", f"/api/v1/returns/{r}/reject/", {"reason": "x"}),
        ("post", "/api/v1/returns/{id}/receive/", f"/api/v1/returns/{r}/receive/", {}),
        ("post", "/api/v1/returns/{id}/refund/", f"/api/v1/returns/{r}/refund/", {}),
        ("get", "/api/v1/coupons/{id}/", f"/api/v1/coupons/{c}/", {}),
        ("patch", "/api/v1/coupons/{id}/", f"/api/v1/coupons/{c}/", {"is_active": False}),
        ("delete", "/api/v1/coupons/{id}/", f"/api/v1/coupons/{c}/", {}),
        ("get", "/api/v1/customers/{id}/", f"/api/v1/customers/{cu}/", {}),
        ("get", "/api/v1/shipments/{id}/", f"/api/v1/shipments/{s}/", {}),
        ("post", "/api/v1/shipments/{id}/deliver/", f"/api/v1/shipments/{s}/deliver/", {}),
        (
            "patch",
            "/api/v1/orders/{number}/lines/",
            f"/api/v1/orders/{n}/lines/",
            {
                "version": 2,
                "lines": [{"id": line, "sku": "X", "name": "X", "quantity": 1, "unit_price": "1.00"}],
            },
        ),
        ("get", "/api/v1/requests/{id}/", f"/api/v1/requests/{rq}/", {}),
        ("post", "/api/v1/requests/{id}/approve/", f"/api/v1/requests/{rq}/approve/", {}),
        ("post", "/api/v1/requests/{id}/decline/", f"/api/v1/requests/{rq}/decline/", {"reason": "x"}),
        ("get", "/api/v1/imports/{id}/", f"/api/v1/imports/{f['import'].pk}/", {}),
        ("get", "/api/v1/imports/{id}/items/", f"/api/v1/imports/{f['import'].pk}/items/", {}),
        ("post", "/api/v1/imports/{id}/apply/", f"/api/v1/imports/{f['import'].pk}/apply/", {}),
    ]


def snapshot(shop) -> dict:
    return {
        "orders": [
            model_to_dict(o) | {"version": o.version} for o in Order.objects.filter(shop=shop).order_by("pk")
        ],
        "returns": [model_to_dict(r) for r in Return.objects.filter(order__shop=shop).order_by("pk")],
        "coupons": [model_to_dict(c) for c in Coupon.objects.filter(shop=shop).order_by("pk")],
        "shipments": [model_to_dict(s) for s in Shipment.objects.filter(shop=shop).order_by("pk")],
        "lines": [model_to_dict(line) for line in OrderLine.objects.filter(order__shop=shop).order_by("pk")],
        "requests": [model_to_dict(r) for r in BuyerRequest.objects.filter(shop=shop).order_by("pk")],
        "events": OrderEvent.objects.filter(order__shop=shop).count(),
        "scans": TrackingEvent.objects.filter(shipment__shop=shop).count(),
    }


def test_every_route_with_a_parameter_is_covered(foreign):
    covered = {(method, template) for method, template, _, _ in routes(foreign)}
    documented = {
        (method, template)
        for template, operations in openapi_schema()["paths"].items()
        if "{" in template and "/shops/{slug}/" not in template  # the webhook is signed, tested on its own
        for method in operations
    }
    assert documented == covered


def test_another_shops_key_gets_404_everywhere_and_changes_nothing(shop, foreign, other_api):
    before = snapshot(shop)
    for method, template, path, body in routes(foreign):
        response = getattr(other_api, method)(path, body, format="json")
        assert response.status_code == 404, (
            f"{method.upper()} {template}: {response.status_code} {response.content}"
        )
        assert response.json()["error"]["code"] == "not_found"
    assert snapshot(shop) == before


def test_lists_never_show_another_shops_rows(shop, foreign, other_shop, other_api):
    own = place(other_shop, email="mine@example.net")
    orders = other_api.get("/api/v1/orders/?limit=100").json()["results"]
    assert [o["number"] for o in orders] == [own.number]
    for query in (
        f"q={foreign['pending'].number}",
        "q=a1@example.net",
        f"q={foreign['shipment'].tracking_number}",
    ):
        assert other_api.get(f"/api/v1/orders/?{query}").json()["results"] == []
    customers = other_api.get("/api/v1/customers/").json()["results"]
    assert [c["email"] for c in customers] == ["mine@example.net"]
    assert other_api.get("/api/v1/shipments/").json()["results"] == []
    assert other_api.get("/api/v1/coupons/").json() == []
    events = other_api.get("/api/v1/events/?limit=500").json()["results"]
    assert {e["order"] for e in events} == {own.number}
    assert other_api.get(f"/api/v1/orders/{own.number}/returns/").json() == []
    assert other_api.get("/api/v1/requests/").json()["results"] == []
    assert other_api.get(f"/api/v1/requests/?order={foreign['pending'].number}").json()["results"] == []
    assert Customer.objects.filter(shop=shop).count() == 3


def test_another_shops_coupon_code_is_unknown(foreign, other_api):
    response = other_api.post(
        "/api/v1/coupons/validate/",
        {"code": "SHOPAONLY", "lines": [{"quantity": 1, "unit_price": "10.00"}]},
        format="json",
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "coupon_unknown"
