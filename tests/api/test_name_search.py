"""The order search by name (``?q=``): the recipient's or the customer's name, any part, any case; on
PostgreSQL answered by the trigram indexes of migration orders 0005."""

from copy import copy

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders import selectors
from orders.models import Order
from orders.models.order import new_public_token
from shop.models import Customer
from tests.factories import ShopFactory, place

pytestmark = pytest.mark.django_db

FILLERS = 3000
GIFT_ADDRESS = {"name": "Zoë Quillfeather", "line1": "1 Elm Row", "city": "Leeds", "country": "GB"}


@pytest.fixture
def orders(shop):
    gift = place(shop, email="ada@example.net", customer_name="Ada Buyer", address=GIFT_ADDRESS)
    bought = place(
        shop,
        email="quill@example.net",
        customer_name="Ivo Quillon",
        address={**GIFT_ADDRESS, "name": "Ivo Quillon"},
    )
    plain = place(
        shop, email="bo@example.net", customer_name="Bo Dee", address={**GIFT_ADDRESS, "name": "Bo Dee"}
    )
    # Another shop's orders with the same names are never found.
    place(ShopFactory(), email="quill@example.net", customer_name="Ivo Quillon", address=GIFT_ADDRESS)
    return {"gift": gift.number, "bought": bought.number, "plain": plain.number}


def numbers(api, text: str) -> set[str]:
    response = api.get("/api/v1/orders/", {"q": text})
    assert response.status_code == 200, response.content
    return {order["number"] for order in response.json()["results"]}


def test_a_name_matches_the_recipient_or_the_customer_in_any_case(api, orders):
    assert numbers(api, "quill") == {orders["gift"], orders["bought"]}
    assert numbers(api, "QUILLFEATHER") == {orders["gift"]}
    assert numbers(api, "ivo quil") == {orders["bought"]}
    assert numbers(api, "ada buy") == {orders["gift"]}
    assert numbers(api, "Zebedee") == set()


def test_short_texts_and_common_names_read_the_shop_newest_first_with_the_same_answers(
    api, orders, monkeypatch
):
    assert numbers(api, "bo") == {orders["plain"]}
    assert numbers(api, "qu") == {orders["gift"], orders["bought"]}
    monkeypatch.setattr(selectors, "NAME_SEARCH_MAX_CUSTOMERS", 0)
    assert numbers(api, "quill") == {orders["gift"], orders["bought"]}
    assert numbers(api, "ada buy") == {orders["gift"]}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="trigram indexes exist on PostgreSQL only")
def test_the_search_is_answered_by_the_trigram_indexes_of_the_shop(shop, orders):
    # Enough of the shop's rows that its id alone selects nothing, and no whole-table reads: what is left
    # to the planner is the index that matches the search's expressions.
    template = Order.objects.get(number=orders["plain"])
    fillers = []
    for i in range(FILLERS):
        filler = copy(template)
        filler.pk, filler.number, filler.public_token = None, f"F-{i}", new_public_token()
        filler.ship_name = f"Filler {i}"
        fillers.append(filler)
    Order.objects.bulk_create(fillers)
    Customer.objects.bulk_create(
        Customer(shop=shop, email=f"filler{i}@example.net", name=f"Filler {i}") for i in range(FILLERS)
    )
    with connection.cursor() as cursor:
        # Move the new rows from the GIN indexes' pending lists into the indexes, as autovacuum would.
        cursor.execute("SELECT gin_clean_pending_list('order_shop_ship_name_trgm')")
        cursor.execute("SELECT gin_clean_pending_list('customer_shop_name_trgm')")
        cursor.execute("ANALYZE orders_order")
        cursor.execute("ANALYZE shop_customer")
        cursor.execute("SET LOCAL enable_seqscan = off")
    with CaptureQueriesContext(connection) as lookups:
        condition = selectors.name_search_condition(shop, "quill")
    (customer_lookup,) = lookups.captured_queries
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + customer_lookup["sql"])
        customer_plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "customer_shop_name_trgm" in customer_plan
    plan = Order.objects.for_shop(shop).filter(condition).order_by("-placed_at", "-id")[:26].explain()
    assert "order_shop_ship_name_trgm" in plan
    # The shop is part of the index condition, so other shops' orders are never read.
    assert f"(shop_id = '{shop.pk}'::bigint) AND (upper((ship_name)::text)" in plan
