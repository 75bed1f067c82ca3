""" "Change an item" on the tracking page: the policy in plain words, the buyer's request, its refusals, the
seller's answer on the page, the emails, and the page cache following every step."""

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import formats, timezone

from orders.models import BuyerRequest, EventKind, Notification, OrderEvent, RequestKind, RequestStatus
from orders.services import (
    Actor,
    LineSpec,
    approve_modification,
    decline_modification,
    process_order,
    request_modification,
    seller_modify_lines,
)
from orders.states import OrderStatus
from orders.tracking import form_tokens, page_cache, stamps
from orders.tracking.actions import order_with_parcels, page_context
from tests.factories import UserFactory, order_in, place

BUYER = Actor.buyer()


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    page_cache.clear_local()
    stamps.clear_local()
    yield
    cache.clear()
    page_cache.clear_local()
    stamps.clear_local()


@pytest.fixture
def client():
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def seller():
    return Actor.seller(UserFactory(full_name="Sam Seller"))


def page_url(order):
    return reverse("tracking:order", args=[order.public_token])


def change_url(order):
    return reverse("tracking:item_change", args=[order.public_token])


def html(response) -> str:
    return response.content.decode()


def tee_and_cap(order):
    """The two lines of every order ``place`` makes: 2 × T-shirt (M / black), 1 × Cap."""
    lines = list(order.lines.order_by("id"))
    return lines[0], lines[1]


def form_data(order, **asked) -> dict:
    """The item change form as the page sends it: every field with the value the page showed (and that value
    again as the hidden initial), then what the buyer typed: ``asked`` = {"<sku>": {"variant"?, "quantity"?},
    "message": "..."}."""
    data = {"modification-lines": ",".join(str(line.pk) for line in order.lines.order_by("id"))}
    for line in order.lines.order_by("id"):
        for key in ("variant", "quantity"):
            name = f"modification-line_{line.pk}_{key}"
            data[name] = data[f"initial-{name}"] = getattr(line, key)
        for key, value in asked.get(line.sku, {}).items():
            data[f"modification-line_{line.pk}_{key}"] = value
    data["modification-message"] = asked.get("message", "")
    return data


def send(client, order, data, *, follow=False, token=None, **headers):
    """POST the form with the token the page carries."""
    if token is None:
        page = html(client.get(page_url(order)))
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    return client.post(change_url(order), {**data, "csrfmiddlewaretoken": token}, follow=follow, **headers)


def open_requests(order):
    return BuyerRequest.objects.filter(order=order, kind=RequestKind.MODIFICATION, status=RequestStatus.OPEN)


def emails(order, template):
    return Notification.objects.filter(order=order, template=template)


# --- The policy, in plain words --------------------------------------------------------------------------


def test_within_the_policy_the_page_says_until_when_in_the_buyers_zone_and_offers_the_form(client, shop):
    shop.modification_window_hours = 24
    shop.timezone = "Europe/London"
    shop.save()
    order = place(shop)
    client.cookies["tz"] = "America/New_York"
    page = html(client.get(page_url(order)))
    deadline = timezone.localtime(order.placed_at + timedelta(hours=24), ZoneInfo("America/New_York"))
    assert "You can change sizes, colours or quantities until" in page
    assert f'<time datetime="{deadline.isoformat()}">' in page  # in the buyer's zone, as the page's times
    assert 'id="actions-modification-form"' in page
    tee, cap = tee_and_cap(order)
    assert f'name="modification-line_{tee.pk}_variant" value="M / black"' in page
    assert f'name="modification-line_{cap.pk}_quantity" value="1"' in page
    assert 'name="initial-modification-line_' in page  # the value shown travels with the form


def test_a_window_of_zero_hours_lasts_until_the_order_is_processed(client, shop):
    shop.modification_window_hours = 0
    shop.save()
    page = html(client.get(page_url(place(shop))))
    assert "You can change sizes, colours or quantities until the seller starts preparing your order." in page


