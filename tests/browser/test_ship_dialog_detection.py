"""The ship dialog asks the detect endpoint as the seller types: one carrier is chosen, several are listed,
a wrong check digit is said, and the parcel ships with the carrier the server agrees on."""

import pytest
from playwright.sync_api import expect

from orders.states import OrderStatus
from shop.models import Role
from tests.browser.conftest import axe_violations, sign_in
from tests.factories import MembershipFactory, ShopFactory, order_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_typing_a_ups_then_an_ambiguous_number_into_the_ship_dialog(live_server, page):
    shop = ShopFactory(name="Demo Threads", slug="demo-threads")
    owner = MembershipFactory(shop=shop, role=Role.OWNER, user__email="owner@example.com").user
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    sign_in(page, live_server, owner)
    page.goto(f"{live_server.url}/dashboard/orders/{order.number}/")
    page.get_by_role("link", name="Ship…").click()
    dialog = page.get_by_role("dialog", name=f"Ship order {order.number}")
    field = dialog.get_by_role("textbox", name="Tracking number")
    carrier = dialog.get_by_label("Carrier")
    status = dialog.locator("[data-carrier-detected]")
    expect(status).to_have_attribute("aria-live", "polite")

    field.press_sequentially("1z5r 8939 0357 5671 27", delay=10)
    expect(status).to_have_text("Detected carrier: UPS")
    expect(carrier).to_have_value("ups")

    field.press("Backspace")
    field.press_sequentially("8")  # the check digit no longer fits
    expect(status).to_have_text(
        "Not a valid tracking number for any carrier we know: check it, or choose the carrier."
    )
    expect(carrier).to_have_value("")

    field.fill("")
    field.press_sequentially("578827955787", delay=10)  # FedEx's and Purolator's check digits both pass
    expect(status).to_have_text("Could be: FedEx, Purolator")
    expect(carrier).to_have_value("")
    assert axe_violations(page) == []

    dialog.get_by_role("button", name="Ship parcel").click()  # the server refuses to guess, as the page did
    dialog = page.get_by_role("dialog")
    expect(
        dialog.get_by_text("578827955787 could belong to FedEx, Purolator; choose the carrier.")
    ).to_be_visible()
    dialog.get_by_label("Carrier").select_option("purolator")
    dialog.get_by_role("button", name="Ship parcel").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Shipped")
    assert order.shipments.get().carrier.code == "purolator"
