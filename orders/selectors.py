"""Reads of orders for the API (and later the dashboard): each one query shape, indexed, keyset-paginated."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import BooleanField, Exists, OuterRef, Prefetch, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from shipping.carriers import normalise_tracking_number
from shipping.models import Shipment, TrackingEvent
from shop.models import Customer, Shop

from .models import Order, OrderEvent, Return, ReturnStatus
from .states import OrderStatus

OPEN_RETURN_STATES = (ReturnStatus.REQUESTED, ReturnStatus.APPROVED, ReturnStatus.RECEIVED)
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
    return orders.filter(Q(ship_name__icontains=text) | Q(customer__name__icontains=text))


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
    filters = filters or OrderFilters()
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
        open_returns = Exists(Return.objects.filter(order=OuterRef("pk"), status__in=OPEN_RETURN_STATES))
        orders = orders.filter(open_returns if filters.has_open_return else ~open_returns)
    if filters.search:
        orders = _search(shop, orders, filters.search)
    if after is not None:
        # A row comparison, which PostgreSQL answers from the (shop, placed_at, id) index.
        orders = orders.filter(
            RawSQL(
                '("orders_order"."placed_at", "orders_order"."id") < (%s, %s)',
                after,
                output_field=BooleanField(),
            )
        )
    page = list(with_details(orders.order_by("-placed_at", "-id"))[: limit + 1])
    if len(page) > limit:
        page = page[:limit]
        return page, (page[-1].placed_at, page[-1].pk)
    return page, None


def order_detail_for_shop(shop: Shop, number: str) -> Order:
    """The shop's order with this number, with everything it shows; ``Order.DoesNotExist`` otherwise."""
    return with_details(Order.objects.for_shop(shop)).get(number=number.upper())


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