@pytest.mark.parametrize(
    ("setup", "status", "reason"),
    [
        ("window_closed", OrderStatus.PENDING, "that time has passed."),
        ("disabled", OrderStatus.PENDING, "This shop does not change items once an order is placed."),
        (
            "",
            OrderStatus.PROCESSED,
            "Your order is already being prepared, so its items can no longer change.",
        ),
    ],
)
def test_outside_the_policy_the_page_says_why_and_points_to_the_message_form(
    client, shop, setup, status, reason
):
    shop.modification_window_hours = 1
    shop.allow_modifications = setup != "disabled"
    shop.save()
    placed = timezone.now() - timedelta(hours=2 if setup == "window_closed" else 0)
    order = place(shop, placed_at=placed)
    if status == OrderStatus.PROCESSED:
        order = process_order(order, by=Actor.system())
    page = html(client.get(page_url(order)))
    card = page[page.index('id="actions-modification"') :]
    assert reason in card
    assert '<a href="#actions-messages">Write to the seller instead</a>' in card
    assert 'id="actions-modification-form"' not in page
    assert 'id="actions-messages"' in page


def test_no_card_once_shipped_when_nothing_was_asked(client, shop):
    assert 'id="actions-modification"' not in html(
        client.get(page_url(order_in(OrderStatus.SHIPPED, shop=shop)))
    )


# --- The request ---------------------------------------------------------------------------------------


def test_the_buyer_asks_for_another_size_and_sees_it_waiting(client, shop):
    order = place(shop)
    tee, _cap = tee_and_cap(order)
    response = send(
        client, order, form_data(order, **{"TEE-M-BLK": {"variant": "L / black"}}, message="Thanks!")
    )
    assert response.status_code == 303
    assert response["Location"] == page_url(order) + "#actions-modification"
    buyer_request = open_requests(order).get()
    assert buyer_request.message == "Thanks!"
    assert buyer_request.payload["changes"] == [
        {
            "line_id": tee.pk,
            "sku": "TEE-M-BLK",
            "name": "T-shirt",
            "unit_price": "15.00",
            "before": {"variant": "M / black", "quantity": 2},
            "after": {"variant": "L / black", "quantity": 2},
        }
    ]
    event = OrderEvent.objects.filter(order=order, kind=EventKind.MODIFICATION_REQUESTED).get()
    assert event.actor_kind == "buyer"
    assert not Notification.objects.filter(order=order, template__startswith="modification").exists()

    page = html(client.get(response["Location"]))
    assert "Your item change request was sent to the seller. We will email you their answer." in page
    card = page[page.index('id="actions-modification"') :]
    assert "Your item change request is waiting for the seller." in card
    assert "2 × T-shirt (M / black), changed to 2 × T-shirt (L / black)" in card
    assert 'id="actions-modification-form"' not in page  # not offered twice


def test_only_what_the_buyer_changed_is_asked_so_a_sellers_edit_meanwhile_stays(client, shop, seller):
    order = place(shop)
    data = form_data(order, **{"TEE-M-BLK": {"variant": "L / black"}})  # the page as the buyer opened it
    tee, cap = tee_and_cap(order)
    seller_modify_lines(  # the seller makes it 3 T-shirts meanwhile
        order,
        lines=[
            LineSpec(
                id=tee.pk,
                sku=tee.sku,
                name=tee.name,
                variant=tee.variant,
                quantity=3,
                unit_price=tee.unit_price,
            ),
            LineSpec(
                id=cap.pk, sku=cap.sku, name=cap.name, variant="", quantity=1, unit_price=cap.unit_price
            ),
        ],
        by=seller,
    )
    assert send(client, order, data).status_code == 303
    (change,) = open_requests(order).get().payload["changes"]
    assert change["after"] == {"variant": "L / black", "quantity": 3}  # the quantity the buyer did not touch


def test_a_quantity_change_on_a_line_without_variant(client, shop):
    order = place(shop)
    assert send(client, order, form_data(order, **{"CAP-RED": {"quantity": "2"}})).status_code == 303
    (change,) = open_requests(order).get().payload["changes"]
    assert change["before"] == {"variant": "", "quantity": 1} and change["after"] == {
        "variant": "",
        "quantity": 2,
    }


def test_a_page_opened_before_the_request_replaces_it_and_says_so(client, shop):
    order = place(shop)
    stale = form_data(order, **{"CAP-RED": {"quantity": 3}})
    send(client, order, form_data(order, **{"TEE-M-BLK": {"quantity": 1}}))
    response = send(client, order, stale, follow=True)
    assert "Your item change request was updated. The seller will see the new one." in html(response)
    (change,) = open_requests(order).get().payload["changes"]
    assert change["sku"] == "CAP-RED" and change["after"]["quantity"] == 3
    assert BuyerRequest.objects.filter(order=order).count() == 1


