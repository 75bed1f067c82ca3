"""A seller works the order list in a browser: search, tabs, bulk processing, CSV export, phone layout."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from orders.states import OrderStatus
from shop.models import Role
from tests.browser.conftest import axe_violations, sign_in
from tests.factories import MembershipFactory, ShopFactory, order_in, place

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def seller_with_orders():
    shop = ShopFactory(name="Demo Threads", slug="demo-threads", ship_from_city="Leeds")
    seller = MembershipFactory(shop=shop, role=Role.STAFF, user__email="sam@example.com").user
    orders = {
        "to_process": [
            place(shop, email=f"buyer{n}@example.net", customer_name=f"Buyer {n}") for n in range(3)
        ],
        "unpaid": place(shop, email="unpaid@example.net", customer_name="Una Paid", paid=False),
        "processed": order_in(OrderStatus.PROCESSED, shop=shop, email="p@example.net"),
        "shipped": order_in(OrderStatus.SHIPPED, shop=shop, email="s@example.net"),
        "delivered": order_in(OrderStatus.DELIVERED, shop=shop, email="d@example.net"),
    }
    return shop, seller, orders


def rows(page):
    return page.locator("table.order-table tbody tr")


def test_seller_searches_filters_bulk_processes_and_exports(live_server, page, screenshots):
    _shop, seller, orders = seller_with_orders()
    sign_in(page, live_server, seller)
    page.goto(f"{live_server.url}/dashboard/orders/")
    expect(page.get_by_role("heading", name="Orders", exact=True)).to_be_visible()
    expect(rows(page)).to_have_count(7)
    expect(page.get_by_role("link", name=re.compile(r"^To process 4"))).to_be_visible()

    # Find an order by its number.
    wanted = orders["shipped"]
    page.get_by_label("Search", exact=True).fill(wanted.number.lower())
    page.get_by_role("button", name="Search", exact=True).click()
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first.get_by_role("link", name=wanted.number)).to_be_visible()
    expect(page).to_have_url(re.compile(rf"q={wanted.number.lower()}"))

    # Clear, then the "To process" tab.
    page.get_by_role("link", name="Clear filters").first.click()
    expect(rows(page)).to_have_count(7)
    page.get_by_role("link", name=re.compile(r"^To process")).click()
    expect(page).to_have_url(re.compile(r"status=pending"))
    expect(rows(page)).to_have_count(4)
    expect(page.get_by_role("link", name=re.compile(r"^To process"))).to_have_attribute(
        "aria-current", "page"
    )

    assert axe_violations(page) == []
    page.screenshot(path=str(screenshots / "dashboard-orders.png"), full_page=True)

    # Bulk-process two paid orders and the unpaid one: two done, one refused with its reason.
    chosen = [*orders["to_process"][:2], orders["unpaid"]]
    for order in chosen:
        page.get_by_label(f"Select order {order.number}").check()
    page.get_by_role("button", name="Process", exact=True).click()
    expect(page.locator(".message.success")).to_contain_text("2 orders processed")
    expect(page.locator(".message.error")).to_have_text(
        f"{orders['unpaid'].number}: The order is not paid and is not cash on delivery."
    )
    expect(page).to_have_url(re.compile(r"status=pending"))
    expect(rows(page)).to_have_count(2)  # the processed two left the "To process" tab
    for order in orders["to_process"][:2]:
        order.refresh_from_db()
        assert order.status == OrderStatus.PROCESSED

    # Export the whole filter as CSV: a download.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export all matching (CSV)").click()
    download = download_info.value
    assert download.suggested_filename.startswith("orders-demo-threads-all-")
    content = Path(download.path()).read_text(encoding="utf-8-sig")
    assert orders["unpaid"].number in content
    assert orders["delivered"].number not in content  # the export follows the "To process" tab


def test_select_all_and_print_packing_slips(live_server, page):
    _shop, seller, orders = seller_with_orders()
    sign_in(page, live_server, seller)
    page.goto(f"{live_server.url}/dashboard/orders/?status=pending")
    page.get_by_label("Select every order on this page").check()
    expect(page.locator("input[name='orders']:checked")).to_have_count(4)
    page.get_by_role("button", name="Print packing slips").click()
    expect(page.locator("article.slip")).to_have_count(4)
    expect(page.get_by_role("heading", name=f"Packing slip · {orders['unpaid'].number}")).to_be_visible()
    assert axe_violations(page) == []


def test_the_list_fits_a_phone(live_server, phone, screenshots):
    _shop, seller, _orders = seller_with_orders()
    sign_in(phone, live_server, seller)
    phone.goto(f"{live_server.url}/dashboard/orders/")
    expect(rows(phone)).to_have_count(7)
    overflow = phone.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    assert axe_violations(phone) == []
    phone.screenshot(path=str(screenshots / "dashboard-orders-phone.png"), full_page=True)


def test_filters_apply_as_they_change_and_keep_the_url(live_server, page):
    _shop, seller, orders = seller_with_orders()
    sign_in(page, live_server, seller)
    page.goto(f"{live_server.url}/dashboard/orders/")
    page.get_by_text("Filters and sort").click()
    page.get_by_label("Payment").select_option("unpaid")  # htmx swaps the listing in, no button press
    expect(page).to_have_url(re.compile(r"payment_status=unpaid"))
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first.get_by_role("link", name=orders["unpaid"].number)).to_be_visible()
    expect(page.get_by_role("link", name=re.compile(r"^All 1"))).to_be_visible()
    assert axe_violations(page) == []
    # Save it as a view; it is listed above the tabs and opens again.
    page.get_by_label("Save these filters as a view").fill("Unpaid")
    page.get_by_role("button", name="Save view").click()
    expect(page.locator(".message.success")).to_have_text("View “Unpaid” saved.")
    page.goto(f"{live_server.url}/dashboard/orders/")
    expect(rows(page)).to_have_count(7)
    page.get_by_role("navigation", name="Saved views").get_by_role("link", name="Unpaid").click()
    expect(rows(page)).to_have_count(1)
