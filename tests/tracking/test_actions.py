"""The buyer's actions on the tracking page: every form, its refusals, what the page shows in each state."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from orders.models import (
    BuyerRequest,
    EventKind,
    Feedback,
    Notification,
    OrderEvent,
    RequestKind,
    RequestStatus,
    Return,
    ReturnStatus,
)
from orders.services import Actor, approve_return, message_buyer, request_return
from orders.states import OrderStatus
from orders.tracking import form_tokens
from orders.tracking.actions import buyer_actions, page_context
from tests.factories import ADDRESS, SELLER, order_in

BUYER = Actor.buyer()
NEW_ADDRESS = {
    "address-name": "Ada Buyer",
    "address-line1": "3 Quay Lane",
    "address-line2": "",
    "address-city": "Bristol",
    "address-region": "",
    "address-postal_code": "BS1 4DJ",
    "address-country": "gb",
    "address-phone": "",
    "address-message": "",
}


@pytest.fixture
def client():
    return Client(enforce_csrf_checks=True)


def page_url(order):
    return reverse("tracking:order", args=[order.public_token])


def url(order, name, *args):
    return reverse(f"tracking:{name}", args=[order.public_token, *args])


def form_token(client, order) -> str:
    """The CSRF token the page's forms carry (bound to the order's link, see orders/tracking/form_tokens)."""
    page = client.get(page_url(order))
    assert page.status_code == 200
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html(page)).group(1)


def post(client, order, name, data, *args, follow=False):
    """A POST as the page's form sends it: with the CSRF token from the page."""
    data = {**data, "csrfmiddlewaretoken": form_token(client, order)}
    return client.post(url(order, name, *args), data, follow=follow)


def html(response) -> str:
    return response.content.decode()


# --- Every door is POST with CSRF and a real token --------------------------------------------------------


@pytest.mark.parametrize("name", ["address_change", "cancel", "return", "message", "feedback"])
def test_actions_refuse_get_a_missing_csrf_token_and_an_unknown_token(client, shop, name):
    order = order_in(OrderStatus.PENDING, shop=shop)
    assert client.get(url(order, name)).status_code == 405
    assert client.post(url(order, name), {}).status_code == 403  # no CSRF token
    token = form_token(client, order)
    other = order_in(OrderStatus.PENDING, shop=shop)
    assert client.post(url(other, name), {"csrfmiddlewaretoken": token}).status_code == 403  # another order's
    assert (
        client.post(
            url(order, name), {"csrfmiddlewaretoken": token[:-1] + ("1" if token.endswith("0") else "0")}
        ).status_code
        == 403
    )
    unknown = "x" * 32
    forged = {"csrfmiddlewaretoken": form_tokens.for_order(unknown)}
    assert client.post(reverse(f"tracking:{name}", args=[unknown]), forged).status_code == 404


@pytest.mark.parametrize(
    ("headers", "secure", "allowed"),
    [
        # The page's Referrer-Policy: no-referrer makes browsers send Origin: null and no Referer.
        ({"HTTP_ORIGIN": "null", "HTTP_SEC_FETCH_SITE": "same-origin"}, False, True),
        ({"HTTP_ORIGIN": "null", "HTTP_SEC_FETCH_SITE": "same-origin"}, True, True),
        ({"HTTP_SEC_FETCH_SITE": "same-origin"}, True, True),
        ({"HTTP_ORIGIN": "null", "HTTP_SEC_FETCH_SITE": "cross-site"}, False, False),
        ({"HTTP_ORIGIN": "null", "HTTP_SEC_FETCH_SITE": "same-site"}, True, False),
        ({"HTTP_SEC_FETCH_SITE": "cross-site"}, True, False),
        ({"HTTP_ORIGIN": "https://evil.example"}, True, False),
    ],
)
def test_forms_posted_under_no_referrer_pass_the_csrf_check_from_this_site_only(
    client, shop, headers, secure, allowed
):
    order = order_in(OrderStatus.PENDING, shop=shop)
    token = form_token(client, order)
    response = client.post(
        url(order, "message"),
        {"message-text": "Hello", "csrfmiddlewaretoken": token},
        secure=secure,
        **headers,
    )
    assert response.status_code == (303 if allowed else 403)
    assert OrderEvent.objects.filter(order=order, kind=EventKind.MESSAGE_FROM_BUYER).exists() == allowed