# --- Mistakes come back in the page, nothing lost -------------------------------------------------------


@pytest.mark.parametrize("quantity", ["0", "-2", "two", ""])
def test_a_quantity_below_one_is_refused_beside_the_field_with_the_input_kept(client, shop, quantity):
    order = place(shop)
    tee, _cap = tee_and_cap(order)
    data = form_data(order, **{"TEE-M-BLK": {"variant": "XL / navy", "quantity": quantity}}, message="Please")
    response = send(client, order, data)
    assert response.status_code == 422
    page = html(response)
    assert "The quantity must be a whole number of at least 1. To drop an item, write to the seller." in page
    assert f'id="id_modification-line_{tee.pk}_quantity_error"' in page
    assert 'value="XL / navy"' in page and "Please</textarea>" in page  # kept
    assert 'id="actions-modification-form" open' in page
    assert re.search(rf'name="modification-line_{tee.pk}_quantity"[^>]*autofocus', page)
    assert not BuyerRequest.objects.exists()


def test_no_change_at_all_is_refused_in_the_form(client, shop):
    order = place(shop)
    response = send(client, order, form_data(order))
    assert response.status_code == 422
    assert "These are already the items of your order; change a size, colour or quantity first." in html(
        response
    )
    assert 'id="actions-modification-form" open' in html(response)
    assert not BuyerRequest.objects.exists()


def test_changing_back_to_the_current_items_is_no_change(client, shop):
    order = place(shop)
    data = form_data(order, **{"TEE-M-BLK": {"variant": "M / black", "quantity": "2"}})
    data[f"initial-modification-line_{tee_and_cap(order)[0].pk}_variant"] = "S / black"  # the page showed S
    response = send(client, order, data)
    assert response.status_code == 422
    assert "These are already the items of your order" in html(response)


def test_an_unknown_or_removed_line_shows_the_items_as_they_are_now(client, shop, seller):
    order = place(shop)
    other = place(shop)
    data = form_data(order, **{"TEE-M-BLK": {"variant": "L / black"}})
    data["modification-lines"] += f",{other.lines.first().pk}"  # a line of another order
    response = send(client, order, data)
    assert response.status_code == 422
    assert "The items of your order changed since this page was opened." in html(response)
    assert not BuyerRequest.objects.exists()

    # The seller removed the cap while the buyer was changing it.
    data = form_data(order, **{"CAP-RED": {"quantity": "2"}})
    tee, _cap = tee_and_cap(order)
    seller_modify_lines(
        order,
        lines=[
            LineSpec(
                id=tee.pk,
                sku=tee.sku,
                name=tee.name,
                variant=tee.variant,
                quantity=2,
                unit_price=tee.unit_price,
            )
        ],
        by=seller,
    )
    response = send(client, order, data)
    assert response.status_code == 422
    page = html(response)
    assert "Here they are as they are now: check your change and send it again." in page
    assert (
        "modification-line_" + str(tee.pk) in page and 'name="modification-line_' + str(_cap.pk) not in page
    )
    assert not BuyerRequest.objects.exists()


def test_texts_too_long_are_refused_beside_their_field(client, shop):
    order = place(shop)
    tee, _cap = tee_and_cap(order)
    response = send(client, order, form_data(order, **{"TEE-M-BLK": {"variant": "L" * 121}}))
    assert response.status_code == 422
    assert f'id="id_modification-line_{tee.pk}_variant_error"' in html(response)
    response = send(client, order, form_data(order, **{"TEE-M-BLK": {"variant": "L"}}, message="x" * 1001))
    assert response.status_code == 422 and 'id="id_modification-message_error"' in html(response)
    assert not BuyerRequest.objects.exists()


def test_a_page_opened_before_the_order_was_processed_gets_a_clear_answer_and_keeps_the_words(client, shop):
    order = place(shop)
    page = html(client.get(page_url(order)))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    data = form_data(order, **{"TEE-M-BLK": {"variant": "L / black"}}, message="For my brother")
    process_order(order, by=Actor.system())  # the seller starts meanwhile
    response = send(client, order, data, token=token)
    assert response.status_code == 422
    page = html(response)
    assert (
        "Your item change could not be sent: Your order is already being prepared, so its items can no "
        "longer change. What you asked is copied into the message form below" in page
    )
    assert "The seller is preparing your order for shipping." in page  # the current state
    assert 'id="actions-modification-form"' not in page
    # Nothing lost: the message form holds the change, ready to send.
    assert "Could I change my items to: 2 × T-shirt (L / black)?\nFor my brother</textarea>" in page
    assert not BuyerRequest.objects.exists()


