"""Reads of orders for the API (and later the dashboard): each one query shape, indexed, keyset-paginated."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import BigIntegerField, BooleanField, Exists, OuterRef, Prefetch, Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast
from django.utils import timezone

from shipping.carriers import normalise_tracking_number
from shipping.models import Carrier, Shipment, TrackingEvent
from shop.models import Customer, Shop

from .models import BuyerRequest, Order, OrderEvent, OrderLine, Return
from .states import OrderStatus

NOT_SHIPPED_YET = (OrderStatus.PENDING, OrderStatus.PROCESSED)


@dataclass(frozen=True)
class OrderFilters:
    statuses: list[str] = field(default_factory=list)
    payment_statuses: list[str] = field(default_factory=list)
    placed_after: datetime | None = None
    placed_before: datetime | None = None
    updated_since: datetime | None = None
    late: bool | None = None
    has_open_return: bool | None = None
    search: str = ""


def with_details(orders: QuerySet[Order]) -> QuerySet[Order]:
    """Everything an order's representation shows, in a fixed number of queries whatever its size."""
    return orders.select_related("customer", "coupon").prefetch_related(
        "lines",
        Prefetch(
            "shipments",
            queryset=Shipment.objects.select_related("carrier").prefetch_related(
                "lines", Prefetch("events", queryset=TrackingEvent.objects.order_by("-occurred_at", "-id"))
            ),
        ),
        Prefetch("returns", queryset=Return.objects.prefetch_related("lines")),
        Prefetch("events", queryset=OrderEvent.objects.order_by("created_at", "id")),
    )


def late_condition(shop: Shop, now=None) -> Q:
    """Not shipped within the shop's handling time."""
    now = now or timezone.now()
    return Q(status__in=NOT_SHIPPED_YET, placed_at__lt=now - timedelta(days=shop.handling_days))


def _search(shop: Shop, orders: QuerySet[Order], text: str) -> QuerySet[Order]:
    """Exact order number, email or tracking number (indexed lookups); otherwise the recipient's or the
    customer's name."""
    text = text.strip()
    if "@" in text:
        return orders.filter(email=text.lower())
    by_number = orders.filter(number=text.upper())
    if by_number.exists():
        return by_number
    tracking = normalise_tracking_number(text)
    if tracking:
        parcels = Shipment.objects.filter(shop=shop, tracking_number=tracking)
        if parcels.exists():
            return orders.filter(Exists(parcels.filter(order=OuterRef("pk"))))
    return orders.filter(name_search_condition(shop, text))


# A name matched by more customers than this is common: the newest orders of those customers are found
# sooner by reading the shop's orders newest first than by collecting every one of them.
NAME_SEARCH_MAX_CUSTOMERS = 1000


def name_search_condition(shop: Shop, text: str) -> Q:
    """Orders whose recipient's or customer's name contains ``text`` (any case).

    On PostgreSQL, trigram indexes on ``(shop_id, UPPER(name))`` of orders and customers (migration
    orders 0005) answer it: one query finds the customers whose name matches, and the orders are those
    whose recipient matches or whose customer is one of them, which the planner ORs in one bitmap scan.
    A join on the customer's name can use neither index and reads the shop's orders newest first until a
    page is full: fast when the name is common, a scan of the whole shop when it is rare. The join is
    kept where the indexes cannot help: a text shorter than three letters (no trigram) or a name shared
    by more than ``NAME_SEARCH_MAX_CUSTOMERS`` customers.
    """
    if len(text) >= 3:
        # The indexes hold shop_id as a bigint, and btree_gin compares like with like only: without the
        # cast the shop would be left out of the index condition.
        shop_id = Cast(Value(shop.pk), BigIntegerField())
        customers = Customer.objects.filter(shop_id=shop_id, name__icontains=text)
        customer_ids = list(customers.values_list("pk", flat=True)[: NAME_SEARCH_MAX_CUSTOMERS + 1])
        if len(customer_ids) <= NAME_SEARCH_MAX_CUSTOMERS:
            return Q(shop_id=shop_id, ship_name__icontains=text) | Q(customer_id__in=customer_ids)
    return Q(ship_name__icontains=text) | Q(customer__name__icontains=text)


def _matching_orders(
    shop: Shop, filters: OrderFilters, after: tuple[datetime, int] | None
) -> QuerySet[Order]:
    """The shop's orders that pass ``filters``, before the keyset cursor ``after``; not yet ordered."""
    orders = Order.objects.for_shop(shop)
    if filters.statuses:
        orders = orders.filter(status__in=filters.statuses)
    if filters.payment_statuses:
        orders = orders.filter(payment_status__in=filters.payment_statuses)
    if filters.placed_after:
        orders = orders.filter(placed_at__gte=filters.placed_after)
    if filters.placed_before:
        orders = orders.filter(placed_at__lt=filters.placed_before)
    if filters.updated_since:
        orders = orders.filter(updated_at__gte=filters.updated_since)
    if filters.late is not None:
        orders = orders.filter(late_condition(shop)) if filters.late else orders.exclude(late_condition(shop))
    if filters.has_open_return is not None:
        orders = orders.filter(has_open_return=filters.has_open_return)
    if filters.search:
        orders = _search(shop, orders, filters.search)
    if after is not None:
        # A row comparison, which PostgreSQL answers from the (shop, placed_at, id) index. Raw SQL gets no
        # conversion of its parameters: the time is given as the database stores it (SQLite: UTC text).
        placed_at = Order._meta.get_field("placed_at").get_db_prep_value(after[0], connection)
        orders = orders.filter(
            RawSQL(
                '("orders_order"."placed_at", "orders_order"."id") < (%s, %s)',
                (placed_at, after[1]),
                output_field=BooleanField(),
            )
        )
    return orders


