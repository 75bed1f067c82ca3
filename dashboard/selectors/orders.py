"""Reads behind the dashboard's order list: the filtered orders, a keyset page, the tab counts, the export.

Every read starts from ``Order.objects.for_shop(shop)``. Pages are keyset-paginated on (sort key, id) so a
page deep in the list costs what the first one costs; nothing is OFFSET.
"""

import base64
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext_lazy as _

from orders.models import Coupon, Order, OrderLine
from orders.selectors import late_condition, name_search_condition
from orders.states import OrderStatus
from shipping.carriers import normalise_tracking_number
from shipping.models import Shipment, ShipmentStatus
from shop.models import Shop

from .home import delayed_parcels, start_of_day

PAGE_SIZE = 25
# Tab counts stop at this many orders: a count above it reads "1,000+" and never scans a whole shop.
COUNT_CAP = 1_000
ORDER_NUMBER = re.compile(r"^[A-Za-z0-9]+-\d+$")
SEARCH_SEPARATORS = re.compile(r"[\s,;]+")
# A word with a digit, a dash or an underscore may be a SKU (names rarely have them); others are names.
SKU_SHAPED = re.compile(r"[\d_-]")

# Sort key → (column, descending). Each is paginated on (column, id).
SORTS = {
    "newest": ("placed_at", True),
    "oldest": ("placed_at", False),
    "total_high": ("total", True),
    "total_low": ("total", False),
}
SORT_LABELS = {
    "newest": _("Newest first"),
    "oldest": _("Oldest first"),
    "total_high": _("Total: high to low"),
    "total_low": _("Total: low to high"),
}
DEFAULT_SORT = "newest"

# The status tabs, in the order a seller works through them.
TABS = (
    ("", _("All")),
    (OrderStatus.PENDING, _("To process")),
    (OrderStatus.PROCESSED, _("To ship")),
    (OrderStatus.SHIPPED, _("Shipped")),
    (OrderStatus.DELIVERED, _("Delivered")),
    (OrderStatus.CANCELLED, _("Cancelled")),
    (OrderStatus.RETURNED, _("Returned")),
)


@dataclass(frozen=True)
class OrderListQuery:
    """What the seller asked the list for (parsed from the query string by ``OrderFilterForm``)."""

    status: str = ""
    payment_status: str = ""
    placed_from: date | None = None
    placed_to: date | None = None
    carrier: str = ""
    coupon: str = ""
    late: bool = False
    delayed: bool = False
    open_return: bool = False
    awaiting_reply: bool = False
    search: str = ""
    sort: str = DEFAULT_SORT

    @property
    def is_filtered(self) -> bool:
        """True when anything narrows the list (the status tab included, the sort not)."""
        return self != OrderListQuery(sort=self.sort)


@dataclass(frozen=True)
class Cursor:
    """A position in the list: the sort key and id of a row, and which way to read from it."""

    value: datetime | Decimal
    pk: int
    backwards: bool = False

    def encode(self) -> str:
        value = self.value.isoformat() if isinstance(self.value, datetime) else str(self.value)
        raw = f"{'p' if self.backwards else 'n'}|{value}|{self.pk}"
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, sort: str) -> "Cursor | None":
        """The cursor in ``text`` for ``sort``, or None when it is malformed (a hand-edited URL)."""
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            direction, value, pk = raw.split("|")
            column = SORTS[sort][0]
            parsed = datetime.fromisoformat(value) if column == "placed_at" else Decimal(value)
            if isinstance(parsed, datetime) and parsed.tzinfo is None:
                return None
            return cls(value=parsed, pk=int(pk), backwards=direction == "p")
        except (ValueError, UnicodeDecodeError, KeyError, ArithmeticError):
            return None


@dataclass
class OrderPage:
    orders: list[Order]
    next_cursor: str | None
    previous_cursor: str | None


def _delayed_in_transit() -> Exists:
    return Exists(
        Shipment.objects.filter(order=OuterRef("pk"), delay_reported_at__isnull=False).exclude(
            status=ShipmentStatus.DELIVERED
        )
    )


def parse_order_numbers(shop: Shop, text: str) -> list[str]:
    """The order numbers in ``text`` when every word of it is one (pasted from a spreadsheet, an email...).

    A bare number is read with the shop's prefix: ``100123`` is ``SS-100123``. Otherwise an empty list.
    """
    words = [w for w in SEARCH_SEPARATORS.split(text.strip()) if w]
    numbers = []
    for word in words:
        if ORDER_NUMBER.match(word):
            numbers.append(word.upper())
        elif word.isdigit():
            numbers.append(f"{shop.order_prefix}-{word}")
        else:
            return []
    return list(dict.fromkeys(numbers))


