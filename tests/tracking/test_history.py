"""'All my orders': the request form (no disclosure, rate-limited), the emailed signed link, and the list."""

import re

import pytest
from django.core import signing
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from orders.states import OrderStatus
from orders.tracking import history, lookup
from tests.factories import ShopFactory, order_in, place

pytestmark = pytest.mark.django_db
URL = "/track/history/"
ANSWER = "If we have orders for this address, we sent a link."


@pytest.fixture(autouse=True)
def empty_cache(monkeypatch):
    cache.clear()
    # Two minutes into a 15-minute window: no test straddles a window's end.
    monkeypatch.setattr(lookup, "clock", lambda: 900 * 2_000_000 + 120.0)
    yield
    cache.clear()


def ask(client, email, shop=""):
    return client.post(URL, {"email": email, "shop": shop})


def link_in(message) -> str:
    return re.search(r"http\S+/track/history/\S+/", message.body).group(0)


def test_form_page_keeps_the_shop_from_the_order_page(client, shop):
    response = client.get(URL + "?shop=demo-threads")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'type="hidden" name="shop" value="demo-threads"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert response["Referrer-Policy"] == "no-referrer"


def test_same_answer_whether_or_not_the_address_has_orders(
    client, shop, mailoutbox, django_capture_on_commit_callbacks
):
    place(shop, email="ada@example.net")
    answers = []
    for email in ("ada@example.net", "nobody@example.net"):
        with django_capture_on_commit_callbacks(execute=True):
            response = ask(Client(REMOTE_ADDR=f"10.0.0.{len(answers)}"), email)
        answers.append((response.status_code, response["Location"]))
    assert answers[0] == answers[1] == (303, "/track/history/?sent=1")
    assert ANSWER in client.get(answers[0][1]).content.decode()
    assert [m.to for m in mailoutbox] == [["ada@example.net"]]


def test_email_in_the_buyers_language_with_a_link_that_lists_their_orders(
    client, shop, other_shop, mailoutbox, django_capture_on_commit_callbacks
):
    first = place(shop, email="ada@example.net", language="fr")
    second = order_in(OrderStatus.SHIPPED, shop=shop, email="ada@example.net", language="fr")
    not_mine = place(shop, email="bob@example.net")
    elsewhere = place(other_shop, email="ada@example.net")
    with django_capture_on_commit_callbacks(execute=True):
        ask(client, "ADA@example.net", shop="demo-threads")
    [message] = mailoutbox
    assert message.to == ["ada@example.net"]
    assert message.subject == "Demo Threads\u00a0: vos commandes"  # French, with French punctuation
    assert '<html lang="fr">' in message.alternatives[0][0]  # rendered in the buyer's language
    assert message.reply_to == [shop.contact_email]
    response = client.get(link_in(message).split("127.0.0.1:8000", 1)[-1])
    html = response.content.decode()
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    assert response["Referrer-Policy"] == "no-referrer"
    for order in (first, second):
        assert order.number in html and f"/track/{order.public_token}/" in html
    assert not_mine.public_token not in html
    assert elsewhere.public_token not in html  # another shop's order: another link
    assert "Shipped" in html and "2 × T-shirt" in html and "$44.00" in html


def test_without_a_shop_one_link_per_shop_with_orders(
    client, shop, other_shop, mailoutbox, django_capture_on_commit_callbacks
):
    place(shop, email="ada@example.net")
    place(other_shop, email="ada@example.net")
    ShopFactory(slug="no-orders-here")
    with django_capture_on_commit_callbacks(execute=True):
        ask(client, "ada@example.net")
    assert sorted(m.subject for m in mailoutbox) == ["Demo Threads: your orders", "Other Goods: your orders"]


def test_expired_link_is_refused_with_a_form_for_a_new_one(client, shop, settings):
    place(shop, email="ada@example.net")
    token = history.history_token(shop.pk, "ada@example.net")
    settings.TRACKING_HISTORY_LINK_MAX_AGE = -1
    response = client.get(reverse("tracking:history", args=[token]))
    html = response.content.decode()
    assert response.status_code == 410
    assert "This link has expired" in html
    assert 'name="shop" value="demo-threads"' in html and 'name="email"' in html
    assert response["Cache-Control"] == "private, no-store"


@pytest.mark.parametrize("change", ["flip", "forged", "garbage"])
def test_tampered_link_is_refused(client, shop, change):
    place(shop, email="ada@example.net")
    token = history.history_token(shop.pk, "ada@example.net")
    if change == "flip":
        token = token[:-1] + ("A" if token[-1] != "A" else "B")
    elif change == "forged":
        token = signing.TimestampSigner(key="not-the-secret", salt=history.SALT).sign_object(
            {"s": shop.pk, "e": "ada@example.net"}
        )
    else:
        token = "not-a-token"
    response = client.get(reverse("tracking:history", args=[token]))
    assert response.status_code == 400
    html = response.content.decode()
    assert "This link does not work" in html and 'name="email"' in html
    assert "ada@example.net" not in html


def test_link_for_another_shop_shows_only_that_shop(client, shop, other_shop):
    place(shop, email="ada@example.net")
    token = history.history_token(other_shop.pk, "ada@example.net")
    html = client.get(reverse("tracking:history", args=[token])).content.decode()
    assert "There are no orders for this address." in html


def test_request_form_is_rate_limited(client, db, settings):
    settings.TRACKING_HISTORY_LIMIT_PER_EMAIL = 3
    for _ in range(3):
        assert ask(client, "ada@example.net").status_code == 303
    response = ask(Client(REMOTE_ADDR="10.2.2.2"), "ADA@example.net")
    assert response.status_code == 429
    assert "Too many tries. Try again in" in response.content.decode()


def test_a_damaged_shop_field_is_dropped_not_refused(
    client, shop, mailoutbox, django_capture_on_commit_callbacks
):
    place(shop, email="ada@example.net")
    with django_capture_on_commit_callbacks(execute=True):
        response = ask(client, "ada@example.net", shop="<script>")
    assert response.status_code == 303
    assert len(mailoutbox) == 1  # every shop's link, as without a shop


def test_invalid_email_says_so(client, db):
    response = ask(client, "not-an-email")
    assert response.status_code == 400
    assert "Enter a valid email address." in response.content.decode()


def test_query_count_of_the_list(client, shop, django_assert_num_queries):
    for _ in range(3):
        place(shop, email="ada@example.net")
    token = history.history_token(shop.pk, "ada@example.net")
    with django_assert_num_queries(2):  # orders with their shop, then their lines
        client.get(reverse("tracking:history", args=[token]))