def order_list_for_shop(
    shop: Shop,
    *,
    filters: OrderFilters | None = None,
    after: tuple[datetime, int] | None = None,
    limit: int = 25,
) -> tuple[list[Order], tuple[datetime, int] | None]:
    """One page of the shop's orders, newest first, with the cursor of the next page (None on the last).

    Keyset pagination on (placed_at, id): page 100 costs what page 1 costs, and nothing is counted.
    """
    orders = _matching_orders(shop, filters or OrderFilters(), after)
    page = list(with_details(orders.order_by("-placed_at", "-id"))[: limit + 1])
    if len(page) > limit:
        page = page[:limit]
        return page, (page[-1].placed_at, page[-1].pk)
    return page, None


def order_detail_for_shop(shop: Shop, number: str) -> Order:
    """The shop's order with this number, with everything it shows; ``Order.DoesNotExist`` otherwise."""
    return with_details(Order.objects.for_shop(shop)).get(number=number.upper())


# --- the API's order records: the same reads as plain values --------------------------------------------

ORDER_RECORD_FIELDS = (
    "id",
    "number",
    "public_token",
    "status",
    "payment_status",
    "payment_method",
    "version",
    "currency",
    "subtotal",
    "discount",
    "shipping_price",
    "tax",
    "total",
    "refunded_total",
    "coupon__code",
    "customer_id",
    "customer__email",
    "customer__name",
    "customer__phone",
    "ship_name",
    "ship_line1",
    "ship_line2",
    "ship_city",
    "ship_region",
    "ship_postal_code",
    "ship_country",
    "ship_phone",
    "note",
    "placed_at",
    "processed_at",
    "shipped_at",
    "delivered_at",
    "cancelled_at",
    "returned_at",
    "cancel_reason",
    "updated_at",
)
PARCEL_FIELDS = (
    "id",
    "order_id",
    "carrier_id",
    "carrier__code",
    "carrier__name",
    "carrier__tracking_url_template",
    "tracking_number",
    "status",
    "shipped_at",
    "estimated_delivery",
    "delivered_at",
)
SCAN_FIELDS = ("shipment_id", "occurred_at", "status", "location", "description", "source")
RETURN_FIELDS = (
    "id",
    "order_id",
    "status",
    "reason",
    "rejection_reason",
    "refund_amount",
    "requested_at",
    "decided_at",
    "received_at",
    "refunded_at",
)
EVENT_FIELDS = ("id", "order_id", "kind", "message", "data", "actor_kind", "created_at")


def order_records_for_shop(
    shop: Shop,
    *,
    filters: OrderFilters | None = None,
    after: tuple[datetime, int] | None = None,
    limit: int = 25,
) -> tuple[list[dict], tuple[datetime, int] | None]:
    """The page ``order_list_for_shop`` reads, as plain values: one dict per order with its ``lines``,
    ``shipments`` (each with ``carrier``, ``lines`` and ``events``, newest scan first), ``returns`` (each
    with ``lines``) and ``events`` (the timeline, oldest first).

    For the API's order list: a full page is about 400 rows, and building them as model instances took
    longer than the queries. The same fixed number of queries, only the columns the API shows, relations
    that are empty for the page not queried.
    """
    orders = _matching_orders(shop, filters or OrderFilters(), after).order_by("-placed_at", "-id")
    rows = list(orders.values(*ORDER_RECORD_FIELDS)[: limit + 1])
    next_key = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_key = (rows[-1]["placed_at"], rows[-1]["id"])
    return _with_related_records(rows), next_key


def order_record_for_shop(shop: Shop, number: str) -> dict:
    """The shop's order with this number as ``order_records_for_shop`` gives it; ``Order.DoesNotExist``
    otherwise."""
    rows = list(Order.objects.for_shop(shop).filter(number=number.upper()).values(*ORDER_RECORD_FIELDS))
    if not rows:
        raise Order.DoesNotExist(f"No order {number} in this shop.")
    return _with_related_records(rows)[0]