@dataclass(frozen=True)
class SearchMatch:
    """What a search box text resolved to: the condition on orders, and which kind of lookup it is."""

    condition: Q | Exists
    kind: str  # numbers, number, email, tracking, or text (a name or a SKU)

    @property
    def indexed(self) -> bool:
        """Answered from an index (a few rows), not by reading the shop's orders one by one."""
        return self.kind != "text"


def search_condition(shop: Shop, text: str) -> SearchMatch | None:
    """What ``text`` finds: order numbers (one or several), an email, a tracking number, else a customer's or
    recipient's name, or a SKU when the word has a digit, a dash or an underscore.

    The first kinds are indexed lookups tried in turn (a cheap EXISTS each). A name is the API's name
    search (trigram indexes). A SKU has no index: finding whether it exists reads order lines until one
    matches, and the page's query checks it order by order along the (shop, placed) index, stopping at a
    page of matches. The tabs are not counted for a name or a SKU. None when there is nothing to search.
    """
    text = text.strip()
    if not text:
        return None
    numbers = parse_order_numbers(shop, text)
    if len(numbers) > 1:
        return SearchMatch(Q(number__in=numbers), "numbers")
    if numbers and Order.objects.for_shop(shop).filter(number=numbers[0]).exists():
        return SearchMatch(Q(number=numbers[0]), "number")
    if "@" in text and " " not in text:
        return SearchMatch(Q(email=text.lower()), "email")
    tracking = normalise_tracking_number(text)
    if tracking:
        parcels = Shipment.objects.filter(shop=shop, tracking_number=tracking)
        if parcels.exists():
            return SearchMatch(Exists(parcels.filter(order=OuterRef("pk"))), "tracking")
    if SKU_SHAPED.search(text) and " " not in text:
        lines = OrderLine.objects.filter(order__shop=shop, sku__iexact=text)
        if lines.exists():
            return SearchMatch(Exists(lines.filter(order=OuterRef("pk"))), "text")
    return SearchMatch(name_search_condition(shop, text), "text")  # the API's, on trigram indexes


NOT_SEARCHED = object()


def filtered_orders(
    shop: Shop, query: OrderListQuery, *, with_status: bool = True, searched=NOT_SEARCHED
) -> QuerySet[Order]:
    """The shop's orders that match ``query`` (unordered). ``with_status=False`` ignores the status tab;
    ``searched`` is the search's condition when the caller already resolved it (see ``search_condition``)."""
    orders = Order.objects.for_shop(shop)
    if with_status and query.status:
        orders = orders.filter(status=query.status)
    if query.payment_status:
        orders = orders.filter(payment_status=query.payment_status)
    zone = shop.zone
    if query.placed_from:
        orders = orders.filter(placed_at__gte=start_of_day(query.placed_from, zone))
    if query.placed_to:
        orders = orders.filter(placed_at__lt=start_of_day(query.placed_to + timedelta(days=1), zone))
    if query.carrier:
        orders = orders.filter(
            Exists(Shipment.objects.filter(order=OuterRef("pk"), carrier__code=query.carrier))
        )
    if query.coupon:
        orders = orders.filter(
            coupon__in=Coupon.objects.filter(shop=shop, code__iexact=query.coupon.strip()).values("pk")
        )
    if query.late:
        orders = orders.filter(late_condition(shop))
    # Delays: the ids of their orders (few), not a subquery per order.
    if query.delayed:
        orders = orders.filter(pk__in=delayed_parcels(shop).values("order_id"))
    if query.open_return:
        orders = orders.filter(has_open_return=True)
    if query.awaiting_reply:
        orders = orders.filter(awaiting_reply_since__isnull=False)
    if searched is NOT_SEARCHED:
        searched = search_condition(shop, query.search)
    if searched is not None:
        orders = orders.filter(searched.condition)
    return orders


def _after(queryset: QuerySet[Order], sort: str, cursor: Cursor) -> QuerySet[Order]:
    """Rows after ``cursor`` in the reading direction: a row comparison the (shop, key, id) index answers."""
    column, descending = SORTS[sort]
    forwards_is_smaller = descending != cursor.backwards
    operator = "<" if forwards_is_smaller else ">"
    return queryset.filter(
        RawSQL(
            f'("orders_order"."{column}", "orders_order"."id") {operator} (%s, %s)',
            (cursor.value, cursor.pk),
            output_field=BooleanField(),
        )
    )


