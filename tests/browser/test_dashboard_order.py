"""A seller in a real browser: process and ship an order from its page, ship from a file, settle a return."""

import re

import pytest
from playwright.sync_api import expect

from orders.models import Order
from orders.services import Actor, approve_return, receive_return, request_return
from orders.states import OrderStatus
from shop.models import Role
from tests.browser.conftest import axe_violations, sign_in
from tests.factories import MembershipFactory, ShopFactory, order_in, tracking_number

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def seller_shop():
    shop = ShopFactory(name="Demo Threads", slug="demo-threads")
    owner = MembershipFactory(
        shop=shop, role=Role.OWNER, user__email="owner@example.com", user__full_name="Olive Owner"
    ).user
    return shop, owner


def test_process_and_ship_an_order_from_its_page(live_server, page, screenshots, seller_shop):
    shop, owner = seller_shop
    order = order_in(OrderStatus.PENDING, shop=shop, email="ada@example.net")
    sign_in(page, live_server, owner)
    page.goto(f"{live_server.url}/dashboard/orders/{order.number}/")
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text(f"Order {order.number}")
    expect(heading).to_contain_text("Pending")
    assert axe_violations(page) == []

    page.get_by_role("button", name="Process order").click()
    expect(heading).to_contain_text("Processed")
    timeline = page.locator("[data-timeline]")
    expect(timeline.locator("li.event-processed")).to_contain_text("Order accepted and being prepared")
    expect(page.get_by_text(f"Order {order.number} is processed.")).to_be_visible()

    page.get_by_role("link", name="Ship…").click()
    dialog = page.get_by_role("dialog", name=f"Ship order {order.number}")
    expect(dialog).to_be_visible()
    number = tracking_number()
    dialog.get_by_role("textbox", name="Tracking number").press_sequentially(number.lower(), delay=5)
    expect(dialog.get_by_text("Detected carrier: UPS")).to_be_visible()
    expect(dialog.get_by_label("Carrier")).to_have_value("ups")
    assert axe_violations(page) == []
    dialog.get_by_role("button", name="Ship parcel").click()

    expect(heading).to_contain_text("Shipped")
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(timeline.locator("li.event-shipped")).to_contain_text("Order shipped")
    parcel_link = page.get_by_role("link", name=re.compile(number))
    expect(parcel_link).to_have_attribute(
        "href", re.compile(r"^https://www\.ups\.com/track\?tracknum=" + number)
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED
    page.get_by_role("button", name="Mark delivered").focus()
    page.screenshot(path=str(screenshots / "dashboard-order.png"), full_page=True)
    assert axe_violations(page) == []


def test_a_wrong_number_is_refused_beside_the_field_in_the_dialog(live_server, page, seller_shop):
    shop, owner = seller_shop
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    sign_in(page, live_server, owner)
    page.goto(f"{live_server.url}/dashboard/orders/{order.number}/")
    page.get_by_role("link", name="Ship…").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Carrier").select_option("royal-mail")
    dialog.get_by_role("textbox", name="Tracking number").fill("12345")
    dialog.get_by_role("button", name="Ship parcel").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("12345 is not a Royal Mail tracking number.")).to_be_visible()
    expect(dialog.get_by_role("textbox", name="Tracking number")).to_have_value("12345")
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PROCESSED


def test_order_page_on_a_phone(live_server, phone, seller_shop):
    shop, owner = seller_shop
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    sign_in(phone, live_server, owner)
    phone.goto(f"{live_server.url}/dashboard/orders/{order.number}/")
    phone.get_by_role("link", name="Ship…").click()
    dialog = phone.get_by_role("dialog")
    expect(dialog.get_by_role("button", name="Ship parcel")).to_be_in_viewport()
    dialog.get_by_role("button", name="Close").click()
    expect(phone.get_by_role("dialog")).to_have_count(0)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    assert axe_violations(phone) == []


