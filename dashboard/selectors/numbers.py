"""The numbers page: orders and revenue per day, status breakdown, time to ship, late, return and rating
figures for a date range in the shop's time zone.

Everything is computed by the database: one grouped pass over the range (by day and status), the median,
the returns and the ratings;
the median uses PostgreSQL's PERCENTILE_CONT and falls back to Python on other databases (tests on SQLite).
"""

import statistics
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Aggregate, Avg, Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from orders.models import Feedback, Order, Return, ReturnStatus
from orders.states import OrderStatus
from shop.models import Shop

from .home import ZERO, start_of_day

MAX_DAYS = 366
TIME_TO_SHIP = ExpressionWrapper(F("shipped_at") - F("placed_at"), output_field=DurationField())


class Median(Aggregate):
    """PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY expr): PostgreSQL only."""

    function = "PERCENTILE_CONT"
    name = "Median"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    allow_distinct = False


@dataclass(frozen=True)
class DateRange:
    start: date
    end: date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def default_range(shop: Shop, *, days: int = 30, now=None) -> DateRange:
    today = (now or timezone.now()).astimezone(shop.zone).date()
    return DateRange(start=today - timedelta(days=days - 1), end=today)


@dataclass(frozen=True)
class DayFigures:
    day: date
    orders: int
    revenue: Decimal


@dataclass(frozen=True)
class ShopNumbers:
    range: DateRange
    per_day: list[DayFigures]
    orders: int
    revenue: Decimal
    status_counts: list[tuple[str, str, int]]  # (status, label, count)
    median_time_to_ship: timedelta | None
    shipped: int
    late: int
    returned: int
    average_rating: float | None
    ratings: int

    @property
    def average_order_value(self) -> Decimal | None:
        return (self.revenue / self.orders).quantize(Decimal("0.01")) if self.orders else None

    @property
    def late_rate(self) -> float | None:
        """Of the orders that are shipped or due, the share not shipped within the handling time."""
        return self.late / self.shipped_or_due if self.shipped_or_due else None

    @property
    def return_rate(self) -> float | None:
        """Of the shipped orders, the share with a return (not rejected)."""
        return self.returned / self.shipped if self.shipped else None

    shipped_or_due: int = 0


def shop_numbers(shop: Shop, date_range: DateRange, *, now=None) -> ShopNumbers:
    """The figures of the orders placed from ``date_range.start`` to ``date_range.end`` (shop days)."""
    now = now or timezone.now()
    tz = shop.zone
    since = start_of_day(date_range.start, tz)
    until = start_of_day(date_range.end + timedelta(days=1), tz)
    placed = Order.objects.for_shop(shop).filter(placed_at__gte=since, placed_at__lt=until)
    handling = timedelta(days=shop.handling_days)

    shipped = Q(shipped_at__isnull=False)
    unshipped_due = Q(status__in=(OrderStatus.PENDING, OrderStatus.PROCESSED), placed_at__lt=now - handling)
    late = (shipped & Q(shipped_at__gt=F("placed_at") + handling)) | unshipped_due
    # One pass over the range, grouped by shop day and status: the chart, the status breakdown and the
    # late and shipped counts all come from it.
    rows = (
        placed.annotate(day=TruncDate("placed_at", tzinfo=tz))
        .values("day", "status")
        .annotate(
            orders=Count("pk"),
            revenue=Sum("total"),
            shipped=Count("pk", filter=shipped),
            late=Count("pk", filter=late),
            due=Count("pk", filter=shipped | unshipped_due),
        )
        .order_by()
    )
    by_day: dict[date, list] = {}
    by_status: dict[str, int] = {}
    summary = {"shipped": 0, "late": 0, "shipped_or_due": 0}
    for row in rows:
        by_status[row["status"]] = by_status.get(row["status"], 0) + row["orders"]
        if row["status"] == OrderStatus.CANCELLED:
            continue  # in the breakdown only
        day = by_day.setdefault(row["day"], [0, ZERO])
        day[0] += row["orders"]
        day[1] += row["revenue"] or ZERO
        summary["shipped"] += row["shipped"]
        summary["late"] += row["late"]
        summary["shipped_or_due"] += row["due"]
    per_day = []
    for offset in range(date_range.days):
        day = date_range.start + timedelta(days=offset)
        orders, revenue = by_day.get(day, (0, ZERO))
        per_day.append(DayFigures(day=day, orders=orders, revenue=revenue))
    status_counts = [(value, label, by_status.get(value, 0)) for value, label in OrderStatus.choices]

    shipped_orders = placed.filter(shipped).exclude(status=OrderStatus.CANCELLED)
    if connection.vendor == "postgresql":
        median = Median(TIME_TO_SHIP, output_field=DurationField())
        median_time = shipped_orders.aggregate(median=median)["median"]
    else:
        durations = list(shipped_orders.annotate(d=TIME_TO_SHIP).values_list("d", flat=True))
        median_time = statistics.median(durations) if durations else None

    returned = (
        Return.objects.filter(order__shop=shop, order__placed_at__gte=since, order__placed_at__lt=until)
        .exclude(status=ReturnStatus.REJECTED)
        .values("order")
        .distinct()
        .count()
    )
    rating = Feedback.objects.filter(
        shop=shop, order__placed_at__gte=since, order__placed_at__lt=until
    ).aggregate(average=Avg("rating"), count=Count("pk"))
    return ShopNumbers(
        range=date_range,
        per_day=per_day,
        orders=sum(d.orders for d in per_day),
        revenue=sum((d.revenue for d in per_day), ZERO),
        status_counts=status_counts,
        median_time_to_ship=median_time,
        shipped=summary["shipped"],
        late=summary["late"],
        shipped_or_due=summary["shipped_or_due"],
        returned=returned,
        average_rating=float(rating["average"]) if rating["average"] is not None else None,
        ratings=rating["count"],
    )
