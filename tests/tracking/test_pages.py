"""The order page at /track/<token>/: what it shows, in whose language and zone, how fast, and its cache."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from orders.services import Actor, ParcelSpec, process_order, ship_order
from orders.services.tracking import record_scan
from orders.states import OrderStatus
from orders.tracking import form_tokens, page_cache, selectors, stamps
from shipping.models import ShipmentStatus, TrackingEvent
from tests.factories import CouponFactory, LineSpec, ShopFactory, order_in, place, tracking_number

pytestmark = pytest.mark.django_db
SELLER = Actor.system()


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    page_cache.clear_local()
    stamps.clear_local()
    yield
    cache.clear()
    page_cache.clear_local()
    stamps.clear_local()


def page_of(client, order, **kwargs):
    return client.get(reverse("tracking:order", args=[order.public_token]), **kwargs)


def split_order(shop, **kwargs):
    """A processed order with its two lines in two parcels, each with scans."""
    order = process_order(place(shop, **kwargs), by=SELLER)
    first, second = order.lines.all()
    order = ship_order(
        order,
        parcels=[
            ParcelSpec(
                tracking_number=tracking_number(),
                lines={first.pk: first.quantity},
                estimated_delivery=date(2030, 1, 10),
            )
        ],
        by=SELLER,
    )
    order = ship_order(
        order,
        parcels=[
            ParcelSpec(
                tracking_number=tracking_number(),
                lines={second.pk: second.quantity},
                estimated_delivery=date(2030, 1, 12),
            )
        ],
        by=SELLER,
    )
    return order


def test_page_shows_status_items_totals_and_seller(client, shop):
    shop.contact_phone = "+44 20 7946 0000"
    shop.save()
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    response = page_of(client, order)
    html = response.content.decode()
    assert response.status_code == 200
    assert order.number in html
    assert "The seller is preparing your order for shipping." in html
    assert 'aria-current="step"' in html
    assert "2 × T-shirt" in html and "(M / black)" in html and "1 × Cap" in html
    assert "$44.00" in html  # 2 × 15.00 + 9.50 + 4.50 shipping
    assert "Total paid" in html
    assert shop.name in html and shop.contact_email in html and "+44 20 7946 0000" in html
    assert "Should ship by" in html  # not shipped yet: placed + handling days


def test_split_order_shows_each_parcel_with_carrier_link_and_scans_newest_first(client, shop):
    order = split_order(shop)
    parcel = order.shipments.order_by("id").first()
    now = timezone.now()
    record_scan(
        parcel, status=ShipmentStatus.IN_TRANSIT, occurred_at=now - timedelta(hours=5), location="Leeds hub"
    )
    record_scan(
        parcel, status=ShipmentStatus.IN_TRANSIT, occurred_at=now - timedelta(hours=1), location="York depot"
    )
    html = page_of(client, order).content.decode()
    assert "Parcel 1" in html and "Parcel 2" in html
    assert "Part of your order is on its way" not in html  # both parcels left: the order is shipped
    assert html.count("Track on the UPS website") == 2
    assert f"https://www.ups.com/track?tracknum={parcel.tracking_number}" in html
    assert html.index("York depot") < html.index("Leeds hub")  # newest first
    assert "In this parcel: 2 × T-shirt (M / black)" in html
    assert "Expected by" in html


def test_partly_shipped_order_says_so(client, shop):
    order = process_order(place(shop), by=SELLER)
    first = order.lines.first()
    ship_order(order, parcels=[ParcelSpec(tracking_number=tracking_number(), lines={first.pk: 2})], by=SELLER)
    html = page_of(client, order).content.decode()
    assert "Part of your order is on its way; the rest will follow." in html


@pytest.mark.parametrize(
    ("status", "sentence"),
    [
        (OrderStatus.PENDING, "We have your order."),
        (OrderStatus.SHIPPED, "Your order is on its way to you."),
        (OrderStatus.DELIVERED, "Your order was delivered."),
        (OrderStatus.CANCELLED, "This order was cancelled."),
        (OrderStatus.RETURNED, "This order went back to the seller."),
    ],
)
def test_each_state_is_explained(client, shop, status, sentence):
    order = order_in(status, shop=shop)
    html = page_of(client, order).content.decode()
    assert sentence in html
    if status in (OrderStatus.CANCELLED, OrderStatus.RETURNED):
        assert 'class="progress"' not in html  # said plainly, no bar
    else:
        assert 'class="progress"' in html


def test_coupon_code_and_discount_shown(client, shop):
    CouponFactory(shop=shop, code="WELCOME10")
    order = place(shop, coupon_code="WELCOME10")
    html = page_of(client, order).content.decode()
    assert "coupon WELCOME10" in html


def test_address_only_partly_shown_and_no_contact_details(client, shop):
    order = place(shop, email="ada.private@example.net", customer_phone="+44 7700 900123")
    order.ship_phone = "+44 7700 900999"
    order.save(update_fields=["ship_phone"])
    html = page_of(client, order).content.decode()
    assert "12 Ha…" in html and "PO1 3AX" in html and "Portsmouth" in html
    assert "Harbour" not in html
    assert "ada.private" not in html
    assert "7700" not in html
    assert "Ada B." in html and "Ada Buyer" not in html


def test_unknown_token_is_404(client, db):
    response = client.get(reverse("tracking:order", args=["x" * 32]))
    assert response.status_code == 404
    assert "We could not find this order" in response.content.decode()


def test_page_in_the_orders_language_with_local_money_and_dates(client):
    shop = ShopFactory(currency="EUR")
    order = place(shop, language="de")
    response = page_of(client, order, HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert '<html lang="de">' in html
    assert response["Content-Language"] == "de"
    assert "44,00\xa0€" in html


def test_scan_times_in_the_buyers_zone_from_the_cookie_else_the_shops(client):
    shop = ShopFactory(timezone="Asia/Tokyo")
    order = order_in(OrderStatus.SHIPPED, shop=shop)
    parcel = order.shipments.get()
    record_scan(parcel, status=ShipmentStatus.IN_TRANSIT, occurred_at=datetime(2030, 1, 1, 12, 0, tzinfo=UTC))
    html = page_of(client, order).content.decode()
    assert "times in Asia/Tokyo" in html and "21:00" in html
    client.cookies["tz"] = "America/New_York"
    html = page_of(client, order).content.decode()
    assert "times in America/New_York" in html and "07:00" in html
    client.cookies["tz"] = "../../etc/passwd"
    assert "times in Asia/Tokyo" in page_of(client, order).content.decode()


def test_privacy_headers_and_noindex(client, shop):
    response = page_of(client, order_in(OrderStatus.PENDING, shop=shop))
    assert response["Cache-Control"] == "private, no-store"
    assert response["Referrer-Policy"] == "no-referrer"
    assert "noindex" in response["X-Robots-Tag"]
    assert '<meta name="robots" content="noindex' in response.content.decode()


def test_buyer_written_text_is_escaped(client, shop):
    order = place(
        shop,
        lines=[LineSpec(sku="X", name="<script>alert(1)</script>", quantity=1, unit_price=Decimal("1.00"))],
    )
    shipment_order = process_order(order, by=SELLER)
    shipment_order = ship_order(
        shipment_order, parcels=[ParcelSpec(tracking_number=tracking_number())], by=SELLER
    )
    record_scan(
        shipment_order.shipments.get(),
        status=ShipmentStatus.IN_TRANSIT,
        location='"><img src=x onerror=alert(2)>',
    )
    html = page_of(client, order).content.decode()
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    assert "<img src=x" not in html


def test_query_count_and_cache(client, shop, django_assert_max_num_queries, django_assert_num_queries):
    order = split_order(shop)
    with django_assert_max_num_queries(6 + 10):  # stamp + page (5) + the actions' own reads
        first = page_of(client, order)
    with django_assert_num_queries(0):  # the stamp and the page both come from the cache
        second = page_of(client, order)
    assert first.status_code == second.status_code == 200
    # The forms carry the token bound to the order's link: the same in both views, and no cookie is set.
    token = form_tokens.for_order(order.public_token)
    assert f'name="csrfmiddlewaretoken" value="{token}"'.encode() in second.content
    assert first.content == second.content
    assert "csrftoken" not in second.cookies


def test_page_selector_reads_in_five_queries(shop, django_assert_num_queries):
    order = split_order(shop)
    with django_assert_num_queries(
        5
    ):  # order + shop + coupon, lines, parcels + carriers, scans, parcel lines
        page = selectors.tracking_page(order.pk, zone=timezone.get_current_timezone())
        assert [len(p.scans) for p in page.parcels] == [1, 1] and len(page.order.lines.all()) == 2


def test_cache_follows_changes_and_scans(client, shop):
    order = order_in(OrderStatus.SHIPPED, shop=shop)
    assert "Somewhere new" not in page_of(client, order).content.decode()
    record_scan(order.shipments.get(), status=ShipmentStatus.IN_TRANSIT, location="Somewhere new")
    assert "Somewhere new" in page_of(client, order).content.decode()  # a scan alone changes the page
    from orders.services import deliver_order

    deliver_order(order, by=SELLER)
    assert "Your order was delivered." in page_of(client, order).content.decode()


def test_a_change_forgets_the_cached_stamp_when_it_commits(
    client, shop, django_assert_num_queries, django_capture_on_commit_callbacks
):
    """Served from the cache while nothing changes; the first view after a commit reads the database."""
    order = order_in(OrderStatus.SHIPPED, shop=shop)
    page_of(client, order)
    with django_assert_num_queries(0):
        page_of(client, order)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        record_scan(order.shipments.get(), status=ShipmentStatus.OUT_FOR_DELIVERY, location="Depot 7")
    assert callbacks, "the forget runs after commit"
    # A view that stored the old stamp between the change and its commit is corrected by the commit.
    stale = selectors.page_stamp(order.public_token)
    stamps.put(order.public_token, stale)
    for callback in callbacks:
        callback()
    assert stamps.get(order.public_token) is None
    assert "Depot 7" in page_of(client, order).content.decode()


def test_a_change_made_in_another_process_shows_within_a_second(client, shop, monkeypatch):
    """This process keeps a stamp for one second; another process's change clears only the shared cache."""
    order = order_in(OrderStatus.SHIPPED, shop=shop)
    page_of(client, order)
    shipment = order.shipments.get()
    # The other process: its scan is committed and the shared stamp forgotten, this process's copy is not.
    TrackingEvent.objects.create(
        shipment=shipment, occurred_at=timezone.now(), status=ShipmentStatus.IN_TRANSIT, location="Hub 9"
    )
    cache.delete(stamps._key(order.public_token))
    assert "Hub 9" not in page_of(client, order).content.decode()  # within the second: this worker's copy
    later = stamps.time.monotonic() + stamps.LOCAL_SECONDS + 0.01
    monkeypatch.setattr(stamps.time, "monotonic", lambda: later)
    assert "Hub 9" in page_of(client, order).content.decode()


def test_page_stamp_unknown_and_known(shop):
    order = place(shop)
    assert selectors.page_stamp("nope") is None
    stamp = selectors.page_stamp(order.public_token)
    assert stamp.order_id == order.pk and stamp.version == order.version and stamp.last_event_id


@pytest.mark.django_db(transaction=True)
def test_page_stamp_as_a_prepared_statement_outside_transactions(shop):
    """Outside a transaction (as in a request) the stamp runs as a prepared statement on PostgreSQL."""
    order = place(shop)
    first = selectors.page_stamp(order.public_token)
    again = selectors.page_stamp(order.public_token)
    assert first == again and first.order_id == order.pk
    assert selectors.page_stamp("unknown-token") is None
    if connection.vendor == "postgresql":
        assert connection.connection._tracking_stamp_prepared


def test_partial_street():
    assert selectors.partial_street("12 Harbour Street") == "12 Ha…"
    assert selectors.partial_street("5 Elm Road") == "5 E…"
    assert selectors.partial_street("B") == "B…"
    assert selectors.partial_street("") == ""
