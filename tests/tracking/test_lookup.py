"""/track/: finding an order by number and email or postcode; misses, rate limits, CSRF."""

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from orders.tracking import lookup
from tests.factories import ShopFactory, place

pytestmark = pytest.mark.django_db
URL = "/track/"
NOT_FOUND = "/track/?not-found=1"


@pytest.fixture(autouse=True)
def empty_cache(monkeypatch):
    cache.clear()
    # Two minutes into a 15-minute window: no test straddles a window's end.
    monkeypatch.setattr(lookup, "clock", lambda: 900 * 2_000_000 + 120.0)
    yield
    cache.clear()


def look_up(client, number, secret, **extra):
    return client.post(URL, {"number": number, "email_or_postcode": secret}, **extra)


def test_url_names():
    assert reverse("tracking:lookup") == URL


def test_form_page(client, db):
    response = client.get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="csrfmiddlewaretoken"' in html
    assert '<label for="id_number">Order number</label>' in html
    assert response["Cache-Control"] == "private, no-store"
    assert response["Referrer-Policy"] == "no-referrer"


def test_hit_by_email_any_case_redirects_to_the_token_page(client, shop):
    order = place(shop, email="ada@example.net")
    response = look_up(client, f" {order.number.lower()} ", "  ADA@Example.NET ")
    assert response.status_code == 303
    assert response["Location"] == reverse("tracking:order", args=[order.public_token])


def test_hit_by_postcode_normalised(client, shop):
    order = place(shop)  # ships to PO1 3AX
    response = look_up(client, order.number, "po1-3ax")
    assert response.status_code == 303
    assert response["Location"] == f"/track/{order.public_token}/"


@pytest.mark.parametrize("secret", ["someone@example.net", "SW1A 1AA", "ada@example.ne", ""])
def test_wrong_pair_is_the_same_miss(client, shop, secret):
    order = place(shop, email="ada@example.net")
    response = look_up(client, order.number, secret)
    if not secret:
        assert response.status_code == 400  # the form says what is missing; no lookup is made
        assert "This field is required." in response.content.decode()
        return
    assert response.status_code == 303
    assert response["Location"] == NOT_FOUND


def test_unknown_number_and_unknown_prefix_are_the_same_miss(client, shop):
    place(shop, email="ada@example.net")
    for number in ("SS-999999", "NOPE-1", "123456"):
        response = look_up(client, number, "ada@example.net")
        assert (response.status_code, response["Location"]) == (303, NOT_FOUND)


def test_miss_page_says_what_to_do(client, db):
    html = client.get(NOT_FOUND).content.decode()
    assert "We could not find an order with these details." in html
    assert 'role="alert"' in html


def test_shops_sharing_a_prefix_each_find_their_own_order(client):
    first, second = ShopFactory(order_prefix="SS"), ShopFactory(order_prefix="SS")
    mine = place(first, email="ada@example.net")
    theirs = place(second, email="bob@example.net")
    assert mine.number == theirs.number
    assert look_up(client, mine.number, "ada@example.net")["Location"] == f"/track/{mine.public_token}/"
    assert look_up(client, mine.number, "bob@example.net")["Location"] == f"/track/{theirs.public_token}/"


def test_one_query_on_hit_and_on_miss(client, shop, django_assert_num_queries):
    order = place(shop, email="ada@example.net")
    with django_assert_num_queries(1):
        look_up(client, order.number, "ada@example.net")
    with django_assert_num_queries(1):
        look_up(client, order.number, "eve@example.net")
    with django_assert_num_queries(1):
        look_up(client, "ZZ-1", "eve@example.net")


def test_rate_limit_per_order_number(client, shop, settings):
    settings.TRACKING_LOOKUP_LIMIT_PER_ORDER = 5
    order = place(shop, email="ada@example.net")
    for n in range(5):
        client_n = Client(REMOTE_ADDR=f"10.0.0.{n}")  # different addresses: only the number's limit counts
        assert look_up(client_n, order.number, "eve@example.net").status_code == 303
    response = look_up(Client(REMOTE_ADDR="10.0.0.99"), order.number, "ada@example.net")
    assert response.status_code == 429
    assert "Too many tries. Try again in" in response.content.decode()
    assert int(response["Retry-After"]) > 0
    assert response["Cache-Control"] == "private, no-store"


