"""A buyer on a phone, on the order's tracking page: asks for a return, and changes the shipping address."""

import re

import pytest
from playwright.sync_api import expect

from orders.models import BuyerRequest, RequestStatus, Return, ReturnStatus
from orders.services import approve_return
from orders.states import OrderStatus
from tests.browser.conftest import axe_violations
from tests.factories import SELLER, ShopFactory, order_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def open_order(phone, live_server, order) -> None:
    phone.goto(f"{live_server.url}/track/{order.public_token}/")
    expect(phone.get_by_role("heading", name=f"Order {order.number}")).to_be_visible()


def test_the_buyer_asks_for_a_return_and_adds_the_parcel_number(live_server, phone, screenshots):
    shop = ShopFactory(name="Demo Threads", slug="demo-threads", return_window_days=30)
    order = order_in(OrderStatus.DELIVERED, shop=shop)
    open_order(phone, live_server, order)

    returns = phone.locator("#actions-return")
    returns.get_by_text("Return items").click()
    # Nothing chosen: the page says so, next to the form, and keeps the chosen reason.
    returns.get_by_label("It does not fit").check()
    returns.get_by_role("button", name="Ask for a return").click()
    expect(phone.get_by_text("Choose how many of each item you are sending back.")).to_be_visible()
    expect(phone.get_by_label("It does not fit")).to_be_checked()

    phone.get_by_label("T-shirt (M / black)").fill("1")
    phone.get_by_role("button", name="Ask for a return").click()
    expect(phone.get_by_role("status")).to_contain_text("Your return request was sent")
    expect(phone).to_have_url(re.compile(r"#actions-return$"))
    return_request = Return.objects.get(order=order)
    card = phone.locator(f"#return-{return_request.pk}")
    expect(card).to_contain_text("1 × T-shirt (M / black)")
    expect(card).to_contain_text("Requested")

    approve_return(return_request, by=SELLER)
    phone.reload()
    expect(card).to_contain_text("Approved: send the items back")
    card.get_by_label("Tracking number of your return parcel").fill("jd014600006281")
    card.get_by_role("button", name="Save the tracking number").click()
    expect(phone.get_by_role("status")).to_contain_text("tracking number of your return parcel is saved")
    return_request.refresh_from_db()
    assert return_request.status == ReturnStatus.APPROVED
    assert return_request.return_tracking_number == "JD014600006281"

    assert axe_violations(phone) == []
    phone.locator("#actions-return").screenshot(path=str(screenshots / "tracking-return.png"))


def test_the_buyer_proposes_a_new_address(live_server, phone, screenshots):
    shop = ShopFactory(name="Demo Threads", slug="demo-threads")
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    open_order(phone, live_server, order)

    requests = phone.locator("#actions-requests")
    requests.get_by_text("Change the shipping address").click()
    phone.get_by_label("Recipient").fill("Ada Buyer")
    phone.get_by_label("Address line 1").fill("3 Quay Lane")
    phone.get_by_label("Postcode").fill("BS1 4DJ")
    phone.get_by_label("Country").fill("gb")
    phone.get_by_role("button", name="Send the new address").click()
    # The city was left out: the error is beside it, what was typed is kept, the field has the focus.
    city = phone.get_by_label("City")
    expect(city).to_be_focused()
    expect(phone.locator("#actions-address")).to_contain_text("This field is required.")
    expect(phone.get_by_label("Address line 1")).to_have_value("3 Quay Lane")

    city.fill("Bristol")
    phone.get_by_role("button", name="Send the new address").click()
    expect(phone.get_by_role("status")).to_contain_text("Your new address was sent to the seller")
    expect(requests).to_contain_text("Waiting for the seller")
    expect(requests).to_contain_text("Bristol BS1 4DJ, GB")
    assert BuyerRequest.objects.get(order=order).status == RequestStatus.OPEN
    assert "3 Quay Lane" not in phone.content()  # the page never shows a full street

    assert axe_violations(phone) == []
    requests.screenshot(path=str(screenshots / "tracking-address.png"))


def test_the_seller_approves_the_address_from_the_requests_queue(live_server, page):
    from orders.services import Actor, request_address_change
    from shop.models import Role
    from tests.browser.conftest import sign_in
    from tests.factories import MembershipFactory

    shop = ShopFactory(name="Demo Threads", slug="demo-threads")
    staff = MembershipFactory(shop=shop, role=Role.STAFF).user
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    address = {"name": "Ada Buyer", "line1": "3 Quay Lane", "city": "Bristol", "postal_code": "BS1 4DJ"}
    request_address_change(order, address={**address, "country": "GB"}, by=Actor.buyer())
    sign_in(page, live_server, staff)
    page.goto(f"{live_server.url}/dashboard/requests/")
    card = page.locator("article.buyer-request")
    expect(card).to_contain_text("3 Quay Lane")
    assert axe_violations(page) == []
    card.get_by_role("button", name="Approve and change the address").click()
    expect(page.get_by_role("status")).to_contain_text(f"Request for order {order.number} approved")
    order.refresh_from_db()
    assert order.ship_line1 == "3 Quay Lane"
