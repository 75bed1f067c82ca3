"""A buyer asks to change an item on the tracking page; the seller answers from the requests queue; the buyer
sees the answer. On a phone with an approval, and on a desktop with a decline and its reason."""

import re

import pytest
from playwright.sync_api import expect

from orders.models import BuyerRequest, Notification, RequestKind, RequestStatus
from shop.models import Role
from tests.browser.conftest import axe_violations, sign_in
from tests.factories import MembershipFactory, ShopFactory, place

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def seller_shop():
    shop = ShopFactory(name="Demo Threads", slug="demo-threads", modification_window_hours=24)
    owner = MembershipFactory(
        shop=shop, role=Role.OWNER, user__email="owner@example.com", user__full_name="Olive Owner"
    ).user
    return shop, owner


@pytest.fixture
def desktop_buyer(browser):
    """A second desktop browser window, for the buyer (the ``page`` fixture is the seller's)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def open_tracking_page(buyer, live_server, order):
    buyer.goto(f"{live_server.url}/track/{order.public_token}/")
    expect(buyer.get_by_role("heading", name=f"Order {order.number}")).to_be_visible()
    return buyer.locator("#actions-modification")


def ask_for(buyer, card, *, item: str, variant: str | None = None, quantity: str | None = None, note=""):
    line = card.get_by_role("group", name=re.compile(item))
    if variant is not None:
        line.get_by_label("Size or colour").fill(variant)
    if quantity is not None:
        line.get_by_label("Quantity").fill(quantity)
    if note:
        card.get_by_label("Note for the seller (optional)").fill(note)
    card.get_by_role("button", name="Send my change to the seller").click()


def no_sideways_scroll(buyer) -> bool:
    return buyer.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def seller_opens_the_request(page, live_server, owner, order):
    sign_in(page, live_server, owner)
    page.goto(f"{live_server.url}/dashboard/requests/")
    buyer_request = BuyerRequest.objects.get(order=order, kind=RequestKind.MODIFICATION)
    card = page.locator(f"#request-{buyer_request.pk}")
    expect(card).to_contain_text(f"Order {order.number}")
    expect(card).to_contain_text("Item change")
    expect(card).to_contain_text("Waiting for the seller")
    return buyer_request, card


def test_on_a_phone_the_buyer_changes_a_size_and_the_seller_approves(
    live_server, phone, page, seller_shop, screenshots
):
    shop, owner = seller_shop
    order = place(shop)
    card = open_tracking_page(phone, live_server, order)
    expect(card).to_contain_text("You can change sizes, colours or quantities until")

    card.get_by_text("Change a size, colour or quantity").click()
    expect(card.get_by_role("group", name=re.compile("T-shirt"))).to_be_visible()
    assert axe_violations(phone) == []
    assert no_sideways_scroll(phone)

    # A quantity of zero: the error is beside the field, which has the focus; what was typed is kept.
    ask_for(phone, card, item="T-shirt", variant="L / black", quantity="0")
    quantity = card.get_by_role("group", name=re.compile("T-shirt")).get_by_label("Quantity")
    expect(quantity).to_be_focused()
    expect(card).to_contain_text("The quantity must be a whole number of at least 1.")
    expect(
        card.get_by_role("group", name=re.compile("T-shirt")).get_by_label("Size or colour")
    ).to_have_value("L / black")
    assert axe_violations(phone) == []

    ask_for(phone, card, item="T-shirt", quantity="2")
    expect(phone.get_by_role("status")).to_contain_text("Your item change request was sent to the seller")
    expect(phone).to_have_url(re.compile(r"#actions-modification$"))
    expect(card).to_contain_text("Your item change request is waiting for the seller.")
    expect(card).to_contain_text("2 × T-shirt (M / black), changed to 2 × T-shirt (L / black)")
    expect(card.get_by_role("button", name="Send my change to the seller")).to_have_count(0)
    assert no_sideways_scroll(phone)

    # The seller, at a desk: the request waits in the queue; approving applies it.
    buyer_request, request_card = seller_opens_the_request(page, live_server, owner, order)
    expect(request_card).to_contain_text("L / black")
    request_card.get_by_role("button", name=re.compile(r"^Approve")).click()
    expect(page.get_by_text(f"Request for order {order.number} approved")).to_be_visible()
    buyer_request.refresh_from_db()
    assert buyer_request.status == RequestStatus.APPROVED
    assert Notification.objects.filter(order=order, template="modification_approved").count() == 1

    phone.goto(f"{live_server.url}/track/{order.public_token}/")
    expect(card).to_contain_text("The seller approved your item change. Your order has the new items.")
    items = phone.locator("section[aria-labelledby=items-title]")
    expect(items).to_contain_text("2 × T-shirt (L / black)")
    expect(items).not_to_contain_text("M / black")
    card.get_by_text("Change a size, colour or quantity").click()  # answered: the buyer may ask again
    assert axe_violations(phone) == []
    card.screenshot(path=str(screenshots / "tracking-item-change.png"))


def test_on_a_desktop_the_buyer_changes_a_quantity_and_the_seller_declines_saying_why(
    live_server, desktop_buyer, page, seller_shop
):
    shop, owner = seller_shop
    order = place(shop)
    card = open_tracking_page(desktop_buyer, live_server, order)
    card.get_by_text("Change a size, colour or quantity").click()
    assert axe_violations(desktop_buyer) == []

    # Nothing changed yet: the page says so.
    card.get_by_role("button", name="Send my change to the seller").click()
    expect(card).to_contain_text("These are already the items of your order")

    ask_for(desktop_buyer, card, item="Cap", quantity="4", note="For the team")
    expect(desktop_buyer.get_by_role("status")).to_contain_text("sent to the seller")
    expect(card).to_contain_text("Your item change request is waiting for the seller.")

    buyer_request, request_card = seller_opens_the_request(page, live_server, owner, order)
    request_card.get_by_label("Reason (the buyer reads it)").fill("Only two caps left, sorry.")
    request_card.get_by_role("button", name=re.compile(r"^Decline")).click()
    expect(page.get_by_text(f"Request for order {order.number} declined")).to_be_visible()
    buyer_request.refresh_from_db()
    assert buyer_request.status == RequestStatus.DECLINED
    assert Notification.objects.filter(order=order, template="modification_declined").count() == 1

    desktop_buyer.reload()
    expect(card).to_contain_text("The seller declined your item change.")
    expect(card).to_contain_text("Reason: Only two caps left, sorry.")
    expect(card).to_contain_text("1 × Cap, changed to 4 × Cap")
    items = desktop_buyer.locator("section[aria-labelledby=items-title]")
    expect(items).to_contain_text("1 × Cap")
    assert axe_violations(desktop_buyer) == []
