"""A seller in a real browser edits the items of a pending order: a quantity and a variant, the review with
what the buyer owes, then the new total and the timeline entry; on a desktop and on a phone."""

import pytest
from playwright.sync_api import expect

from orders.models import EventKind, Notification, OrderEvent
from orders.states import OrderStatus
from shop.models import Role
from tests.browser.conftest import axe_violations, sign_in
from tests.factories import MembershipFactory, ShopFactory, order_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def seller_shop():
    shop = ShopFactory(name="Demo Threads", slug="demo-threads")
    owner = MembershipFactory(
        shop=shop, role=Role.OWNER, user__email="owner@example.com", user__full_name="Olive Owner"
    ).user
    return shop, owner


def assert_fits_the_screen(page) -> None:
    too_wide = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
    assert too_wide <= 1, f"the page is {too_wide}px wider than the screen"


@pytest.mark.parametrize("device", ["page", "phone"])
def test_a_seller_changes_a_quantity_and_a_variant(device, request, live_server, seller_shop):
    browser_page = request.getfixturevalue(device)
    shop, owner = seller_shop
    order = order_in(
        OrderStatus.PENDING, shop=shop, email="ada@example.net"
    )  # 2 × T-shirt M / black, 1 × Cap
    sign_in(browser_page, live_server, owner)
    browser_page.goto(f"{live_server.url}/dashboard/orders/{order.number}/")
    heading = browser_page.get_by_role("heading", level=1)
    expect(heading).to_contain_text(f"Order {order.number}")

    browser_page.get_by_role("link", name="Edit items").click()
    expect(heading).to_contain_text(f"Edit the items of order {order.number}")
    assert axe_violations(browser_page) == []
    if device == "phone":
        assert_fits_the_screen(browser_page)

    tee = browser_page.get_by_role("group", name="T-shirt")
    expect(tee.get_by_role("textbox", name="Variant")).to_have_value("M / black")
    tee.get_by_role("textbox", name="Variant").fill("L / black")
    tee.get_by_role("spinbutton", name="Quantity").fill("3")
    browser_page.get_by_role("button", name="Review the change").click()

    review = browser_page.get_by_role("heading", name="Check the change before applying it")
    expect(review).to_be_visible()
    totals = browser_page.get_by_test_id("lines-totals")
    expect(totals).to_contain_text("$44.00")
    expect(totals).to_contain_text("$59.00")
    expect(totals).to_contain_text("The buyer owes")
    expect(totals).to_contain_text("$15.00")
    assert axe_violations(browser_page) == []
    if device == "phone":
        assert_fits_the_screen(browser_page)

    # Keyboard: "Apply change" is reachable and pressed with Enter.
    browser_page.get_by_role("button", name="Apply change").focus()
    browser_page.keyboard.press("Enter")

    expect(heading).to_contain_text(f"Order {order.number}")
    expect(browser_page.get_by_text("The buyer owes $15.00 more.")).to_be_visible()
    expect(browser_page.locator(".totals dd.grand")).to_have_text("$59.00")
    entry = browser_page.locator("[data-timeline] li.event-lines_changed")
    expect(entry).to_contain_text("Items changed")
    expect(entry).to_contain_text("3 × T-shirt (L / black)")
    expect(entry).to_contain_text("Total: $44.00 → $59.00")
    assert axe_violations(browser_page) == []
    if device == "phone":
        assert_fits_the_screen(browser_page)

    assert OrderEvent.objects.filter(order=order, kind=EventKind.LINES_CHANGED).count() == 1
    assert Notification.objects.filter(order=order, template="lines_changed").count() == 1
    order.refresh_from_db()
    assert str(order.total) == "59.00"


def test_a_zero_quantity_is_explained_beside_the_field_and_what_was_typed_stays(
    live_server, phone, seller_shop
):
    shop, owner = seller_shop
    order = order_in(OrderStatus.PENDING, shop=shop)
    sign_in(phone, live_server, owner)
    phone.goto(f"{live_server.url}/dashboard/orders/{order.number}/items/")
    cap = phone.get_by_role("group", name="Cap")
    cap.get_by_role("textbox", name="Variant").fill("red")
    cap.get_by_role("spinbutton", name="Quantity").fill("0")
    phone.get_by_role("button", name="Review the change").click()

    expect(phone.get_by_role("alert")).to_contain_text("Nothing is saved yet")
    expect(cap).to_contain_text("The quantity must be at least 1.")
    expect(cap.get_by_role("spinbutton", name="Quantity")).to_have_value("0")
    expect(cap.get_by_role("textbox", name="Variant")).to_have_value("red")
    assert axe_violations(phone) == []
    assert_fits_the_screen(phone)