def _with_related_records(orders: list[dict]) -> list[dict]:
    """Attach the related rows to each order of the page: five queries at most (parcels come with their
    lines and returns with theirs through a LEFT JOIN), none for relations the page has no rows of."""
    by_id = {}
    for order in orders:
        order.update(lines=[], shipments=[], returns=[], events=[])
        by_id[order["id"]] = order
    if not by_id:
        return orders
    order_ids = list(by_id)
    lines = OrderLine.objects.filter(order_id__in=order_ids).order_by("id")
    for line in lines.values("id", "order_id", "sku", "name", "variant", "quantity", "unit_price"):
        by_id[line["order_id"]]["lines"].append(line)

    parcels, carriers = {}, {}
    rows = Shipment.objects.filter(order_id__in=order_ids).order_by("shipped_at", "id", "lines__id")
    for row in rows.values(*PARCEL_FIELDS, "lines__order_line_id", "lines__quantity"):
        parcel = parcels.get(row["id"])
        if parcel is None:
            carrier = carriers.get(row["carrier_id"])
            if carrier is None:
                carrier = carriers[row["carrier_id"]] = Carrier(
                    id=row["carrier_id"],
                    code=row["carrier__code"],
                    name=row["carrier__name"],
                    tracking_url_template=row["carrier__tracking_url_template"],
                )
            parcel = parcels[row["id"]] = {field: row[field] for field in PARCEL_FIELDS}
            parcel.update(carrier=carrier, lines=[], events=[])
            by_id[row["order_id"]]["shipments"].append(parcel)
        if row["lines__order_line_id"] is not None:
            parcel["lines"].append(
                {"order_line_id": row["lines__order_line_id"], "quantity": row["lines__quantity"]}
            )
    if parcels:
        scans = TrackingEvent.objects.filter(shipment_id__in=list(parcels)).order_by("-occurred_at", "-id")
        for scan in scans.values(*SCAN_FIELDS):
            parcels[scan["shipment_id"]]["events"].append(scan)

    returns = {}
    rows = Return.objects.filter(order_id__in=order_ids).order_by("-requested_at", "-id", "lines__id")
    for row in rows.values(*RETURN_FIELDS, "lines__order_line_id", "lines__quantity"):
        return_request = returns.get(row["id"])
        if return_request is None:
            return_request = returns[row["id"]] = {field: row[field] for field in RETURN_FIELDS}
            return_request["lines"] = []
            by_id[row["order_id"]]["returns"].append(return_request)
        if row["lines__order_line_id"] is not None:
            return_request["lines"].append(
                {"order_line_id": row["lines__order_line_id"], "quantity": row["lines__quantity"]}
            )

    events = OrderEvent.objects.filter(order_id__in=order_ids).order_by("created_at", "id")
    for event in events.values(*EVENT_FIELDS):
        by_id[event["order_id"]]["events"].append(event)
    return orders


def order_for_shop(shop: Shop, number: str) -> Order:
    """The shop's order with this number, without its details (for a change that reloads it)."""
    return Order.objects.for_shop(shop).get(number=number.upper())


def events_for_shop(shop: Shop, *, after: int = 0, limit: int = 100) -> list[OrderEvent]:
    """The shop's order events in the order they were written, after the event id ``after``."""
    return list(
        OrderEvent.objects.filter(order__shop=shop, pk__gt=after)
        .select_related("order")
        .order_by("pk")[:limit]
    )


def customers_for_shop(
    shop: Shop, *, email: str = "", after: int | None = None, limit: int = 50
) -> list[Customer]:
    customers = Customer.objects.filter(shop=shop)
    if email:
        customers = customers.filter(email=email.strip().lower())
    if after is not None:
        customers = customers.filter(pk__lt=after)
    return list(customers.order_by("-pk")[: limit + 1])


def shipments_for_shop(
    shop: Shop, *, tracking_number: str = "", status: str = "", after: int | None = None, limit: int = 50
) -> list[Shipment]:
    shipments = Shipment.objects.filter(shop=shop)
    if tracking_number:
        shipments = shipments.filter(tracking_number=normalise_tracking_number(tracking_number))
    if status:
        shipments = shipments.filter(status=status)
    if after is not None:
        shipments = shipments.filter(pk__lt=after)
    return list(
        shipments.select_related("carrier", "order")
        .prefetch_related(
            "lines", Prefetch("events", queryset=TrackingEvent.objects.order_by("-occurred_at", "-id"))
        )
        .order_by("-pk")[: limit + 1]
    )


def buyer_requests_for_shop(
    shop,
    *,
    statuses: list[str] = (),
    kinds: list[str] = (),
    order_number: str = "",
    after: tuple[datetime, int] | None = None,
    limit: int = 25,
) -> tuple[list[BuyerRequest], tuple[datetime, int] | None]:
    """The shop's buyer requests, newest first, keyset-paginated on ``(created_at, id)``; the next key when
    there is another page."""
    rows: QuerySet[BuyerRequest] = BuyerRequest.objects.filter(shop=shop).select_related("order")
    if statuses:
        rows = rows.filter(status__in=statuses)
    if kinds:
        rows = rows.filter(kind__in=kinds)
    if order_number:
        rows = rows.filter(order__number=order_number.strip().upper())
    if after is not None:
        rows = rows.filter(Q(created_at__lt=after[0]) | Q(created_at=after[0], pk__lt=after[1]))
    page = list(rows.order_by("-created_at", "-id")[: limit + 1])
    if len(page) > limit:
        page = page[:limit]
        return page, (page[-1].created_at, page[-1].pk)
    return page, None