def test_actions_are_rate_limited_per_order(client, shop, monkeypatch):
    from orders.tracking import actions
    from orders.tracking.lookup import Limit

    monkeypatch.setattr(actions, "ACTION_LIMIT", Limit("buyer-actions-test", 2, 3600))
    order = order_in(OrderStatus.PENDING, shop=shop)
    for text in ("One", "Two"):
        assert post(client, order, "message", {"message-text": text}).status_code == 303
    third = post(client, order, "message", {"message-text": "Three"})
    assert third.status_code == 429 and int(third["Retry-After"]) > 0
    assert "Too many requests from this page. Try again in" in html(third)
    assert OrderEvent.objects.filter(order=order, kind=EventKind.MESSAGE_FROM_BUYER).count() == 2
    other = order_in(OrderStatus.PENDING, shop=shop)  # another order is not affected
    assert post(client, other, "message", {"message-text": "Hello"}).status_code == 303


def test_action_responses_are_private(client, shop):
    order = order_in(OrderStatus.PENDING, shop=shop)
    response = post(client, order, "message", {"message-text": ""})
    assert response["Cache-Control"] == "private, no-store"
    assert response["Referrer-Policy"] == "no-referrer"


# --- Address ----------------------------------------------------------------------------------------------


def test_the_buyer_proposes_an_address_and_sees_the_request(client, shop):
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    response = post(client, order, "address_change", NEW_ADDRESS)
    assert response.status_code == 303
    assert response["Location"] == page_url(order) + "#actions-requests"
    buyer_request = BuyerRequest.objects.get(order=order)
    assert buyer_request.status == RequestStatus.OPEN and buyer_request.payload["city"] == "Bristol"
    page = html(client.get(response["Location"]))
    assert "sent to the seller" in page
    assert "Waiting for the seller" in page and "Bristol" in page
    assert "3 Quay Lane" not in page  # the page never shows a full street, even the proposed one
    assert ADDRESS["line1"] not in page


def test_a_pending_order_takes_the_address_at_once_when_the_shop_allows(client, shop):
    shop.apply_buyer_address_changes = True
    shop.save()
    order = order_in(OrderStatus.PENDING, shop=shop)
    response = post(client, order, "address_change", NEW_ADDRESS, follow=True)
    order.refresh_from_db()
    assert order.ship_city == "Bristol"
    assert "Your new address is saved." in html(response)


def test_a_wrong_address_comes_back_with_the_errors_and_the_typed_input(client, shop):
    order = order_in(OrderStatus.PENDING, shop=shop)
    response = post(
        client, order, "address_change", {**NEW_ADDRESS, "address-city": "", "address-country": "G1"}
    )
    assert response.status_code == 422
    page = html(response)
    assert "This field is required." in page
    assert "Use a two-letter country code" in page
    assert 'value="3 Quay Lane"' in page  # kept
    assert 'id="actions-address" open' in page
    assert not BuyerRequest.objects.exists()


def test_the_address_form_is_gone_once_shipped_and_a_late_post_is_refused_plainly(client, shop):
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    token = form_token(client, order)
    # The buyer opened the page before the parcel left, and sends the form after.
    from orders.services import ParcelSpec, ship_order
    from tests.factories import tracking_number

    ship_order(order, parcels=[ParcelSpec(tracking_number=tracking_number())], by=SELLER)
    response = client.post(url(order, "address_change"), {**NEW_ADDRESS, "csrfmiddlewaretoken": token})
    assert response.status_code == 422
    assert "already shipped, so its address can no longer change" in html(response)
    page = html(client.get(page_url(order)))
    assert 'id="actions-address"' not in page
    assert "its address can no longer change" in page
    assert not BuyerRequest.objects.exists()


# --- Cancel -----------------------------------------------------------------------------------------------


def test_cancelling_a_pending_order_happens_at_once(client, shop):
    order = order_in(OrderStatus.PENDING, shop=shop)
    page = html(client.get(page_url(order)))
    assert "Cancel my order" in page and "refunded in full" in page
    response = post(client, order, "cancel", {"cancel-reason": "mistake"}, follow=True)
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert "I ordered by mistake" in order.cancel_reason
    assert "Your order is cancelled." in html(response)
    assert Notification.objects.filter(order=order, template="order_cancelled").count() == 1


