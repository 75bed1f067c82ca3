"""Buyers' requests as a resource: list, read, approve and decline over /api/v1/requests/."""

from decimal import Decimal

import pytest
from django.db import connection
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext

from orders.models import (
    BuyerRequest,
    CouponKind,
    EventKind,
    Notification,
    Order,
    OrderEvent,
    OrderLine,
    RequestStatus,
)
from orders.services import (
    Actor,
    ParcelSpec,
    process_order,
    request_address_change,
    request_cancellation,
    request_modification,
    ship_order,
)
from orders.states import OrderStatus
from tests.factories import SELLER, CouponFactory, order_in, place, tracking_number

from .test_auth_and_errors import assert_error

pytestmark = pytest.mark.django_db

BUYER = Actor.buyer()
NEW_ADDRESS = {
    "name": "Ada Buyer",
    "line1": "3 Quay Lane",
    "city": "Bristol",
    "postal_code": "BS1 4DJ",
    "country": "gb",
}


def tee_of(order: Order) -> OrderLine:
    return order.lines.order_by("id").first()


def ask_for_size_l(order: Order, **change) -> BuyerRequest:
    return request_modification(
        order,
        changes=[{"line_id": tee_of(order).pk, "variant": "L / black", "quantity": 3, **change}],
        message="Bigger please",
        by=BUYER,
    )


def emails(order: Order, template: str) -> int:
    return Notification.objects.filter(order=order, template=template).count()


def snapshot(order: Order) -> dict:
    order = Order.objects.get(pk=order.pk)
    return {
        "order": model_to_dict(order) | {"version": order.version},
        "lines": [model_to_dict(line) for line in OrderLine.objects.filter(order=order).order_by("id")],
        "requests": [model_to_dict(r) for r in BuyerRequest.objects.filter(order=order).order_by("id")],
        "events": OrderEvent.objects.filter(order=order).count(),
        "emails": Notification.objects.filter(order=order).count(),
    }


# --- reading ---------------------------------------------------------------------------------------------


@pytest.fixture
def three_requests(shop):
    """Oldest first: an item change (pending order), then an address change and a cancellation (processed)."""
    pending = place(shop, email="p@example.net")
    processed = order_in("processed", shop, email="q@example.net")
    modification = ask_for_size_l(pending)
    address = request_address_change(processed, address=NEW_ADDRESS, message="Moved", by=BUYER)
    cancellation = request_cancellation(processed, reason="Found it cheaper", by=BUYER)
    return {"pending": pending, "processed": processed, "requests": [modification, address, cancellation]}


def test_a_request_reads_what_was_asked(shop, api, three_requests):
    modification = three_requests["requests"][0]
    tee = tee_of(three_requests["pending"])
    response = api.get(f"/api/v1/requests/{modification.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == modification.pk
    assert body["order"] == three_requests["pending"].number
    assert (body["kind"], body["status"], body["message"]) == ("modification", "open", "Bigger please")
    assert body["payload"]["changes"] == [
        {
            "line_id": tee.pk,
            "sku": "TEE-M-BLK",
            "name": "T-shirt",
            "unit_price": "15.00",
            "before": {"variant": "M / black", "quantity": 2},
            "after": {"variant": "L / black", "quantity": 3},
        }
    ]
    assert body["decline_reason"] == ""
    assert body["created_at"] and body["decided_at"] is None


def test_the_list_is_newest_first_with_a_cursor(shop, api, three_requests):
    ids = [r.pk for r in reversed(three_requests["requests"])]
    seen, cursor = [], None
    for _ in range(3):
        response = api.get("/api/v1/requests/?limit=1" + (f"&cursor={cursor}" if cursor else ""))
        assert response.status_code == 200
        page = response.json()
        seen += [row["id"] for row in page["results"]]
        cursor = page["next_cursor"]
    assert seen == ids
    assert cursor is None
    everything = api.get("/api/v1/requests/").json()
    assert [row["id"] for row in everything["results"]] == ids
    assert everything["next_cursor"] is None


def test_the_list_filters_by_status_kind_and_order(shop, api, three_requests):
    modification, address, cancellation = three_requests["requests"]

    def ids(query: str) -> list[int]:
        response = api.get(f"/api/v1/requests/?{query}")
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids("kind=modification") == [modification.pk]
    assert ids("kind=address_change,cancellation") == [cancellation.pk, address.pk]
    assert ids(f"order={three_requests['processed'].number.lower()}") == [cancellation.pk, address.pk]
    assert ids("order=SS-999999") == []
    assert ids("status=approved") == []
    api.post(f"/api/v1/requests/{address.pk}/decline/", {"reason": "We cannot reroute"}, format="json")
    assert ids("status=declined") == [address.pk]
    assert ids("status=open&kind=address_change") == []


def test_a_page_costs_the_same_queries_whatever_its_size(shop, api, three_requests):
    api.get("/api/v1/requests/")  # the key's first use of the run records last_used_at
    with CaptureQueriesContext(connection) as one:
        assert len(api.get("/api/v1/requests/?limit=1").json()["results"]) == 1
    with CaptureQueriesContext(connection) as three:
        assert len(api.get("/api/v1/requests/?limit=3").json()["results"]) == 3
    assert len(three) == len(one) == 2  # the key, the page with its orders


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=maybe", "status"),
        ("kind=refund", "kind"),
        ("cursor=notacursor", "cursor"),
        ("limit=0", "limit"),
    ],
)
def test_a_bad_filter_is_400_naming_it(api, query, field):
    error = assert_error(api.get(f"/api/v1/requests/?{query}"), 400, "invalid")
    assert field in error["details"]["fields"]


