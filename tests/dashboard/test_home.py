"""The home page: to-do tiles with the right counts and links, headline numbers, a pinned query count."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from orders.models import BuyerRequest, Order, RequestKind, Return
from orders.states import OrderStatus
from shipping.models import Shipment
from tests.factories import order_in, place

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_cache():
    """The headline figures of finished days are cached; each test starts without them."""
    cache.clear()
    yield
    cache.clear()


def tile_counts(response) -> dict[str, int]:
    return {str(tile["label"]): tile["count"] for tile in response.context["tiles"]}


def test_home_counts_each_to_do(owner_client, shop, other_shop):
    now = timezone.now()
    place(shop)  # to process
    late = place(shop)
    Order.objects.filter(pk=late.pk).update(placed_at=now - timedelta(days=5))  # to process and late
    order_in(OrderStatus.PROCESSED, shop=shop)  # to ship
    delayed = order_in(OrderStatus.SHIPPED, shop=shop)
    Shipment.objects.filter(order=delayed).update(delay_reported_at=now)
    order_in(OrderStatus.SHIPPED, shop=shop)  # shipped, not delayed
    came_late = order_in(OrderStatus.DELIVERED, shop=shop)  # delayed once, delivered since: not counted
    Shipment.objects.filter(order=came_late).update(delay_reported_at=now)
    delivered = order_in(OrderStatus.DELIVERED, shop=shop)
    Return.objects.create(order=delivered, reason="Too small", requested_at=now)
    waiting = place(shop)
    Order.objects.filter(pk=waiting.pk).update(awaiting_reply_since=now)
    BuyerRequest.objects.create(shop=shop, order=waiting, kind=RequestKind.CANCELLATION)
    # Another shop's orders count for nothing here.
    place(other_shop)
    order_in(OrderStatus.PROCESSED, shop=other_shop)

    response = owner_client.get(reverse("dashboard:home"))

    assert response.status_code == 200
    assert tile_counts(response) == {
        "To process": 3,
        "To ship": 1,
        "Late": 1,
        "Delayed in transit": 1,
        "Return requests": 1,
        "Buyer requests": 1,
        "Item change requests": 0,
        "Messages waiting": 1,
    }


def test_tiles_link_to_filtered_lists(owner_client):
    response = owner_client.get(reverse("dashboard:home"))
    urls = {str(tile["label"]): tile["url"] for tile in response.context["tiles"]}
    try:
        orders = reverse("dashboard:orders")
    except NoReverseMatch:  # the orders list is another area's; until it is wired its tiles are not links
        assert urls["To process"] == ""
    else:
        assert urls["To process"] == f"{orders}?status=pending"
        assert urls["To ship"] == f"{orders}?status=processed"
        assert urls["Late"] == f"{orders}?late=1"
        assert urls["Delayed in transit"] == f"{orders}?delayed=1"
        assert urls["Messages waiting"] == f"{orders}?awaiting_reply=1"
        assert f'href="{orders}?status=pending"' in response.content.decode()


def test_headline_numbers_in_the_shops_days(owner_client, shop):
    shop.timezone = "America/New_York"
    shop.save(update_fields=["timezone"])
    now = timezone.now()
    today = place(shop)  # 2 × 15.00 + 9.50 + 4.50 shipping = 44.00
    week = place(shop)
    Order.objects.filter(pk=week.pk).update(placed_at=now - timedelta(days=3))
    month = place(shop)
    Order.objects.filter(pk=month.pk).update(placed_at=now - timedelta(days=20))
    old = place(shop)
    Order.objects.filter(pk=old.pk).update(placed_at=now - timedelta(days=45))
    cancelled = order_in(OrderStatus.CANCELLED, shop=shop)
    assert today.total == Decimal("44.00") and cancelled.status == OrderStatus.CANCELLED

    response = owner_client.get(reverse("dashboard:home"))

    figures = {h.days: (h.orders, h.revenue, h.average_order_value) for h in response.context["headlines"]}
    assert figures == {
        1: (1, Decimal("44.00"), Decimal("44.00")),
        7: (2, Decimal("88.00"), Decimal("44.00")),
        30: (3, Decimal("132.00"), Decimal("44.00")),
    }
    assert "$132.00" in response.content.decode()


def test_home_query_count_is_fixed(owner_client, shop, django_assert_num_queries):
    for _ in range(3):
        place(shop)
    order_in(OrderStatus.SHIPPED, shop=shop)
    # session, user, memberships (access); to process, to ship, late, delayed, returns, requests, messages;
    # today's figures; the finished days of the last 30 (cached afterwards).
    with django_assert_num_queries(12):
        response = owner_client.get(reverse("dashboard:home"))
    assert response.status_code == 200
    for _ in range(5):
        place(shop)
    with django_assert_num_queries(11):
        response = owner_client.get(reverse("dashboard:home"))
    assert response.context["headlines"][0].orders == 9  # today is counted live


def test_finished_days_come_from_the_cache(owner_client, shop):
    earlier = place(shop)
    Order.objects.filter(pk=earlier.pk).update(placed_at=timezone.now() - timedelta(days=2))
    owner_client.get(reverse("dashboard:home"))
    Order.objects.filter(pk=earlier.pk).delete()  # as if changed behind the cache's back
    response = owner_client.get(reverse("dashboard:home"))
    assert response.context["headlines"][1].orders == 1
    cache.clear()
    response = owner_client.get(reverse("dashboard:home"))
    assert response.context["headlines"][1].orders == 0


def test_staff_see_the_home_page(staff_client):
    assert staff_client.get(reverse("dashboard:home")).status_code == 200


def test_signed_out_visitor_is_sent_to_sign_in(client):
    response = client.get(reverse("dashboard:home"))
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_delayed_orders_are_listed_with_the_apology(manager_client, shop, django_assert_num_queries):
    delayed = order_in(OrderStatus.SHIPPED, shop=shop)
    Shipment.objects.filter(order=delayed).update(delay_reported_at=timezone.now())
    # The counts as before, and one more for the delayed orders listed (the cached days are not cached yet).
    with django_assert_num_queries(13):
        response = manager_client.get(reverse("dashboard:home"))
    assert [o.number for o in response.context["delayed_orders"]] == [delayed.number]
    page = response.content.decode()
    assert "Send an apology coupon" in page

    response = manager_client.post(
        reverse("dashboard:apology_coupon"), {"order": delayed.number, "next": reverse("dashboard:home")}
    )
    assert response.status_code == 302 and response["Location"] == reverse("dashboard:home")
    response = manager_client.get(reverse("dashboard:home"))
    assert response.context["delayed_orders"][0].apologised is True
    assert "Coupon sent" in response.content.decode()


def test_staff_see_delayed_orders_without_the_apology(staff_client, shop):
    delayed = order_in(OrderStatus.SHIPPED, shop=shop)
    Shipment.objects.filter(order=delayed).update(delay_reported_at=timezone.now())
    page = staff_client.get(reverse("dashboard:home")).content.decode()
    assert delayed.number in page
    assert "Send an apology coupon" not in page