def test_ship_orders_from_a_file_with_a_bad_row(live_server, page, screenshots, seller_shop):
    shop, owner = seller_shop
    ready = order_in(OrderStatus.PROCESSED, shop=shop)
    not_ready = order_in(OrderStatus.PENDING, shop=shop)
    content = (
        "Order number,Carrier,Tracking number\n"
        f"{ready.number},UPS,{tracking_number()}\n"
        f"{not_ready.number},ups,{tracking_number()}\n"
        f"{ready.number[:-1]}999,royal-mail,AB123456789GB\n"
    )
    sign_in(page, live_server, owner)
    page.goto(f"{live_server.url}/dashboard/shipping/upload/")
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "tracking.csv", "mimeType": "text/csv", "buffer": content.encode()}]
    )
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_role("heading", name="Check the shipping file")).to_be_visible()
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("OK")
    expect(rows.nth(1)).to_contain_text("only processed orders can ship")
    expect(rows.nth(2)).to_contain_text("in this shop")
    assert axe_violations(page) == []
    page.screenshot(path=str(screenshots / "dashboard-shipping-upload.png"), full_page=True)

    page.get_by_role("button", name="Ship 1 order").click()
    expect(page.get_by_role("heading", name="1 order shipped")).to_be_visible()
    expect(page.get_by_role("heading", name="2 rows not shipped")).to_be_visible()
    ready.refresh_from_db()
    not_ready.refresh_from_db()
    assert (ready.status, not_ready.status) == (OrderStatus.SHIPPED, OrderStatus.PENDING)


def test_approve_receive_and_refund_a_return(live_server, page, screenshots, seller_shop):
    shop, owner = seller_shop
    order = order_in(OrderStatus.DELIVERED, shop=shop)
    lines = {line.pk: line.quantity for line in order.lines.all()}
    return_request = request_return(order, lines=lines, reason="Too small", by=Actor.buyer())
    other = order_in(OrderStatus.DELIVERED, shop=shop, email="bo@example.net")
    second = request_return(
        other, lines={other.lines.first().pk: 1}, reason="Changed my mind", by=Actor.buyer()
    )
    approve_return(second, by=Actor.system())
    receive_return(second, by=Actor.system())

    sign_in(page, live_server, owner)
    page.goto(f"{live_server.url}/dashboard/returns/")
    expect(page.get_by_role("link", name=re.compile(r"^Requested")).first).to_have_attribute(
        "aria-current", "page"
    )
    card = page.locator(f"#return-{return_request.pk}")
    expect(card).to_contain_text("Too small")
    page.screenshot(path=str(screenshots / "dashboard-returns.png"), full_page=True)
    assert axe_violations(page) == []
    card.get_by_role("button", name="Approve").click()
    expect(page.get_by_text(f"Return for order {order.number} approved.")).to_be_visible()

    page.get_by_role("link", name=re.compile(r"^Approved")).click()
    page.locator(f"#return-{return_request.pk}").get_by_role("button", name="Mark received").click()
    expect(page.get_by_text(f"Return for order {order.number} marked received.")).to_be_visible()

    page.get_by_role("link", name=re.compile(r"^Received")).click()
    card = page.locator(f"#return-{return_request.pk}")
    expect(card.get_by_label("Refund amount")).to_have_value("39.50")
    assert axe_violations(page) == []
    card.get_by_role("button", name="Refund").click()
    expect(page.get_by_text(f"Return for order {order.number} refunded.")).to_be_visible()
    order.refresh_from_db()
    assert order.status == OrderStatus.RETURNED

    # The partial refund of the other return, from the same tab.
    card = page.locator(f"#return-{second.pk}")
    card.get_by_label("Refund amount").fill("5.00")
    card.get_by_role("button", name="Refund").click()
    expect(page.get_by_text(f"Return for order {other.number} refunded.")).to_be_visible()
    second.refresh_from_db()
    assert str(second.refund_amount) == "5.00"


def test_ship_without_javascript_uses_the_ship_page(live_server, browser, seller_shop):
    shop, owner = seller_shop
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    context = browser.new_context(java_script_enabled=False, locale="en-US")
    page = context.new_page()
    try:
        sign_in(page, live_server, owner)
        page.goto(f"{live_server.url}/dashboard/orders/{order.number}/")
        page.get_by_role("link", name="Ship…").click()
        expect(page).to_have_url(re.compile(rf"/orders/{order.number}/ship/$"))
        page.get_by_role("textbox", name="Tracking number").fill("1Z-bad")
        page.get_by_role("button", name="Ship parcel").click()
        expect(page.get_by_text("No carrier uses tracking numbers like 1ZBAD")).to_be_visible()
        number = tracking_number()
        page.get_by_role("textbox", name="Tracking number").fill(number)
        page.get_by_role("button", name="Ship parcel").click()
        expect(page).to_have_url(re.compile(rf"/orders/{order.number}/$"))
        expect(page.get_by_text("Parcel shipped.")).to_be_visible()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Shipped")
    finally:
        context.close()