def test_a_mistake_in_a_form_no_longer_allowed_says_why_the_form_is_gone(client, shop):
    order = place(shop)
    data = form_data(order, **{"TEE-M-BLK": {"quantity": "0"}})
    process_order(order, by=Actor.system())
    response = send(client, order, data)
    assert response.status_code == 422
    page = html(response)
    assert 'id="actions-refusal"' in page
    assert "Your order is already being prepared, so its items can no longer change." in page
    assert 'id="actions-modification-form"' not in page


def test_a_window_closed_meanwhile_is_refused_with_the_reason_in_the_buyers_zone(client, shop, monkeypatch):
    shop.modification_window_hours = 1
    shop.timezone = "Europe/London"
    shop.save()
    order = place(shop)
    client.cookies["tz"] = "Asia/Tokyo"
    data = form_data(order, **{"TEE-M-BLK": {"quantity": "3"}})
    later = timezone.now() + timedelta(hours=2)
    monkeypatch.setattr("django.utils.timezone.now", lambda: later)
    response = send(client, order, data)
    assert response.status_code == 422
    deadline = timezone.localtime(order.placed_at + timedelta(hours=1), ZoneInfo("Asia/Tokyo"))
    refusal = re.search(r'id="actions-refusal"><p>(.*?)</p>', html(response)).group(1)
    in_tokyo = (
        formats.time_format(deadline, "TIME_FORMAT")
        + " on "
        + formats.date_format(deadline, "MONTH_DAY_FORMAT")
    )
    assert f"Items could be changed until {in_tokyo}; that time has passed." in refusal
    assert "Could I change my items to: 3 × T-shirt (M / black)?" in html(response)
    assert not BuyerRequest.objects.exists()


# --- The door: POST, CSRF with the page's token, the order's link ----------------------------------------


def test_the_door_refuses_get_a_missing_or_wrong_token_and_an_unknown_order(client, shop):
    order = place(shop)
    data = form_data(order, **{"TEE-M-BLK": {"variant": "L / black"}})
    assert client.get(change_url(order)).status_code == 405
    assert client.post(change_url(order), data).status_code == 403
    other = place(shop)
    assert send(client, order, data, token=form_tokens.for_order(other.public_token)).status_code == 403
    assert send(client, order, data, token="0" * 64).status_code == 403
    unknown = "x" * 32
    forged = {**data, "csrfmiddlewaretoken": form_tokens.for_order(unknown)}
    assert client.post(reverse("tracking:item_change", args=[unknown]), forged).status_code == 404
    assert not BuyerRequest.objects.exists()


def test_a_post_from_another_site_is_refused_and_one_from_the_page_passes(client, shop):
    order = place(shop)
    data = form_data(order, **{"TEE-M-BLK": {"variant": "L / black"}})
    assert send(client, order, data, HTTP_ORIGIN="null", HTTP_SEC_FETCH_SITE="cross-site").status_code == 403
    assert not BuyerRequest.objects.exists()
    response = send(client, order, data, HTTP_ORIGIN="null", HTTP_SEC_FETCH_SITE="same-origin", secure=True)
    assert response.status_code == 303 and open_requests(order).exists()
    assert response["Cache-Control"] == "private, no-store"


# --- The seller's answer on the page, the emails, and the cache ------------------------------------------


