"""An administrator works the order list in a real browser: sign in, filter, search, open, process."""

import re

import pytest
from playwright.sync_api import expect

from orders.models import Order
from orders.states import OrderStatus
from tests.factories import PASSWORD, ShopFactory, UserFactory, order_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, base_url: str, email: str) -> None:
    page.goto(f"{base_url}/admin/")
    expect(page).to_have_url(re.compile(r"/admin/login/"))
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Shops, orders and shipping")).to_be_visible()


def listed_numbers(page) -> list[str]:
    """The order numbers in the list, once the page that a click led to is fully parsed."""
    page.wait_for_load_state("domcontentloaded")
    return page.locator("#result_list tbody th.field-number a").all_inner_texts()


def row_of(page, order: Order):
    return page.locator("#result_list tbody tr").filter(
        has=page.get_by_role("link", name=order.number, exact=True)
    )


def test_admin_filters_searches_opens_and_processes_orders(live_server, page, screenshots):
    UserFactory(email="admin@example.com", full_name="Ada Admin", is_staff=True, is_superuser=True)
    shop = ShopFactory(name="Demo Threads", slug="demo-threads")
    to_process = order_in(OrderStatus.PENDING, shop=shop, email="first@example.net")
    unpaid = order_in(OrderStatus.PENDING, shop=shop, email="unpaid@example.net", paid=False)
    processed = order_in(OrderStatus.PROCESSED, shop=shop, email="processed@example.net")
    shipped = [order_in(OrderStatus.SHIPPED, shop=shop, email=f"shipped{n}@example.net") for n in range(2)]
    delivered = order_in(OrderStatus.DELIVERED, shop=shop, email="delivered@example.net")
    cancelled = order_in(OrderStatus.CANCELLED, shop=shop, email="cancelled@example.net")
    everyone = [to_process, unpaid, processed, *shipped, delivered, cancelled]

    sign_in(page, live_server.url, "admin@example.com")
    page.locator("#content-main").locator("a[href='/admin/orders/order/']").first.click()

    expect(page.get_by_role("heading", name="Select order to change")).to_be_visible()
    assert sorted(listed_numbers(page)) == sorted(order.number for order in everyone)
    expect(row_of(page, delivered).locator("td.field-status")).to_have_text("Delivered")
    expect(row_of(page, cancelled).locator("td.field-status")).to_have_text("Cancelled")
    expect(row_of(page, unpaid).locator("td.field-payment_status")).to_have_text("Unpaid")

    # The sidebar filter: only shipped orders remain.
    page.locator("#changelist-filter").get_by_role("link", name="Shipped", exact=True).click()
    expect(page).to_have_url(re.compile(r"status__exact=shipped"))
    expect(page.locator("#result_list td.field-status")).to_have_text(["Shipped", "Shipped"])
    assert sorted(listed_numbers(page)) == sorted(order.number for order in shipped)

    # Search by a parcel's tracking number, from the unfiltered list.
    page.goto(f"{live_server.url}/admin/orders/order/")
    tracking_number = shipped[1].shipments.get().tracking_number
    page.locator("#searchbar").fill(tracking_number)
    page.locator("#searchbar").press("Enter")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    assert listed_numbers(page) == [shipped[1].number]

    # The order page: read-only, with its parcel and its timeline.
    page.get_by_role("link", name=shipped[1].number, exact=True).click()
    timeline = page.locator("#events-group")
    expect(timeline.get_by_role("heading", name="Timeline")).to_be_visible()
    expect(timeline.locator("td.field-message")).to_have_text(
        list(shipped[1].events.order_by("created_at", "id").values_list("message", flat=True))
    )
    expect(timeline.locator("td.field-message").filter(has_text="Order shipped")).to_have_count(1)
    expect(page.locator("td.field-tracking_number")).to_have_text(tracking_number)

    # The "Process selected orders" action on the paid pending order.
    page.goto(f"{live_server.url}/admin/orders/order/")
    page.locator(f"input[name='_selected_action'][value='{to_process.pk}']").check()
    page.locator("select[name='action']").select_option(label="Process selected orders")
    page.get_by_role("button", name="Run").click()
    expect(page.locator(".messagelist .success")).to_have_text("1 order processed.")
    expect(row_of(page, to_process).locator("td.field-status")).to_have_text("Processed")
    page.locator("#toggle-nav-sidebar").click()  # room for every column in the screenshot
    page.evaluate("window.scrollTo(0, 0)")
    expect(page.locator("#result_list th.column-total_with_currency")).to_be_in_viewport()
    page.screenshot(path=str(screenshots / "admin-orders.png"))

    to_process.refresh_from_db()
    assert to_process.status == OrderStatus.PROCESSED
    assert to_process.events.filter(kind="processed", actor__email="admin@example.com").exists()


def test_admin_reports_an_illegal_move_without_changing_the_order(live_server, page):
    UserFactory(email="admin@example.com", is_staff=True, is_superuser=True)
    order = order_in(OrderStatus.PENDING, shop=ShopFactory(slug="corner-shop"))

    sign_in(page, live_server.url, "admin@example.com")
    page.goto(f"{live_server.url}/admin/orders/order/")
    page.locator(f"input[name='_selected_action'][value='{order.pk}']").check()
    page.locator("select[name='action']").select_option(label="Mark selected orders delivered")
    page.get_by_role("button", name="Run").click()

    expect(page.locator(".messagelist .error")).to_have_text(
        f"{order.number}: An order that is pending cannot become delivered. "
        "Allowed next: Processed, Cancelled."
    )
    expect(row_of(page, order).locator("td.field-status")).to_have_text("Pending")
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
