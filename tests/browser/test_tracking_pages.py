"""A buyer on a phone looks an order up by number and email, lands on its page and follows a parcel."""

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import expect

from orders.services import Actor, ParcelSpec, process_order, ship_order
from orders.services.tracking import record_scan
from shipping.models import ShipmentStatus
from tests.browser.conftest import axe_violations
from tests.factories import CouponFactory, ShopFactory, place, tracking_number

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def shipped_split_order(zone="UTC"):
    shop = ShopFactory(
        name="Demo Threads", slug="demo-threads", contact_phone="+44 20 7946 0000", timezone=zone
    )
    CouponFactory(shop=shop, code="WELCOME10")
    order = process_order(place(shop, email="ada@example.net", coupon_code="WELCOME10"), by=Actor.system())
    first, second = order.lines.all()
    now = timezone.now()
    order = ship_order(
        order,
        now=now - timedelta(hours=48),
        parcels=[
            ParcelSpec(tracking_number=tracking_number(), lines={first.pk: first.quantity}),
            ParcelSpec(tracking_number=tracking_number(), lines={second.pk: second.quantity}),
        ],
        by=Actor.system(),
    )
    parcel = order.shipments.order_by("id").first()
    for hours, location, status in (
        (30, "Leeds hub", ShipmentStatus.IN_TRANSIT),
        (6, "York depot", ShipmentStatus.IN_TRANSIT),
        (1, "York", ShipmentStatus.OUT_FOR_DELIVERY),
    ):
        record_scan(parcel, status=status, occurred_at=now - timedelta(hours=hours), location=location)
    return order, parcel


def test_buyer_looks_up_an_order_and_follows_a_parcel(live_server, phone, screenshots):
    cache.clear()
    order, parcel = shipped_split_order()

    phone.goto(f"{live_server.url}/track/")
    expect(phone.get_by_role("heading", name="Find your order")).to_be_visible()
    assert axe_violations(phone) == []
    phone.screenshot(path=str(screenshots / "tracking-lookup.png"), full_page=True)

    # A wrong pair first: the same plain answer whatever was wrong.
    phone.get_by_label("Order number").fill(order.number)
    phone.get_by_label("Email or shipping postcode").fill("someone@example.net")
    phone.get_by_role("button", name="Show my order").click()
    expect(phone.get_by_role("alert")).to_contain_text("We could not find an order with these details.")

    phone.get_by_label("Order number").fill(order.number.lower())
    phone.get_by_label("Email or shipping postcode").fill("ADA@example.net")
    phone.get_by_role("button", name="Show my order").click()
    expect(phone).to_have_url(re.compile(rf"/track/{re.escape(order.public_token)}/$"))
    expect(phone.get_by_role("heading", name=f"Order {order.number}")).to_be_visible()
    expect(phone.get_by_role("heading", name=re.compile(r"Status: Shipped"))).to_be_visible()

    first_parcel = phone.locator("article.parcel").first
    expect(
        first_parcel.get_by_role("heading", name=re.compile("Parcel 1: UPS · Out for delivery"))
    ).to_be_visible()
    scans = first_parcel.locator("ol.scans li")
    expect(scans).to_have_count(4)  # the shipping scan and three from the carrier
    expect(scans.first).to_contain_text("Out for delivery")  # newest first
    expect(scans.nth(1)).to_contain_text("York depot")
    expect(scans.nth(2)).to_contain_text("Leeds hub")
    link = first_parcel.get_by_role("link", name="Track on the UPS website")
    expect(link).to_have_attribute("href", f"https://www.ups.com/track?tracknum={parcel.tracking_number}")
    expect(phone.locator("article.parcel")).to_have_count(2)
    expect(phone.get_by_text("12 Ha…")).to_be_visible()
    expect(phone.get_by_text("Discount (coupon WELCOME10)")).to_be_visible()
    assert "12 Harbour Street" not in phone.content()

    assert axe_violations(phone) == []
    phone.screenshot(path=str(screenshots / "tracking-order.png"), full_page=True)

    # The page works without JavaScript: the same content is there from the server (no script renders it).
    assert phone.evaluate("document.querySelectorAll('script:not([src])').length") == 0


def test_order_page_sets_the_time_zone_cookie_for_the_next_visit(live_server, phone):
    cache.clear()
    order, _parcel = shipped_split_order(zone="Pacific/Chatham")
    phone.context.clear_cookies()
    phone.goto(f"{live_server.url}/track/{order.public_token}/")
    # First visit: the shop's zone.
    expect(phone.get_by_role("heading", name=re.compile(r"times in Pacific.Chatham")).first).to_be_visible()
    phone.wait_for_function("document.cookie.indexOf('tz=') !== -1")
    # The browser reported its own zone; the next visit uses it.
    zone = phone.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone")
    assert zone != "Pacific/Chatham"
    phone.reload()
    expect(
        phone.get_by_role("heading", name=re.compile("times in " + re.escape(zone).replace("/", "."))).first
    ).to_be_visible()
