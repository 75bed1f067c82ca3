"""The numbers page on a known data set: per-day figures, status breakdown, time to ship, rates, rating."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from orders.models import Feedback, Order, Return, ReturnStatus
from orders.states import OrderStatus
from tests.factories import order_in, place

pytestmark = pytest.mark.django_db
TZ = ZoneInfo("Europe/Madrid")


def at(day: int, hour: int = 10) -> datetime:
    """A moment in March 2026, Madrid time."""
    return datetime(2026, 3, day, hour, tzinfo=TZ)


def move(order, **fields):
    Order.objects.filter(pk=order.pk).update(**fields)


@pytest.fixture
def data_set(shop):
    """Five orders placed 2–4 March (Madrid), one on 28 Feb (outside), one in another shop."""
    shop.timezone = "Europe/Madrid"
    shop.handling_days = 2
    shop.save(update_fields=["timezone", "handling_days"])
    # Shipped after 10 h, on time; delivered, returned (not rejected), rated 5.
    a = order_in(OrderStatus.DELIVERED, shop=shop)
    move(a, placed_at=at(2), shipped_at=at(2, 20))
    Return.objects.create(order=a, reason="Too big", requested_at=at(6), status=ReturnStatus.APPROVED)
    Feedback.objects.create(shop=shop, order=a, rating=5)
    # Shipped after 30 h, on time; rated 3.
    b = order_in(OrderStatus.SHIPPED, shop=shop)
    move(
        b,
        placed_at=at(
            2,
            23,
        ),
        shipped_at=at(4, 5),
    )
    Feedback.objects.create(shop=shop, order=b, rating=3)
    # Shipped after 74 h: late.
    c = order_in(OrderStatus.SHIPPED, shop=shop)
    move(c, placed_at=at(3), shipped_at=at(6, 12))
    # Still pending long after the handling time: late, not shipped.
    d = place(shop)
    move(d, placed_at=at(4))
    # Cancelled: counted in the status breakdown only.
    e = order_in(OrderStatus.CANCELLED, shop=shop)
    move(e, placed_at=at(4))
    # Outside the range.
    f = place(shop)
    move(f, placed_at=at(1, 0) - timedelta(minutes=30))  # 28 Feb 23:30 Madrid
    # 00:30 on 2 March in Madrid is still 1 March in UTC: it belongs to the shop's 2 March.
    g = place(shop)
    move(g, placed_at=at(2, 0) + timedelta(minutes=30))
    return shop


def test_numbers_for_a_known_range(owner_client, data_set, other_shop):
    place(other_shop)
    response = owner_client.get(reverse("dashboard:numbers"), {"from": "2026-03-02", "to": "2026-03-05"})

    assert response.status_code == 200
    figures = response.context["figures"]
    per_day = {d.day.isoformat(): (d.orders, d.revenue) for d in figures.per_day}
    assert per_day == {
        "2026-03-02": (3, Decimal("132.00")),
        "2026-03-03": (1, Decimal("44.00")),
        "2026-03-04": (1, Decimal("44.00")),
        "2026-03-05": (0, Decimal("0.00")),
    }
    assert figures.orders == 5
    assert figures.revenue == Decimal("220.00")
    assert figures.average_order_value == Decimal("44.00")
    statuses = {status: count for status, _label, count in figures.status_counts}
    assert statuses == {
        "pending": 2,
        "processed": 0,
        "shipped": 2,
        "delivered": 1,
        "cancelled": 1,
        "returned": 0,
    }
    assert figures.median_time_to_ship == timedelta(hours=30)
    # Late: c (shipped after 74 h) and d (pending, long past due) of a, b, c shipped + d and g due.
    assert (figures.late, figures.shipped_or_due) == (3, 5)
    assert (figures.returned, figures.shipped) == (1, 3)
    assert figures.average_rating == 4.0 and figures.ratings == 2
    page = response.content.decode()
    assert 'id="orders-chart"' in page
    assert 'id="orders-chart-data"' in page
    assert "30.0 h" in page
    assert "4.0 / 5" in page


def test_presets_and_default_range(owner_client, shop):
    response = owner_client.get(reverse("dashboard:numbers"))
    assert response.status_code == 200
    assert response.context["figures"].range.days == 30
    for days in (7, 30, 90):
        response = owner_client.get(reverse("dashboard:numbers"), {"days": days})
        assert response.context["figures"].range.days == days
        assert response.context["preset"] == days


def test_an_invalid_range_is_shown_beside_the_field(owner_client, shop):
    response = owner_client.get(reverse("dashboard:numbers"), {"from": "2026-03-10", "to": "2026-03-01"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Pick a day on or after the start." in page
    assert 'value="2026-03-10"' in page  # what was typed is kept
    assert response.context["figures"].range.days == 30  # the default range is shown meanwhile


def test_an_empty_shop_shows_dashes(owner_client, shop):
    response = owner_client.get(reverse("dashboard:numbers"))
    figures = response.context["figures"]
    assert figures.orders == 0 and figures.median_time_to_ship is None and figures.late_rate is None
    assert figures.return_rate is None and figures.average_rating is None


def test_numbers_query_count(owner_client, data_set, django_assert_num_queries):
    # session, user, memberships; one pass by day and status; the median (in SQL); returns; ratings.
    with django_assert_num_queries(7):
        owner_client.get(reverse("dashboard:numbers"), {"from": "2026-03-02", "to": "2026-03-05"})


def test_the_median_without_percentile_cont(owner_client, data_set, monkeypatch):
    """Databases without PERCENTILE_CONT (SQLite) get the same median from Python."""
    from django.db import connection

    monkeypatch.setattr(connection, "vendor", "sqlite")
    response = owner_client.get(reverse("dashboard:numbers"), {"from": "2026-03-02", "to": "2026-03-05"})
    assert response.context["figures"].median_time_to_ship == timedelta(hours=30)
