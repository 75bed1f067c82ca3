"""The signed carrier webhook: scans recorded once, a delivered scan delivers, a bad signature
writes nothing."""

import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import OrderEvent
from orders.services import ParcelSpec, process_order, ship_order
from shipping.models import TrackingEvent
from shop.webhook_signing import signature_for
from tests.factories import SELLER, order_in, place, tracking_number

from .conftest import CheckedClient

pytestmark = pytest.mark.django_db


def push(shop, body, *, carrier="ups", secret=None, timestamp=None, raw=None, client=None):
    raw = raw if raw is not None else json.dumps(body).encode()
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    return (client or CheckedClient()).post(
        f"/api/v1/shops/{shop.slug}/carriers/{carrier}/events/",
        raw,
        content_type="application/json",
        HTTP_X_SHIPSHAPE_TIMESTAMP=timestamp,
        HTTP_X_SHIPSHAPE_SIGNATURE=signature_for(secret or shop.carrier_webhook_secret, timestamp, raw),
    )


def scan(parcel, status="in_transit", minutes_ago=0, **extra) -> dict:
    """A scan ``minutes_ago`` minutes ago (0: now, after the parcel was handed over)."""
    return {
        "tracking_number": parcel.tracking_number,
        "status": status,
        "occurred_at": (timezone.now() - timedelta(minutes=minutes_ago)).isoformat(),
        "location": "Leeds hub",
        "description": "Arrived at hub",
        **extra,
    }


def test_a_scan_is_recorded_on_the_parcel(shop):
    parcel = order_in("shipped", shop).shipments.get()
    response = push(shop, {"events": [scan(parcel, "out_for_delivery")]})
    assert response.status_code == 200, response.content
    assert response.json()["results"] == [
        {"tracking_number": parcel.tracking_number, "shipment": parcel.pk, "result": "recorded"}
    ]
    parcel.refresh_from_db()
    assert parcel.status == "out_for_delivery"
    assert parcel.events.filter(location="Leeds hub", source="carrier").count() == 1


def test_a_replayed_scan_changes_nothing(shop):
    parcel = order_in("shipped", shop).shipments.get()
    body = {"events": [scan(parcel)]}
    push(shop, body)
    before = (TrackingEvent.objects.count(), OrderEvent.objects.count())
    response = push(shop, body)
    assert response.json()["results"][0]["result"] == "duplicate"
    assert (TrackingEvent.objects.count(), OrderEvent.objects.count()) == before


def test_a_delivered_scan_delivers_the_order_through_the_services(shop):
    order = order_in("shipped", shop)
    parcel = order.shipments.get()
    response = push(shop, scan(parcel, "delivered", description="Left with neighbour"))
    assert response.json()["results"][0]["result"] == "recorded"
    order.refresh_from_db()
    assert order.status == "delivered"
    event = order.events.get(kind="delivered")
    assert event.actor_kind == "carrier"
    assert order.notifications.filter(template="order_delivered").exists()
    # The same delivered scan again: nothing more happens.
    again = push(shop, scan(parcel, "delivered", description="Left with neighbour"))
    assert again.json()["results"][0]["result"] == "duplicate"
    assert order.events.filter(kind="delivered").count() == 1


def test_the_order_is_delivered_with_its_last_parcel(shop):
    order = place(shop)
    process_order(order, by=SELLER)
    first_line, second_line = order.lines.all()
    ship_order(
        order,
        parcels=[
            ParcelSpec(tracking_number=tracking_number(), lines={first_line.pk: first_line.quantity}),
            ParcelSpec(tracking_number=tracking_number(), lines={second_line.pk: second_line.quantity}),
        ],
        by=SELLER,
    )
    first, second = order.shipments.order_by("pk")
    push(shop, scan(first, "delivered"))
    order.refresh_from_db()
    assert order.status == "shipped"
    push(shop, scan(second, "delivered"))
    order.refresh_from_db()
    assert order.status == "delivered"