# --- approving -------------------------------------------------------------------------------------------


def test_approving_an_item_change_applies_it_and_emails_the_buyer_once(shop, api):
    order = place(shop)
    buyer_request = ask_for_size_l(order)
    order.refresh_from_db()

    response = api.post(
        f"/api/v1/requests/{buyer_request.pk}/approve/", {"version": order.version}, format="json"
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "approved" and body["decided_at"]
    tee = tee_of(order)
    assert (tee.variant, tee.quantity) == ("L / black", 3)
    order.refresh_from_db()
    assert order.total == Decimal("15.00") * 3 + Decimal("9.50") + Decimal("4.50")
    kinds = list(OrderEvent.objects.filter(order=order).order_by("id").values_list("kind", "actor_kind"))
    assert kinds[-2:] == [(EventKind.REQUEST_APPROVED, "api"), (EventKind.LINES_CHANGED, "api")]
    assert emails(order, "modification_approved") == 1
    assert emails(order, "lines_changed") == 0


def test_an_item_change_approved_after_the_order_was_processed_is_declined_with_the_reason(shop, api):
    order = place(shop)
    buyer_request = ask_for_size_l(order)
    process_order(order, by=SELLER)

    response = api.post(
        f"/api/v1/requests/{buyer_request.pk}/approve/", {}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )

    error = assert_error(response, 409, "request_declined")
    reason = "The order was already being prepared, so its items could no longer change."
    assert error["details"]["reason"] == reason
    assert reason in error["message"]
    assert error["details"]["request"]["status"] == "declined"
    assert error["details"]["request"]["decline_reason"] == reason
    buyer_request.refresh_from_db()
    assert buyer_request.status == RequestStatus.DECLINED  # committed, not rolled back with the 409
    assert (tee_of(order).variant, tee_of(order).quantity) == ("M / black", 2)
    assert emails(order, "modification_declined") == 1
    assert emails(order, "modification_approved") == 0
    again = api.post(f"/api/v1/requests/{buyer_request.pk}/approve/", {}, format="json")
    assert_error(again, 422, "already_decided")
    assert emails(order, "modification_declined") == 1


def test_approving_an_address_change_changes_the_address(shop, api):
    order = order_in("processed", shop)
    buyer_request = request_address_change(order, address=NEW_ADDRESS, by=BUYER)

    response = api.post(f"/api/v1/requests/{buyer_request.pk}/approve/", {}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "approved"
    order.refresh_from_db()
    assert (order.ship_line1, order.ship_city, order.ship_country) == ("3 Quay Lane", "Bristol", "GB")
    assert emails(order, "address_change_accepted") == 1


def test_an_address_change_approved_after_shipping_is_declined_with_the_reason(shop, api):
    order = order_in("processed", shop)
    buyer_request = request_address_change(order, address=NEW_ADDRESS, by=BUYER)
    ship_order(order, parcels=[ParcelSpec(tracking_number=tracking_number())], by=SELLER)

    response = api.post(
        f"/api/v1/requests/{buyer_request.pk}/approve/", {}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )

    error = assert_error(response, 409, "request_declined")
    assert (
        error["details"]["reason"] == "The order had already shipped, so the address could no longer change."
    )
    order.refresh_from_db()
    assert order.ship_line1 == "12 Harbour Street"
    assert emails(order, "address_change_refused") == 1


def test_approving_a_cancellation_cancels_the_order(shop, api):
    order = order_in("processed", shop)
    buyer_request = request_cancellation(order, reason="Found it cheaper", by=BUYER)

    response = api.post(f"/api/v1/requests/{buyer_request.pk}/approve/", {}, format="json")

    assert response.status_code == 200, response.content
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert emails(order, "order_cancelled") == 1


def test_approving_with_a_stale_version_is_409_and_changes_nothing(shop, api):
    order = place(shop)
    buyer_request = ask_for_size_l(order)
    before = snapshot(order)
    response = api.post(
        f"/api/v1/requests/{buyer_request.pk}/approve/", {}, format="json", HTTP_IF_MATCH='"1"'
    )
    error = assert_error(response, 409, "stale_version")
    assert error["details"]["current_version"] == before["order"]["version"]
    assert snapshot(order) == before


def test_a_coupon_the_change_breaks_is_422_with_a_hint_then_dropped_on_request(shop, api):
    CouponFactory(
        shop=shop, code="BIG", kind=CouponKind.FIXED, value=Decimal("5"), min_subtotal=Decimal("35")
    )
    order = place(shop, coupon_code="BIG")  # 39.50 of items, 5.00 off
    buyer_request = request_modification(
        order, changes=[{"line_id": tee_of(order).pk, "quantity": 1}], by=BUYER
    )
    before = snapshot(order)

    refused = api.post(
        f"/api/v1/requests/{buyer_request.pk}/approve/", {}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )

    error = assert_error(refused, 422, "coupon_min_subtotal")
    assert error["message"].startswith("With these changes the coupon BIG no longer applies.")
    assert error["details"]["can_drop_coupon"] is True
    assert "drop_coupon_if_invalid" in error["details"]["hint"]
    assert snapshot(order) == before  # nothing written, the request still open

    approved = api.post(
        f"/api/v1/requests/{buyer_request.pk}/approve/", {"drop_coupon_if_invalid": True}, format="json"
    )

    assert approved.status_code == 200, approved.content
    assert approved.json()["status"] == "approved"
    order.refresh_from_db()
    assert order.coupon is None
    assert order.total == Decimal("15.00") + Decimal("9.50") + Decimal("4.50")
    assert emails(order, "modification_approved") == 1


def test_an_approval_retried_with_its_idempotency_key_is_replayed(shop, api):
    order = place(shop)
    buyer_request = ask_for_size_l(order)
    path = f"/api/v1/requests/{buyer_request.pk}/approve/"
    first = api.post(path, {}, format="json", HTTP_IDEMPOTENCY_KEY="approve-1")
    second = api.post(path, {}, format="json", HTTP_IDEMPOTENCY_KEY="approve-1")
    assert first.status_code == second.status_code == 200
    assert second["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    assert emails(order, "modification_approved") == 1


# --- declining -------------------------------------------------------------------------------------------


def test_declining_records_the_reason_and_emails_the_buyer_once(shop, api):
    order = place(shop)
    buyer_request = ask_for_size_l(order)

    response = api.post(
        f"/api/v1/requests/{buyer_request.pk}/decline/", {"reason": "Size L is sold out"}, format="json"
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["decline_reason"]) == ("declined", "Size L is sold out")
    assert body["decided_at"]
    assert (tee_of(order).variant, tee_of(order).quantity) == ("M / black", 2)
    assert emails(order, "modification_declined") == 1
    event = OrderEvent.objects.filter(order=order, kind=EventKind.REQUEST_DECLINED).get()
    assert event.actor_kind == "api"


def test_declining_an_address_change_emails_the_refusal(shop, api):
    order = order_in("processed", shop)
    buyer_request = request_address_change(order, address=NEW_ADDRESS, by=BUYER)
    response = api.post(
        f"/api/v1/requests/{buyer_request.pk}/decline/", {"reason": "Already packed"}, format="json"
    )
    assert response.status_code == 200
    assert emails(order, "address_change_refused") == 1


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 501}])
def test_declining_without_a_usable_reason_is_400(shop, api, body):
    order = place(shop)
    buyer_request = ask_for_size_l(order)
    before = snapshot(order)
    error = assert_error(
        api.post(f"/api/v1/requests/{buyer_request.pk}/decline/", body, format="json"), 400, "invalid"
    )
    assert "reason" in error["details"]["fields"]
    assert snapshot(order) == before


def test_declining_an_answered_request_is_422(shop, api):
    order = place(shop)
    buyer_request = ask_for_size_l(order)
    path = f"/api/v1/requests/{buyer_request.pk}/decline/"
    assert api.post(path, {"reason": "No"}, format="json").status_code == 200
    assert_error(api.post(path, {"reason": "No again"}, format="json"), 422, "already_decided")
    assert emails(order, "modification_declined") == 1


def test_another_shops_requests_are_404_and_never_listed(shop, api, other_api):
    order = place(shop)
    buyer_request = ask_for_size_l(order)
    before = snapshot(order)
    assert other_api.get("/api/v1/requests/").json()["results"] == []
    assert other_api.get(f"/api/v1/requests/?order={order.number}").json()["results"] == []
    for method, suffix, body in (
        ("get", "", {}),
        ("post", "approve/", {}),
        ("post", "decline/", {"reason": "x"}),
    ):
        response = getattr(other_api, method)(
            f"/api/v1/requests/{buyer_request.pk}/{suffix}", body, format="json"
        )
        assert_error(response, 404, "not_found")
    assert snapshot(order) == before