def test_rate_limit_per_address_whatever_the_number(client, shop, settings):
    settings.TRACKING_LOOKUP_LIMIT_PER_ADDRESS = 10
    for n in range(10):
        assert look_up(client, f"SS-{200000 + n}", "eve@example.net").status_code == 303
    response = look_up(client, "SS-300000", "eve@example.net")
    assert response.status_code == 429
    assert "Too many tries. Try again in 13 minutes." in response.content.decode()
    assert response["Retry-After"] == "780"
    # Another address is not affected.
    assert look_up(Client(REMOTE_ADDR="10.9.9.9"), "SS-300001", "eve@example.net").status_code == 303


def test_rate_limit_message_counts_minutes(client, db):
    wait = lookup.count_attempt([(lookup.Limit("t", 0, 900), "k")], now=900 * 1000 + 30)
    assert wait == 870
    assert lookup.minutes(wait) == 15
    assert lookup.minutes(20) == 1


def test_rate_limit_same_for_existing_and_unknown_numbers(shop, settings):
    settings.TRACKING_LOOKUP_LIMIT_PER_ORDER = 3
    order = place(shop)
    statuses = {}
    for number in (order.number, "SS-987654"):
        statuses[number] = [
            look_up(Client(REMOTE_ADDR=f"10.1.{i}.1"), number, "eve@example.net").status_code
            for i in range(5)
        ]
    assert statuses[order.number] == statuses["SS-987654"] == [303, 303, 303, 429, 429]


def test_client_address_behind_trusted_proxies(rf, settings):
    request = rf.post(URL, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
    settings.TRUSTED_PROXY_COUNT = 0
    assert lookup.client_address(request) == "10.0.0.1"  # no proxy: the header is the client's own words
    settings.TRUSTED_PROXY_COUNT = 1
    assert lookup.client_address(request) == "203.0.113.7"  # what our proxy saw, not what the client wrote
    settings.TRUSTED_PROXY_COUNT = 2
    assert lookup.client_address(request) == "6.6.6.6"


def test_csrf_is_required(shop):
    order = place(shop)
    csrf_client = Client(enforce_csrf_checks=True)
    assert look_up(csrf_client, order.number, order.email).status_code == 403
    csrf_client.get(URL)
    token = csrf_client.cookies["csrftoken"].value
    response = csrf_client.post(
        URL, {"number": order.number, "email_or_postcode": order.email, "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 303


def test_csrf_under_no_referrer_origin_null(shop):
    """Browsers post these forms with Origin: null (the page's Referrer-Policy); the token still decides,
    and a post another site makes is refused."""
    order = place(shop)
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.get(URL)
    data = {
        "number": order.number,
        "email_or_postcode": order.email,
        "csrfmiddlewaretoken": csrf_client.cookies["csrftoken"].value,
    }
    same = csrf_client.post(URL, data, HTTP_ORIGIN="null", HTTP_SEC_FETCH_SITE="same-origin")
    assert same.status_code == 303
    cross = csrf_client.post(URL, data, HTTP_ORIGIN="null", HTTP_SEC_FETCH_SITE="cross-site")
    assert cross.status_code == 403
    no_token = csrf_client.post(URL, {**data, "csrfmiddlewaretoken": "x" * 64}, HTTP_ORIGIN="null")
    assert no_token.status_code == 403


def test_lookup_find_order_token_directly(shop):
    order = place(shop, email="ada@example.net")
    assert lookup.find_order_token(order.number, "ADA@example.net") == order.public_token
    assert lookup.find_order_token(order.number, "po13ax") == order.public_token
    assert lookup.find_order_token(order.number, "nobody@invalid.example") is None
    assert lookup.find_order_token("", "#") is None