def test_an_older_scan_arriving_late_does_not_roll_the_status_back(shop):
    parcel = order_in("shipped", shop).shipments.get()
    push(shop, scan(parcel, "out_for_delivery"))
    push(shop, scan(parcel, "in_transit", minutes_ago=120, description="Left origin"))
    parcel.refresh_from_db()
    assert parcel.status == "out_for_delivery"
    assert parcel.events.filter(description="Left origin").exists()


def test_an_unknown_tracking_number_is_reported_not_written(shop):
    order_in("shipped", shop)
    response = push(
        shop,
        {
            "tracking_number": "1Z0000000000000000",
            "status": "in_transit",
            "occurred_at": timezone.now().isoformat(),
        },
    )
    assert response.json()["results"][0]["result"] == "unknown_tracking_number"


def test_a_bad_signature_is_401_and_writes_nothing(shop):
    parcel = order_in("shipped", shop).shipments.get()
    before = TrackingEvent.objects.count()
    response = push(shop, scan(parcel, "delivered"), secret="not-the-secret")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"
    assert TrackingEvent.objects.count() == before
    parcel.refresh_from_db()
    assert parcel.status == "in_transit"


def test_a_body_changed_after_signing_is_refused(shop):
    parcel = order_in("shipped", shop).shipments.get()
    timestamp = str(int(time.time()))
    signed = json.dumps(scan(parcel, "in_transit")).encode()
    tampered = json.dumps(scan(parcel, "delivered")).encode()
    response = CheckedClient().post(
        f"/api/v1/shops/{shop.slug}/carriers/ups/events/",
        tampered,
        content_type="application/json",
        HTTP_X_SHIPSHAPE_TIMESTAMP=timestamp,
        HTTP_X_SHIPSHAPE_SIGNATURE=signature_for(shop.carrier_webhook_secret, timestamp, signed),
    )
    assert response.status_code == 401


def test_an_old_timestamp_is_refused(shop):
    parcel = order_in("shipped", shop).shipments.get()
    response = push(shop, scan(parcel), timestamp=int(time.time()) - 301)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "stale_timestamp"


def test_another_shops_secret_does_not_open_this_shop(shop, other_shop):
    parcel = order_in("shipped", shop).shipments.get()
    response = push(shop, scan(parcel, "delivered"), secret=other_shop.carrier_webhook_secret)
    assert response.status_code == 401
    assert (
        push(other_shop, scan(parcel, "delivered")).json()["results"][0]["result"]
        == "unknown_tracking_number"
    )


def test_missing_headers_and_unknown_shop_are_401(shop):
    response = CheckedClient().post(
        f"/api/v1/shops/{shop.slug}/carriers/ups/events/", b"{}", content_type="application/json"
    )
    assert response.status_code == 401
    response = CheckedClient().post(
        "/api/v1/shops/no-such-shop/carriers/ups/events/", b"{}", content_type="application/json"
    )
    assert response.status_code == 401


def test_a_signed_but_malformed_body_is_400(shop):
    assert push(shop, None, raw=b'{"events": [').status_code == 400
    response = push(
        shop, {"events": [{"tracking_number": "X", "status": "teleported", "occurred_at": "soon"}]}
    )
    assert response.status_code == 400
    assert set(response.json()["error"]["details"]["fields"]["events"]["0"]) == {"status", "occurred_at"}


def test_an_out_for_delivery_scan_tells_the_buyer_once(shop):
    order = order_in("shipped", shop)
    parcel = order.shipments.get()
    push(shop, scan(parcel, "out_for_delivery"))
    push(shop, scan(parcel, "out_for_delivery", location="Van 12"))
    assert order.notifications.filter(template="out_for_delivery").count() == 1


def test_the_last_parcel_returned_to_the_sender_returns_the_order(shop):
    order = order_in("shipped", shop)
    parcel = order.shipments.get()
    response = push(shop, scan(parcel, "returned", description="Refused by recipient"))
    assert response.json()["results"][0]["result"] == "recorded"
    order.refresh_from_db()
    assert order.status == "returned"
    assert order.events.filter(kind="returned_to_sender", actor_kind="carrier").exists()