def test_cancelling_a_processed_order_asks_the_seller(client, shop):
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    assert "Send my request to cancel" in html(client.get(page_url(order)))
    response = post(
        client, order, "cancel", {"cancel-reason": "other", "cancel-details": "Wrong colour"}, follow=True
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSED
    assert BuyerRequest.objects.get(order=order, kind=RequestKind.CANCELLATION).message == "Wrong colour"
    page = html(response)
    assert "Your request to cancel was sent to the seller" in page
    assert "You asked to cancel this order" in page and "Send my request to cancel" not in page


def test_another_reason_needs_words(client, shop):
    order = order_in(OrderStatus.PENDING, shop=shop)
    response = post(client, order, "cancel", {"cancel-reason": "other"})
    assert response.status_code == 422
    assert "Tell the seller the reason in a few words." in html(response)
    response = post(client, order, "cancel", {})
    assert response.status_code == 422 and "This field is required." in html(response)
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING


def test_cancel_after_shipping_is_refused(client, shop):
    order = order_in(OrderStatus.SHIPPED, shop=shop)
    page = html(client.get(page_url(order)))
    assert 'id="actions-cancel"' not in page
    assert "can no longer be cancelled" in page
    response = post(client, order, "cancel", {"cancel-reason": "mistake"})
    assert response.status_code == 422
    assert "already shipped, so it can no longer be cancelled" in html(response)
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED and not BuyerRequest.objects.exists()


# --- Returns ----------------------------------------------------------------------------------------------


def return_data(order, **quantities):
    lines = list(order.lines.all())
    data = {f"return-line_{line.pk}": quantities.get(line.sku, 0) for line in lines}
    return {**data, "return-reason": "fit", "return-details": ""}


def test_the_buyer_returns_items_within_the_window(client, shop):
    order = order_in(OrderStatus.DELIVERED, shop=shop)
    page = html(client.get(page_url(order)))
    assert "Ask for a return" in page and "You can ask for a return until" in page
    response = post(client, order, "return", return_data(order, **{"TEE-M-BLK": 1}), follow=True)
    return_request = Return.objects.get(order=order)
    assert return_request.status == ReturnStatus.REQUESTED
    assert return_request.reason == "It does not fit"
    assert [(rl.order_line.sku, rl.quantity) for rl in return_request.lines.all()] == [("TEE-M-BLK", 1)]
    assert OrderEvent.objects.get(order=order, kind=EventKind.RETURN_REQUESTED).actor_kind == "buyer"
    page = html(response)
    assert "Your return request was sent" in page
    assert f'id="return-{return_request.pk}"' in page and "1 × T-shirt (M / black)" in page
    assert "Up to 1" in page  # one T-shirt left to return


def test_a_return_needs_a_quantity_and_no_more_than_was_delivered(client, shop):
    order = order_in(OrderStatus.DELIVERED, shop=shop)
    response = post(client, order, "return", return_data(order))
    assert response.status_code == 422
    assert "Choose how many of each item you are sending back." in html(response)
    response = post(client, order, "return", return_data(order, **{"CAP-RED": 2}))
    assert response.status_code == 422
    assert "Ensure this value is less than or equal to 1." in html(response)
    assert not Return.objects.exists()


def test_a_return_outside_the_window_is_refused(client, shop):
    order = order_in(OrderStatus.DELIVERED, shop=shop)
    token = form_token(client, order)
    order.delivered_at = timezone.now() - timedelta(days=shop.return_window_days + 1)
    order.save(update_fields=["delivered_at"])
    response = client.post(
        url(order, "return"),
        {**return_data(order, **{"CAP-RED": 1}), "csrfmiddlewaretoken": token},
        follow=True,
    )
    page = html(response)
    assert f"The return window of {shop.return_window_days} days has closed." in page
    assert "The return window closed on" in page and "Ask for a return" not in page
    assert not Return.objects.exists()


def test_the_buyer_enters_the_return_parcels_tracking_number(client, shop):
    order = order_in(OrderStatus.DELIVERED, shop=shop)
    return_request = request_return(order, lines={order.lines.last().pk: 1}, reason="Broken", by=BUYER)
    approve_return(return_request, by=SELLER)
    key = f"tracking-{return_request.pk}"
    bad = post(client, order, "return_tracking", {f"{key}-tracking_number": "<x>"}, return_request.pk)
    assert bad.status_code == 422 and "A tracking number has 5 to 64" in html(bad)
    response = post(
        client, order, "return_tracking", {f"{key}-tracking_number": "jd014600006281"}, return_request.pk
    )
    assert response["Location"].endswith(f"#return-{return_request.pk}")
    return_request.refresh_from_db()
    assert return_request.return_tracking_number == "JD014600006281"
    page = html(client.get(page_url(order)))
    assert 'value="JD014600006281"' in page and "Update the tracking number" in page


def test_another_orders_return_is_not_found(client, shop):
    order = order_in(OrderStatus.DELIVERED, shop=shop)
    other = order_in(OrderStatus.DELIVERED, shop=shop)
    return_request = request_return(other, lines={other.lines.first().pk: 1}, reason="Broken", by=BUYER)
    response = post(client, order, "return_tracking", {"x": "1"}, return_request.pk)
    assert response.status_code == 404


# --- Messages ---------------------------------------------------------------------------------------------


def test_the_thread_keeps_both_sides_oldest_first_and_escapes_the_buyers_text(client, shop):
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    response = post(
        client, order, "message", {"message-text": "<script>alert(1)</script> Is it gift-wrapped?"}
    )
    assert response["Location"].endswith("#actions-messages")
    order.refresh_from_db()
    assert order.awaiting_reply_since is not None
    message_buyer(order, text="Yes, & with a card.", by=SELLER)
    order.refresh_from_db()
    assert order.awaiting_reply_since is None
    page = html(client.get(page_url(order)))
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Is it gift-wrapped?" in page
    assert page.index("Is it gift-wrapped?") < page.index("Yes, &amp; with a card.")


def test_an_empty_or_long_message_is_refused_beside_the_field(client, shop):
    order = order_in(OrderStatus.PENDING, shop=shop)
    empty = post(client, order, "message", {"message-text": "   "})
    assert empty.status_code == 422 and "This field is required." in html(empty)
    long = post(client, order, "message", {"message-text": "x" * 2001})
    assert long.status_code == 422 and "at most 2000 characters" in html(long)
    assert not OrderEvent.objects.filter(order=order, kind=EventKind.MESSAGE_FROM_BUYER).exists()


# --- Feedback ---------------------------------------------------------------------------------------------


def test_feedback_once_after_delivery(client, shop):
    order = order_in(OrderStatus.DELIVERED, shop=shop)
    response = post(
        client, order, "feedback", {"feedback-rating": "4", "feedback-comment": "<b>Quick</b>"}, follow=True
    )
    page = html(response)
    assert "Thank you for your feedback!" in page
    assert "You rated this order 4 out of 5" in page and "&lt;b&gt;Quick&lt;/b&gt;" in page
    assert 'action="' + url(order, "feedback") not in page
    second = post(client, order, "feedback", {"feedback-rating": "1"})
    assert second.status_code == 422
    assert "You already left feedback for this order." in html(second)
    assert Feedback.objects.get(order=order).rating == 4


def test_feedback_before_delivery_is_refused(client, shop):
    order = order_in(OrderStatus.SHIPPED, shop=shop)
    assert 'id="actions-feedback"' not in html(client.get(page_url(order)))
    response = post(client, order, "feedback", {"feedback-rating": "5"})
    assert response.status_code == 422
    assert "once your order is delivered" in html(response)


def test_a_rating_out_of_range_is_refused(client, shop):
    order = order_in(OrderStatus.DELIVERED, shop=shop)
    response = post(client, order, "feedback", {"feedback-rating": "9"})
    assert response.status_code == 422 and "Select a valid choice" in html(response)


# --- What the page offers in each state, in few queries -------------------------------------------------


@pytest.mark.parametrize(
    ("status", "address", "cancel", "returns", "feedback"),
    [
        (OrderStatus.PENDING, True, "now", False, False),
        (OrderStatus.PROCESSED, True, "request", False, False),
        (OrderStatus.SHIPPED, False, "", False, False),
        (OrderStatus.DELIVERED, False, "", True, True),
        (OrderStatus.CANCELLED, False, "", False, False),
    ],
)
def test_the_forms_follow_the_orders_state(shop, status, address, cancel, returns, feedback):
    from orders.tracking.actions import order_with_parcels

    order = order_with_parcels(order_in(status, shop=shop))
    actions = buyer_actions(order)
    assert (actions.address_form is not None) == address
    assert actions.cancel_mode == cancel
    assert (actions.return_form is not None) == returns
    assert (actions.feedback_form is not None) == feedback
    assert actions.message_form is not None


@pytest.mark.parametrize("status", list(OrderStatus))
def test_the_page_renders_in_every_state(client, shop, status):
    order = order_in(status, shop=shop)
    response = client.get(page_url(order))
    assert response.status_code == 200
    assert 'id="actions-messages"' in html(response)


def test_page_context_takes_few_queries(shop, rf, django_assert_num_queries):
    from orders.tracking.actions import order_with_parcels

    order = order_in(OrderStatus.DELIVERED, shop=shop)
    request_return(order, lines={order.lines.first().pk: 1}, reason="Broken", by=BUYER)
    message_buyer(order, text="Hello", by=SELLER)
    order = order_with_parcels(order)
    # requests, returns, their lines, feedback, the thread
    with django_assert_num_queries(5):
        context = page_context(rf.get("/"), order)
    assert context["actions"].return_form is not None and len(context["actions"].thread) == 1
