"""The home page's figures: the to-do counts and the headline numbers for today, 7 and 30 days.

Each count is one indexed query, so the page stays fast with hundreds of thousands of orders in a shop: the
unshipped counts read the (shop, status, placed_at) index, the messages waiting the partial awaiting-reply
index, the requests the (shop, status, kind) index. The headline figures count today live over the
(shop, placed_at) index and take the finished days from a short-lived cache (``finished_days``).
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.core.cache import cache
from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from orders.models import (
    BuyerRequest,
    EventKind,
    Order,
    OrderEvent,
    RequestKind,
    RequestStatus,
    Return,
    ReturnStatus,
)
from orders.selectors import late_condition
from orders.states import OrderStatus
from shipping.models import Shipment, ShipmentStatus
from shop.models import Shop

ZERO = Decimal("0.00")


def start_of_day(day, tz: ZoneInfo) -> datetime:
    """Midnight at the start of ``day`` in the shop's time zone, as an aware datetime."""
    return datetime.combine(day, time.min, tzinfo=tz)


def delayed_parcels(shop: Shop):
    """Parcels reported stalled (orders.services.scheduled) and not delivered since: the same rule as the
    order list's ``delayed=1`` filter, so the tile's count is the list's length."""
    return Shipment.objects.filter(shop=shop, delay_reported_at__isnull=False).exclude(
        status=ShipmentStatus.DELIVERED
    )


DELAYED_COUNT_CAP = 200
DELAYED_LISTED = 10


@dataclass(frozen=True)
class TodoCounts:
    to_process: int
    to_ship: int
    late: int
    delayed: int
    delayed_order_ids: tuple[int, ...]  # the latest few, listed under the tiles
    return_requests: int
    buyer_requests: int
    modification_requests: int  # of buyer_requests: item changes (issue 9)
    awaiting_reply: int


def todo_counts(shop: Shop, *, now=None) -> TodoCounts:
    """The seller's to-do list in seven small counts, each answered from one index."""
    now = now or timezone.now()
    orders = Order.objects.for_shop(shop)
    # Three index-only counts over (shop, status, placed_at) beat one pass with three FILTERs over both
    # statuses: each reads only its own slice of the index.
    to_process = orders.filter(status=OrderStatus.PENDING).count()
    to_ship = orders.filter(status=OrderStatus.PROCESSED).count()
    late = orders.filter(late_condition(shop, now)).count()
    # Counted from the parcels, of which few are ever reported: a partial index on shipments (shop) WHERE
    # delay_reported_at IS NOT NULL would make this an index lookup; without one PostgreSQL scans them.
    # The ids come with the count: one pass over the parcels answers both unless there are very many.
    ids = list(
        delayed_parcels(shop)
        .values_list("order_id", flat=True)
        .order_by("-order_id")
        .distinct()[: DELAYED_COUNT_CAP + 1]
    )
    delayed = (
        len(ids)
        if len(ids) <= DELAYED_COUNT_CAP
        else delayed_parcels(shop).values("order_id").distinct().count()
    )
    return_requests = Return.objects.filter(order__shop=shop, status=ReturnStatus.REQUESTED).count()
    # One pass over the open requests (shop, status, kind index) answers both tiles.
    requests = BuyerRequest.objects.filter(shop=shop, status=RequestStatus.OPEN).aggregate(
        all=Count("id"), modifications=Count("id", filter=Q(kind=RequestKind.MODIFICATION))
    )
    awaiting_reply = orders.filter(awaiting_reply_since__isnull=False).count()
    return TodoCounts(
        to_process=to_process,
        to_ship=to_ship,
        late=late,
        delayed=delayed,
        delayed_order_ids=tuple(ids[:DELAYED_LISTED]),
        return_requests=return_requests,
        buyer_requests=requests["all"],
        modification_requests=requests["modifications"],
        awaiting_reply=awaiting_reply,
    )


@dataclass(frozen=True)
class Headline:
    label: str
    days: int
    orders: int
    revenue: Decimal

    @property
    def average_order_value(self) -> Decimal | None:
        if not self.orders:
            return None
        return (self.revenue / self.orders).quantize(Decimal("0.01"))


def delayed_orders(shop: Shop, order_ids: tuple[int, ...]) -> list[Order]:
    """The delayed orders listed on the home page, each marked if an apology coupon was already sent."""
    if not order_ids:
        return []
    apologised = OrderEvent.objects.filter(order=OuterRef("pk"), kind=EventKind.COUPON_SENT)
    return list(
        Order.objects.for_shop(shop)
        .filter(pk__in=order_ids)
        .annotate(apologised=Exists(apologised))
        .only("pk", "number", "email", "status", "placed_at", "shipped_at")
        .order_by("-shipped_at", "-pk")
    )


DAY_CACHE_SECONDS = 15 * 60


def _day_key(shop: Shop, day: date) -> str:
    return f"dashboard:day:{shop.pk}:{shop.timezone}:{day.isoformat()}"


def finished_days(shop: Shop, first: date, last: date) -> dict[date, tuple[int, Decimal]]:
    """(orders, revenue) of each shop day from ``first`` to ``last`` (days that are over), cached.

    A finished day hardly changes (a late cancellation), so its figures are kept for 15 minutes in the
    shared cache; the days missing from it are computed in one grouped query over the (shop, placed_at)
    index. This keeps the home page fast in a shop that takes thousands of orders a day."""
    tz = shop.zone
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    cached = cache.get_many([_day_key(shop, day) for day in days])
    figures = {day: cached[_day_key(shop, day)] for day in days if _day_key(shop, day) in cached}
    missing = [day for day in days if day not in figures]
    if missing:
        rows = (
            Order.objects.for_shop(shop)
            .filter(
                placed_at__gte=start_of_day(missing[0], tz),
                placed_at__lt=start_of_day(missing[-1] + timedelta(days=1), tz),
            )
            .exclude(status=OrderStatus.CANCELLED)
            .annotate(day=TruncDate("placed_at", tzinfo=tz))
            .values("day")
            .annotate(orders=Count("pk"), revenue=Sum("total"))
            .order_by()
        )
        found = {row["day"]: (row["orders"], row["revenue"] or ZERO) for row in rows}
        fresh = {day: found.get(day, (0, ZERO)) for day in missing}
        cache.set_many({_day_key(shop, day): value for day, value in fresh.items()}, DAY_CACHE_SECONDS)
        figures.update(fresh)
    return figures


def headline_numbers(shop: Shop, *, now=None, labels: dict[int, str]) -> list[Headline]:
    """Orders placed (not cancelled), revenue and average order value for today and the last N days,
    counted in the shop's own days. Today is counted live; earlier days come from ``finished_days``."""
    now = now or timezone.now()
    tz = shop.zone
    today = now.astimezone(tz).date()
    live = (
        Order.objects.for_shop(shop)
        .filter(placed_at__gte=start_of_day(today, tz))
        .exclude(status=OrderStatus.CANCELLED)
        .aggregate(orders=Count("pk"), revenue=Sum("total"))
    )
    longest = max(labels)
    past = (
        finished_days(shop, today - timedelta(days=longest - 1), today - timedelta(days=1))
        if longest > 1
        else {}
    )
    headlines = []
    for days, label in labels.items():
        window = [today - timedelta(days=n) for n in range(1, days)]
        headlines.append(
            Headline(
                label=label,
                days=days,
                orders=live["orders"] + sum(past[day][0] for day in window),
                revenue=(live["revenue"] or ZERO) + sum((past[day][1] for day in window), ZERO),
            )
        )
    return headlines
