"""Walking around the doors: nothing the public pages answer tells an outsider which orders exist.

* 10,000 lookups of real order numbers with wrong emails or postcodes: every answer byte-identical to each
  other and to the answer for a number that does not exist;
* a miss takes about as long as a hit;
* tokens carry at least 128 bits of randomness;
* every public page sends the privacy headers;
* no page shows a customer's full street, email or phone.
"""

import math
import statistics
import string
import time

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from orders.models import Order
from orders.models.order import new_public_token
from orders.states import OrderStatus
from orders.tracking import history
from tests.factories import ShopFactory, order_in, place

pytestmark = pytest.mark.django_db
URL = "/track/"
ORDERS = 50
LOOKUPS = 10_000


@pytest.fixture(autouse=True)
def no_limits(settings):
    """The rate limits are tested on their own; here they would stop the walk after a few tries."""
    settings.TRACKING_LOOKUP_LIMIT_PER_ADDRESS = 10**9
    settings.TRACKING_LOOKUP_LIMIT_PER_ORDER = 10**9
    cache.clear()
    yield
    cache.clear()


def answer(response) -> bytes:
    """Everything the client receives: status line, headers, cookies and body."""
    return b"%d\n%s\n%s" % (response.status_code, response.serialize(), response.cookies.output().encode())


def test_ten_thousand_wrong_pairs_answer_exactly_like_a_number_that_does_not_exist(db):
    shops = [ShopFactory(order_prefix="SS"), ShopFactory(order_prefix="SS"), ShopFactory(order_prefix="TEE")]
    orders = [place(shops[i % 3], email=f"buyer{i}@example.net") for i in range(ORDERS)]
    client = Client()
    baseline = answer(client.post(URL, {"number": "SS-999999", "email_or_postcode": "buyer0@example.net"}))
    assert baseline.startswith(b"303\n")
    # Shops sharing a prefix share numbers: another buyer's email is wrong only under a different number.
    other_buyer = {o.pk: next(x.email for x in orders if x.number != o.number) for o in orders}
    answers = set()
    for i in range(LOOKUPS):
        order = orders[i % ORDERS]
        # Real numbers with wrong emails (another real buyer's, a near miss, a stranger's) or wrong postcodes.
        secret = (
            other_buyer[order.pk],
            order.email.replace("@", "@x"),
            f"guess{i}@example.net",
            f"ZZ{i} 9XX",
        )[i % 4]
        answers.add(answer(client.post(URL, {"number": order.number, "email_or_postcode": secret})))
    assert answers == {baseline}
    # And the right pair does open the order: the walk did test real numbers.
    hit = client.post(URL, {"number": orders[0].number, "email_or_postcode": orders[0].email})
    assert hit["Location"] == f"/track/{orders[0].public_token}/"


def test_a_miss_takes_about_as_long_as_a_hit(db):
    shop = ShopFactory(order_prefix="SS")
    orders = [place(shop, email=f"buyer{i}@example.net") for i in range(20)]
    client = Client()
    hit_times, miss_times, unknown_times = [], [], []

    def timed(data) -> float:
        start = time.perf_counter()
        client.post(URL, data)
        return time.perf_counter() - start

    for _ in range(3):  # warm up
        timed({"number": orders[0].number, "email_or_postcode": orders[0].email})
    for i in range(300):
        order = orders[i % len(orders)]
        hit_times.append(timed({"number": order.number, "email_or_postcode": order.email}))
        miss_times.append(timed({"number": order.number, "email_or_postcode": f"eve{i}@example.net"}))
        unknown_times.append(timed({"number": f"SS-{900000 + i}", "email_or_postcode": order.email}))
    hit = statistics.median(hit_times)
    for misses in (miss_times, unknown_times):
        ratio = statistics.median(misses) / hit
        assert 0.5 <= ratio <= 2.0, f"miss/hit median ratio {ratio:.2f}"


def test_tokens_carry_at_least_128_bits():
    alphabet = set(string.ascii_letters + string.digits + "-_")
    tokens = [new_public_token() for _ in range(2000)]
    assert len(set(tokens)) == len(tokens)
    for token in tokens:
        assert set(token) <= alphabet
        assert len(token) * math.log2(len(alphabet)) >= 128  # 32 base64 characters = 192 bits
    # Every position varies (no fixed prefix or counter hidden in the token).
    for position in range(len(tokens[0])):
        assert len({t[position] for t in tokens}) > 32


def test_tokens_are_not_derived_from_the_order(shop):
    order = place(shop)
    assert order.number not in order.public_token and str(order.pk) != order.public_token
    assert Order._meta.get_field("public_token").unique


def _doors(order, shop):
    """(description, method, url, data) of every public page, in its refusals too."""
    token = history.history_token(shop.pk, order.email)
    return [
        ("order page", "get", reverse("tracking:order", args=[order.public_token]), None),
        ("unknown token", "get", reverse("tracking:order", args=["x" * 32]), None),
        ("lookup form", "get", URL, None),
        ("lookup miss page", "get", URL + "?not-found=1", None),
        ("lookup hit", "post", URL, {"number": order.number, "email_or_postcode": order.email}),
        ("lookup miss", "post", URL, {"number": order.number, "email_or_postcode": "x@example.net"}),
        ("lookup invalid", "post", URL, {"number": "", "email_or_postcode": ""}),
        ("history form", "get", reverse("tracking:history_request"), None),
        ("history request", "post", reverse("tracking:history_request"), {"email": order.email}),
        ("history list", "get", reverse("tracking:history", args=[token]), None),
        ("history tampered", "get", reverse("tracking:history", args=[token + "x"]), None),
    ]


def test_every_door_sends_the_privacy_headers(client, shop):
    order = place(shop)
    for name, method, url, data in _doors(order, shop):
        response = getattr(client, method)(url, data or {})
        assert response["Cache-Control"] == "private, no-store", name
        assert response["Referrer-Policy"] == "no-referrer", name
        assert "noindex" in response["X-Robots-Tag"], name
        if response.status_code not in (301, 302, 303):
            assert '<meta name="robots" content="noindex' in response.content.decode(), name


def test_rate_limited_answer_sends_the_privacy_headers(client, shop, settings):
    settings.TRACKING_LOOKUP_LIMIT_PER_ADDRESS = 0
    response = client.post(URL, {"number": "SS-1", "email_or_postcode": "x@example.net"})
    assert response.status_code == 429
    assert response["Cache-Control"] == "private, no-store" and response["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize("status", list(OrderStatus))
def test_full_street_email_and_phone_never_in_the_html(client, status):
    shop = ShopFactory()
    order = order_in(
        status,
        shop=shop,
        email="ada.lovelace@example.net",
        customer_phone="+44 7700 900123",
        address={
            "name": "Ada Lovelace",
            "line1": "12 Harbour Street",
            "line2": "Flat 4B",
            "city": "Portsmouth",
            "postal_code": "PO1 3AX",
            "country": "GB",
            "phone": "+44 7700 900456",
        },
    )
    Order.objects.filter(pk=order.pk).update(ship_phone="+44 7700 900456")
    pages = [
        client.get(reverse("tracking:order", args=[order.public_token])),
        client.get(reverse("tracking:history", args=[history.history_token(shop.pk, order.email)])),
    ]
    for response in pages:
        html = response.content.decode()
        assert response.status_code == 200
        for secret in ("Harbour Street", "Flat 4B", "ada.lovelace", "7700", "900123", "900456", "Lovelace"):
            assert secret not in html, f"{secret!r} appears on the {status} page"