def _ordering(sort: str, *, backwards: bool = False) -> list[str]:
    column, descending = SORTS[sort]
    if descending == backwards:
        return [column, "id"]
    return [f"-{column}", "-id"]


def _item_count() -> Subquery:
    items = (
        OrderLine.objects.filter(order=OuterRef("pk"))
        .order_by()
        .values("order")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    return Subquery(items, output_field=IntegerField())


def with_list_columns(shop: Shop, orders: QuerySet[Order]) -> QuerySet[Order]:
    """What a row of the list shows: customer, item count and the late / delayed / open-return markers."""
    return orders.select_related("customer").annotate(
        item_count=_item_count(),
        is_late=Case(When(late_condition(shop), then=Value(True)), default=Value(False)),
        is_delayed=_delayed_in_transit(),
    )


def order_page(
    shop: Shop, query: OrderListQuery, *, cursor: str = "", limit: int = PAGE_SIZE, searched=NOT_SEARCHED
) -> OrderPage:
    """One page of the list with the cursors of the pages before and after it (None at either end).

    Two queries: the page's ids (narrow rows, so even a sort without an index is a small top-N sort), then
    those orders with their columns. Asked in one query, PostgreSQL plans the markers' EXISTS for the
    whole shop (hashed subplans reading every parcel and return) and sorts whole rows on disk.
    """
    sort = query.sort if query.sort in SORTS else DEFAULT_SORT
    position = Cursor.decode(cursor, sort) if cursor else None
    orders = filtered_orders(shop, query, searched=searched)
    if position is not None:
        orders = _after(orders, sort, position)
    backwards = bool(position and position.backwards)
    ordering = _ordering(sort, backwards=backwards)
    ids = list(orders.order_by(*ordering).values_list("pk", flat=True)[: limit + 1])
    more = len(ids) > limit
    ids = ids[:limit]
    rows = list(with_list_columns(shop, Order.objects.filter(pk__in=ids)).order_by(*ordering)) if ids else []
    if backwards:
        rows.reverse()
    column = SORTS[sort][0]

    def at(order: Order, *, back: bool) -> str:
        return Cursor(getattr(order, column), order.pk, backwards=back).encode()

    if not rows:
        return OrderPage(orders=[], next_cursor=None, previous_cursor=None)
    # Reading forwards, the page we came from is before us; reading backwards, it is after us.
    has_next = more if not backwards else True
    has_previous = (position is not None) if not backwards else more
    return OrderPage(
        orders=rows,
        next_cursor=at(rows[-1], back=False) if has_next else None,
        previous_cursor=at(rows[0], back=True) if has_previous else None,
    )


@dataclass(frozen=True)
class TabCount:
    status: str
    label: str
    count: int | None  # None: not counted (a name or SKU search would read every order)
    capped: bool


def tab_counts(shop: Shop, query: OrderListQuery, *, searched=NOT_SEARCHED) -> list[TabCount]:
    """How many orders each status tab holds under the other filters, in one query that never counts a
    whole big shop.

    When the filters can use the (shop, status, placed) index, each tab's count reads at most
    ``COUNT_CAP + 1`` index entries (a LIMIT inside a scalar subquery): exact up to the cap, "1,000+"
    above it, and a shop with half a million delivered orders costs what a small shop costs. Filters that
    must look at each order (a carrier, a coupon, a delay, a return) read the matching orders once
    instead, up to the cap in all; past it every tab shows its count so far with a "+". A name or SKU
    search is not counted at all: it has no index, and counting would read every order of the shop.
    """
    if searched is NOT_SEARCHED:
        searched = search_condition(shop, query.search)
    if searched is not None and not searched.indexed:
        return [TabCount(status=status, label=label, count=None, capped=False) for status, label in TABS]
    base = filtered_orders(shop, query, with_status=False, searched=searched).order_by()
    per_tab = not (query.carrier or query.coupon or query.delayed or query.open_return)
    with connection.cursor() as cursor:
        if per_tab:
            parts, params = [], []
            for status, _label in TABS:
                tab = base.filter(status=status) if status else base
                # Ordered like the index, so a date range is an index range (not a filter on every row).
                window = tab.order_by("-placed_at", "-id").values("pk")[: COUNT_CAP + 1]
                sql, window_params = window.query.sql_with_params()
                parts.append(f"(SELECT count(*) FROM ({sql}) AS window_{len(parts)})")
                params.extend(window_params)
            cursor.execute(f"SELECT {', '.join(parts)}", params)
            counts = dict(zip((status for status, _label in TABS), cursor.fetchone(), strict=True))
            capped = {status: counts[status] > COUNT_CAP for status in counts}
        else:
            # The newest matches first, as the page reads them: without an order PostgreSQL may walk the
            # orders by id, through every other shop's first (343 ms against 61 ms at 1M, carrier filter).
            newest = base.order_by("-placed_at", "-id").values("status")[: COUNT_CAP + 1]
            sql, params = newest.query.sql_with_params()
            cursor.execute(f"SELECT matching.status, count(*) FROM ({sql}) AS matching GROUP BY 1", params)
            counts = dict(cursor.fetchall())
            counts[""] = sum(counts.values())
            stopped_early = counts[""] > COUNT_CAP
            capped = {status: stopped_early for status, _label in TABS}
    return [
        TabCount(
            status=status,
            label=label,
            count=min(counts.get(status, 0), COUNT_CAP),
            capped=capped[status],
        )
        for status, label in TABS
    ]


@dataclass
class OrderList:
    page: OrderPage
    tabs: list[TabCount]


def order_list(shop: Shop, query: OrderListQuery, *, cursor: str = "", limit: int = PAGE_SIZE) -> OrderList:
    """The list page's reads: the search resolved once, then one page of rows and the tab counts."""
    searched = search_condition(shop, query.search)
    return OrderList(
        page=order_page(shop, query, cursor=cursor, limit=limit, searched=searched),
        tabs=tab_counts(shop, query, searched=searched),
    )


# --- Export ---------------------------------------------------------------------------------------


def count_matching(shop: Shop, query: OrderListQuery, *, cap: int | None = None) -> int:
    """How many orders match; with ``cap``, counting stops there (cheap on a big shop)."""
    orders = filtered_orders(shop, query).order_by()
    return orders.values("pk")[:cap].count() if cap else orders.count()


# What a CSV row holds, read as plain values: model instances (and the reference cycles prefetching makes
# between an order and its parcels) would cost time and leave garbage for the collector on every chunk.
EXPORT_FIELDS = (
    "pk",
    "number",
    "placed_at",
    "status",
    "payment_status",
    "email",
    "customer__name",
    "ship_name",
    "subtotal",
    "discount",
    "shipping_price",
    "total",
    "currency",
    "ship_city",
    "ship_country",
)


def export_rows(orders: QuerySet[Order]) -> list[dict]:
    """``orders`` as export rows (dicts of EXPORT_FIELDS, ``item_count`` and ``parcels``), in two queries:
    the orders, then their parcels' carriers and tracking numbers."""
    rows = list(orders.values(*EXPORT_FIELDS, item_count=_item_count()))
    parcels: dict[int, list[tuple[str, str]]] = {row["pk"]: [] for row in rows}
    if rows:
        for order_id, carrier, tracking in (
            Shipment.objects.filter(order_id__in=list(parcels))
            .order_by("id")
            .values_list("order_id", "carrier__name", "tracking_number")
        ):
            parcels[order_id].append((carrier, tracking))
    for row in rows:
        row["parcels"] = parcels[row["pk"]]
    return rows


def orders_for_export(shop: Shop, query: OrderListQuery, *, chunk_size: int = 2000) -> Iterator[dict]:
    """Every matching order in the list's sort as export rows, read in keyset chunks of ``chunk_size``:
    memory holds one chunk however many orders match."""
    sort = query.sort if query.sort in SORTS else DEFAULT_SORT
    column = SORTS[sort][0]
    base = filtered_orders(shop, query).order_by(*_ordering(sort))
    position = None
    while True:
        chunk = base if position is None else _after(base, sort, position)
        rows = export_rows(chunk[:chunk_size])
        yield from rows
        if len(rows) < chunk_size:
            return
        position = Cursor(rows[-1][column], rows[-1]["pk"])


def orders_by_numbers(shop: Shop, numbers: list[str]) -> QuerySet[Order]:
    """The shop's orders with these numbers (a bulk selection); another shop's numbers match nothing."""
    wanted = [n.strip().upper() for n in numbers if n.strip()]
    return Order.objects.for_shop(shop).filter(number__in=wanted)