def test_the_cached_page_follows_the_request_and_the_approval_with_one_email(
    client, shop, seller, django_assert_num_queries, django_capture_on_commit_callbacks
):
    order = place(shop)
    first = html(client.get(page_url(order)))
    with django_assert_num_queries(0):  # cached: no database, no rendering
        assert html(client.get(page_url(order))) == first

    with django_capture_on_commit_callbacks(execute=True):
        assert (
            send(client, order, form_data(order, **{"TEE-M-BLK": {"variant": "L / black"}})).status_code
            == 303
        )
    assert stamps.get(order.public_token) is None  # record_event forgot the stamp
    client.cookies.pop("messages", None)
    waiting = html(client.get(page_url(order)))
    assert "Your item change request is waiting for the seller." in waiting
    with django_assert_num_queries(0):
        assert html(client.get(page_url(order))) == waiting

    with django_capture_on_commit_callbacks(execute=True):
        approved = approve_modification(open_requests(order).get(), by=seller, shop=shop)
    assert approved.status == RequestStatus.APPROVED
    assert stamps.get(order.public_token) is None
    page = html(client.get(page_url(order)))
    assert "The seller approved your item change. Your order has the new items." in page
    items = page[page.index('id="items-title"') : page.index("</section>", page.index('id="items-title"'))]
    assert "(L / black)" in items and "(M / black)" not in items
    assert emails(order, "modification_approved").count() == 1
    assert not emails(order, "modification_declined").exists() and not emails(order, "lines_changed").exists()
    # Answered: the buyer may ask again.
    assert 'id="actions-modification-form"' in page


def test_the_cached_page_follows_the_decline_with_its_reason_and_one_email(client, shop, seller):
    order = place(shop)
    send(client, order, form_data(order, **{"CAP-RED": {"quantity": "4"}}))
    client.cookies.pop("messages", None)
    assert "waiting for the seller" in html(client.get(page_url(order)))
    decline_modification(open_requests(order).get(), reason="Only 2 caps left, sorry.", by=seller, shop=shop)
    page = html(client.get(page_url(order)))
    card = page[page.index('id="actions-modification"') :]
    assert "The seller declined your item change." in card
    assert "Reason: Only 2 caps left, sorry." in card
    assert "1 × Cap, changed to 4 × Cap" in card
    assert emails(order, "modification_declined").count() == 1
    assert not emails(order, "modification_approved").exists()


def test_an_approval_after_processing_shows_as_declined_with_the_reason(client, shop, seller):
    order = place(shop)
    send(client, order, form_data(order, **{"CAP-RED": {"quantity": "2"}}))
    process_order(order, by=seller)
    decided = approve_modification(open_requests(order).get(), by=seller, shop=shop)
    assert decided.status == RequestStatus.DECLINED
    client.cookies.pop("messages", None)
    page = html(client.get(page_url(order)))
    assert "The seller declined your item change." in page
    assert "The order was already being prepared, so its items could no longer change." in page
    assert emails(order, "modification_declined").count() == 1


def test_buyer_written_text_is_escaped(client, shop):
    order = place(shop)
    send(
        client,
        order,
        form_data(order, **{"CAP-RED": {"variant": "<script>alert(1)</script>"}}, message="<b>hi</b>"),
    )
    client.cookies.pop("messages", None)
    page = html(client.get(page_url(order)))
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    assert "<b>hi</b>" not in page


def test_the_card_reads_nothing_more_from_the_database(shop, rf, django_assert_num_queries):
    order = place(shop)
    request_modification(order, changes=[{"line_id": order.lines.first().pk, "quantity": 3}], by=BUYER)
    order = order_with_parcels(order)
    with django_assert_num_queries(3):  # requests, returns, the thread: as before the card
        context = page_context(rf.get("/"), order)
    assert context["actions"].modification.waiting


def test_a_cached_page_is_not_served_past_the_window(client, shop, monkeypatch):
    shop.modification_window_hours = 1
    shop.save()
    order = place(shop)
    assert 'id="actions-modification-form"' in html(client.get(page_url(order)))
    later = timezone.now() + timedelta(hours=1, minutes=1)
    monkeypatch.setattr("django.utils.timezone.now", lambda: later)
    monkeypatch.setattr(page_cache.time, "time", lambda: later.timestamp())
    page = html(client.get(page_url(order)))
    assert 'id="actions-modification-form"' not in page and "that time has passed." in page


def test_page_cache_keeps_an_entry_until_its_moment(monkeypatch):
    now = timezone.now()
    page_cache.put("k1", "body", until=now + timedelta(seconds=30))
    page_cache.put("k2", "body", until=now - timedelta(seconds=1))  # already past: not kept
    page_cache.put("k3", "body")
    assert page_cache.get("k1") == "body" and page_cache.get("k2") is None
    monkeypatch.setattr(page_cache.time, "time", lambda: (now + timedelta(seconds=31)).timestamp())
    assert page_cache.get("k1") is None  # the local layer
    page_cache.clear_local()
    assert page_cache.get("k1") is None  # the shared one
    assert page_cache.get("k3") == "body"
