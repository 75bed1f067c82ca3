"""A seller imports a TikTok Shop orders export in a real browser: upload → preview → apply → progress →
result, on a desktop and on a phone; and the progress bar of a running import moves as the rows are done."""

import re

import pytest
from playwright.sync_api import expect

from orders.imports.samples import write_tiktok_csv
from orders.models import Order
from orders.models.imports import ImportState, OrderImport
from shop.models import Role
from tests.browser.conftest import axe_violations, sign_in
from tests.factories import MembershipFactory, ShopFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ORDERS_IN_FILE = 12


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def seller_shop():
    shop = ShopFactory(name="Demo Threads", slug="demo-threads", timezone="America/Los_Angeles")
    owner = MembershipFactory(shop=shop, role=Role.OWNER, user__email="owner@example.com").user
    return shop, owner


@pytest.fixture
def tiktok_export(tmp_path):
    path = tmp_path / "All order-2026-11-25-09_30.csv"
    write_tiktok_csv(path, orders=ORDERS_IN_FILE, seed=8)
    return path


def assert_no_sideways_scroll(page) -> None:
    assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")


def import_a_file(page, live_server, path) -> None:
    """From the orders list to a finished import, as the seller clicks through it."""
    page.goto(f"{live_server.url}/dashboard/orders/")
    page.get_by_role("link", name="Import orders").click()
    expect(page.get_by_role("heading", level=1, name="Import orders")).to_be_visible()
    assert axe_violations(page) == []
    assert_no_sideways_scroll(page)
    page.get_by_label("Orders file").set_input_files(str(path))
    expect(page.get_by_label("Exported from")).to_have_value("auto")
    page.get_by_role("button", name="Check the file").click()

    expect(page.get_by_role("heading", name="What the file holds")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Ready to apply")
    expect(page.locator("table.import-items tbody tr")).to_have_count(ORDERS_IN_FILE)
    assert axe_violations(page) == []
    assert_no_sideways_scroll(page)

    page.get_by_role("button", name=re.compile(r"^Import \d+ orders?$")).click()
    expect(page.get_by_role("heading", name="Import finished")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Done")


def test_import_a_tiktok_export_on_a_desktop(live_server, page, screenshots, seller_shop, tiktok_export):
    shop, owner = seller_shop
    sign_in(page, live_server, owner)

    import_a_file(page, live_server, tiktok_export)

    order_import = OrderImport.objects.get(shop=shop)
    assert order_import.state == ImportState.DONE
    created = Order.objects.for_shop(shop)
    assert created.count() == order_import.orders_new > 0
    expect(page.get_by_text(f"{order_import.orders_new} orders created", exact=True)).to_be_visible()
    assert axe_violations(page) == []
    page.screenshot(path=str(screenshots / "dashboard-imports.png"), full_page=True)

    page.get_by_role("link", name=re.compile(r"^See the \d+ orders created$")).click()
    first = created.order_by("placed_at", "id").first()
    order_link = page.get_by_role("link", name=first.external_refs.get().external_id)
    order_link.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Order {first.number}")

    page.get_by_role("link", name="Imports", exact=True).click()
    rows = page.locator("table.import-history tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(tiktok_export.name)
    expect(rows.first).to_contain_text("Done")
    assert axe_violations(page) == []


def test_import_a_tiktok_export_on_a_phone(live_server, phone, seller_shop, tiktok_export):
    shop, owner = seller_shop
    sign_in(phone, live_server, owner)

    import_a_file(phone, live_server, tiktok_export)

    assert Order.objects.for_shop(shop).exists()
    assert axe_violations(phone) == []
    assert_no_sideways_scroll(phone)


def test_the_progress_bar_of_a_running_import_moves_with_the_rows(live_server, page, seller_shop):
    shop, owner = seller_shop
    order_import = OrderImport.objects.create(
        shop=shop,
        created_by=owner,
        original_name="All order-2026-11-25-09_30.csv",
        state=ImportState.APPLYING,
        rows_total=100_000,
        rows_done=12_000,
    )
    sign_in(page, live_server, owner)
    page.goto(f"{live_server.url}/dashboard/imports/{order_import.pk}/")

    bar = page.locator("progress")
    expect(bar).to_have_attribute("max", "100000")
    expect(bar).to_have_attribute("value", "12000")
    status = page.locator("[aria-live=polite]").filter(has=bar)
    expect(status).to_contain_text("Imported 12,000 of 100,000 rows")
    expect(page.get_by_role("progressbar", name="Importing the orders")).to_be_visible()
    expect(page.get_by_role("link", name="Refresh")).to_be_hidden()  # htmx polls instead
    assert axe_violations(page) == []

    OrderImport.objects.filter(pk=order_import.pk).update(rows_done=57_500)
    expect(status).to_contain_text("Imported 57,500 of 100,000 rows")
    expect(bar).to_have_attribute("value", "57500")

    OrderImport.objects.filter(pk=order_import.pk).update(
        state=ImportState.DONE, rows_done=100_000, orders_new=3
    )
    expect(page.get_by_role("heading", name="Import finished")).to_be_visible()
    expect(page.locator("progress")).to_have_count(0)
