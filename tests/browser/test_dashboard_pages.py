"""A shop owner goes through the dashboard's home, numbers, coupons and settings in a real browser."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from orders.models import Feedback, Order
from orders.services import Actor, request_return
from orders.states import OrderStatus
from shipping.models import Shipment
from shop.models import Role
from tests.browser.conftest import axe_violations, sign_in
from tests.factories import CouponFactory, MembershipFactory, ShopFactory, order_in, return_everything

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def a_month_of_orders(shop) -> None:
    """Orders spread over the last 30 days in every state (one to three a day), some late, some rated,
    one returned."""
    now = timezone.now()
    statuses = [OrderStatus.PENDING, OrderStatus.PROCESSED, OrderStatus.SHIPPED, OrderStatus.DELIVERED]
    delivered = []
    for n in range(40):
        status = statuses[n % 4] if n < 12 else statuses[2 + n % 2]  # the older ones have left
        order = order_in(status, shop=shop, email=f"buyer{n % 9}@example.net")
        # At most 28 days and 4 hours back: inside "the last 30 days" whatever the time of day.
        placed = now - timedelta(days=(n * 7) % 29 if n >= 4 else 0, hours=n % 5)
        fields = {"placed_at": placed}
        if order.shipped_at:
            fields["shipped_at"] = placed + timedelta(hours=6 + 3 * (n % 20))
        Order.objects.filter(pk=order.pk).update(**fields)
        if order.status == OrderStatus.DELIVERED:
            Feedback.objects.create(shop=shop, order=order, rating=3 + n % 3)
            delivered.append(order)
    return_everything(delivered[0])
    lines = {line.pk: 1 for line in delivered[1].lines.all()[:1]}
    request_return(delivered[1], lines=lines, reason="Wrong size", by=Actor.buyer())
    Order.objects.filter(pk=delivered[2].pk).update(awaiting_reply_since=now)
    Shipment.objects.filter(order__shop=shop, order__status=OrderStatus.SHIPPED).filter(
        order__placed_at__lt=now - timedelta(days=20)
    ).update(delay_reported_at=now)
    order_in(OrderStatus.CANCELLED, shop=shop)


@pytest.fixture
def owner_in_a_busy_shop(db):
    shop = ShopFactory(name="Demo Threads", slug="demo-threads", timezone="Europe/London")
    owner = MembershipFactory(shop=shop, role=Role.OWNER, user__email="owner@demo.example").user
    a_month_of_orders(shop)
    CouponFactory(shop=shop, code="WELCOME10", description="First order", times_used=4, usage_limit=100)
    return shop, owner


def test_home_and_numbers(live_server, page, screenshots, owner_in_a_busy_shop):
    _shop, owner = owner_in_a_busy_shop
    sign_in(page, live_server, owner)

    page.goto(f"{live_server.url}/dashboard/")
    expect(page.get_by_role("heading", name="Home", level=1)).to_be_visible()
    to_do = page.get_by_role("region", name="To do")
    expect(to_do.get_by_text("To process")).to_be_visible()
    expect(to_do.locator(".tile").first.locator(".figure")).to_have_text("3")
    expect(to_do.locator(".tile").filter(has_text="Return requests").locator(".figure")).to_have_text("1")
    expect(to_do.locator(".tile").filter(has_text="Messages waiting").locator(".figure")).to_have_text("1")
    expect(page.get_by_role("heading", name="Last 30 days")).to_be_visible()
    assert axe_violations(page) == []
    page.screenshot(path=str(screenshots / "dashboard-home.png"), full_page=True)

    # One click says sorry for a delayed parcel; the row then shows the coupon was sent.
    delayed = page.get_by_role("region", name="Delayed in transit")
    delayed.get_by_role("button", name=re.compile("Send an apology coupon")).first.click()
    expect(page.get_by_text(re.compile(r"Apology coupon SORRY-\w+ sent to"))).to_be_visible()
    expect(delayed.get_by_text("Coupon sent")).to_have_count(1)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Numbers").click()
    expect(page).to_have_url(re.compile(r"/dashboard/numbers/$"))
    canvas = page.locator("canvas#orders-chart")
    expect(canvas).to_be_visible()
    page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('orders-chart'))")
    expect(page.locator("[data-figure=orders]")).to_have_text("40")
    page.get_by_role("link", name="7 days").click()
    expect(page).to_have_url(re.compile(r"days=7"))
    expect(page.get_by_label("From")).to_have_value(re.compile(r"^\d{4}-\d{2}-\d{2}$"))
    page.get_by_role("link", name="30 days").click()
    page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('orders-chart'))")
    assert axe_violations(page) == []
    page.screenshot(path=str(screenshots / "dashboard-numbers.png"), full_page=True)


def test_create_a_coupon_through_the_form(live_server, page, screenshots, owner_in_a_busy_shop):
    _shop, owner = owner_in_a_busy_shop
    sign_in(page, live_server, owner)
    page.goto(f"{live_server.url}/dashboard/coupons/")
    expect(page.get_by_role("heading", name="Coupons", level=1)).to_be_visible()
    page.get_by_role("link", name="New coupon").click()

    # A percentage over 100 is refused beside the field, and what was typed stays.
    page.get_by_label("Code").fill("summer15")
    page.get_by_label("Kind").select_option(label="Percentage off")
    page.get_by_label("Value").fill("150")
    page.get_by_label("Description").fill("Summer sale")
    page.get_by_role("button", name="Create coupon").click()
    expect(page.locator("#id_value_error")).to_have_text("A percentage is more than 0 and at most 100.")
    expect(page.get_by_label("Code")).to_have_value("summer15")  # as typed
    assert axe_violations(page) == []

    page.get_by_label("Value").fill("15")
    page.get_by_role("button", name="Create coupon").click()
    expect(page.get_by_text("Coupon SUMMER15 created.")).to_be_visible()
    row = page.locator("tbody tr").filter(has=page.get_by_role("link", name="SUMMER15"))
    expect(row).to_contain_text("15% off")
    expect(row).to_contain_text("0")
    assert axe_violations(page) == []
    page.screenshot(path=str(screenshots / "dashboard-coupons.png"), full_page=True)


def test_settings_pages(live_server, page, screenshots, owner_in_a_busy_shop):
    _shop, owner = owner_in_a_busy_shop
    sign_in(page, live_server, owner)
    page.goto(f"{live_server.url}/dashboard/settings/")
    expect(page.get_by_role("heading", name="Settings", level=1)).to_be_visible()
    page.get_by_label("Name").fill("Demo Threads & Co")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Settings saved.")).to_be_visible()
    expect(page.get_by_label("Name")).to_have_value("Demo Threads & Co")
    assert axe_violations(page) == []
    page.screenshot(path=str(screenshots / "dashboard-settings.png"), full_page=True)

    for section in ("Notification texts", "Team", "API keys"):
        page.get_by_role("navigation", name="Settings sections").get_by_role("link", name=section).click()
        expect(page.get_by_role("link", name=section)).to_have_attribute("aria-current", "page")
        assert axe_violations(page) == [], section

    page.get_by_label("Name").fill("Storefront")
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_test_id("new-api-key")).to_have_value(re.compile(r"^ss_"))
    assert axe_violations(page) == []

    # A notification text: edit it and preview the draft on the latest order.
    page.get_by_role("link", name="Notification texts").click()
    page.get_by_role("link", name="Edit and preview shipment_shipped").click()
    page.get_by_label("Subject").fill("Parcel {{ order.number }} is off")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#id_body_text_error")).to_be_visible()  # a text of one's own needs a body
    expect(page.get_by_label("Subject")).to_have_value("Parcel {{ order.number }} is off")
    page.get_by_label("Text", exact=True).fill("Hello {{ order.ship_name }}, it left today.")
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_test_id("preview-subject")).to_contain_text(" is off")
    assert axe_violations(page) == []


def test_home_on_a_phone(live_server, phone, owner_in_a_busy_shop):
    _shop, owner = owner_in_a_busy_shop
    sign_in(phone, live_server, owner)
    phone.goto(f"{live_server.url}/dashboard/")
    expect(phone.get_by_role("heading", name="Home", level=1)).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert axe_violations(phone) == []
