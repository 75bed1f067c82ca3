"""Reads behind the public tracking pages. Every query goes through a unique or shop-led index.

* ``page_stamp``: one indexed query that says whether a token exists and what the page depends on (the
  order's version, its latest timeline event and latest carrier scan): the page cache's key.
* ``tracking_page``: the order with everything the page shows, in a fixed number of queries.
* ``lookup_candidates``: the orders carrying a number, across the shops that use its prefix.
* ``history_orders``: one buyer's orders at one shop.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.db import connection
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from orders.models import Order
from orders.states import OrderStatus
from shipping.models import Shipment, ShipmentStatus, TrackingEvent

from . import stamps

# --- The lookup ------------------------------------------------------------------------------------


class LookupCandidate(NamedTuple):
    token: str
    email: str
    postcode: str


def lookup_candidates(number: str, prefix: str) -> list[LookupCandidate]:
    """Orders numbered ``number`` in every shop whose prefix is ``prefix`` (one query, hit or miss).

    The shops are found by prefix and the orders through the (shop, number) unique index, so the query costs
    the same for a number that exists and one that does not.
    """
    rows = (
        Order.objects.filter(shop__order_prefix=prefix, number=number)
        .order_by()
        .values_list("public_token", "email", "ship_postal_code")
    )
    return [LookupCandidate(*row) for row in rows]


# --- The order page --------------------------------------------------------------------------------


class PageStamp(NamedTuple):
    order_id: int
    version: int
    language: str
    shop_timezone: str
    last_event_id: int | None
    last_scan_id: int | None

    def cache_part(self) -> str:
        return f"{self.order_id}.{self.version}.{self.last_event_id or 0}.{self.last_scan_id or 0}"


# Raw SQL: this query runs on every view of the page (a cached view runs nothing else), and building it
# through the ORM cost more than running it. Both subqueries are index-only lookups by order.
PAGE_STAMP_SQL = """
SELECT o.id, o.version, o.language, s.timezone,
       (SELECT MAX(e.id) FROM orders_orderevent e WHERE e.order_id = o.id),
       (SELECT MAX(t.id) FROM shipping_trackingevent t
          JOIN shipping_shipment p ON p.id = t.shipment_id WHERE p.order_id = o.id)
  FROM orders_order o JOIN shop_shop s ON s.id = o.shop_id
 WHERE o.public_token = %s
"""


def page_stamp(token: str) -> PageStamp | None:
    """What the order page depends on, for a token, in one query; None for an unknown token.

    Every change through a service bumps the version and writes a timeline event; carrier scans that change
    nothing else only add a ``TrackingEvent``: the three together change whenever the page would.

    The stamp is kept in the shared cache (``stamps``), forgotten by every change: a repeated view of an
    order that did not change touches neither the database nor the renderer.
    """
    if (cached := stamps.get(token)) is not None:
        return PageStamp(*cached)
    with connection.cursor() as cursor:
        if _use_prepared_stamp():
            cursor.execute(f"EXECUTE {PAGE_STAMP_STATEMENT}(%s)", [token])
        else:
            cursor.execute(PAGE_STAMP_SQL, [token])
        row = cursor.fetchone()
    if row is None:
        return None
    stamps.put(token, row)
    return PageStamp(*row)


# On PostgreSQL the stamp query is a prepared statement, once per database connection: planning its two
# subqueries cost several times their execution (measured in bench/tracking_page.py). Off with
# TRACKING_PREPARED_STATEMENTS=false behind a pooler that does not keep sessions (PgBouncer transaction mode).
PAGE_STAMP_STATEMENT = "tracking_page_stamp"


def _use_prepared_stamp() -> bool:
    if connection.vendor != "postgresql" or not getattr(settings, "TRACKING_PREPARED_STATEMENTS", True):
        return False
    if connection.in_atomic_block:
        return False  # a failed PREPARE must never abort the caller's transaction
    connection.ensure_connection()
    raw = connection.connection
    if getattr(raw, "_tracking_stamp_prepared", False):
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_prepared_statements WHERE name = %s", [PAGE_STAMP_STATEMENT])
        if cursor.fetchone() is None:
            cursor.execute(f"PREPARE {PAGE_STAMP_STATEMENT}(text) AS {PAGE_STAMP_SQL.replace('%s', '$1')}")
    raw._tracking_stamp_prepared = True
    return True


PROGRESS = (OrderStatus.PENDING, OrderStatus.PROCESSED, OrderStatus.SHIPPED, OrderStatus.DELIVERED)

STATE_MEANING = {
    OrderStatus.PENDING: _("We have your order. The seller will prepare it soon."),
    OrderStatus.PROCESSED: _("The seller is preparing your order for shipping."),
    OrderStatus.SHIPPED: _("Your order is on its way to you."),
    OrderStatus.DELIVERED: _("Your order was delivered."),
    OrderStatus.CANCELLED: _("This order was cancelled. Nothing will be shipped."),
    OrderStatus.RETURNED: _("This order went back to the seller."),
}
PARTLY_SHIPPED_MEANING = _("Part of your order is on its way; the rest will follow.")


@dataclass(frozen=True)
class Step:
    status: str
    label: str
    state: str  # done, current, todo


@dataclass(frozen=True)
class Parcel:
    shipment: Shipment
    carrier_name: str
    tracking_url: str
    scans: list[TrackingEvent]
    items: list[tuple[int, str]]  # (quantity, item name)


@dataclass(frozen=True)
class DeliveryEstimate:
    kind: str  # "delivered", "expected", "ships_by" or ""
    day: date | None = None


@dataclass
class TrackingPage:
    order: Order
    steps: list[Step]
    meaning: str
    estimate: DeliveryEstimate
    parcels: list[Parcel]
    address: dict = field(default_factory=dict)
    coupon_code: str = ""


def tracking_page(order_id: int, *, zone) -> TrackingPage:
    """The order page's content: 5 queries (order with shop and coupon, lines, parcels with carriers,
    their scans newest first, what each parcel holds)."""
    scans = Prefetch("events", queryset=TrackingEvent.objects.order_by("-occurred_at", "-id"))
    parcels = (
        Shipment.objects.select_related("carrier")
        .prefetch_related(scans, "lines")
        .order_by("shipped_at", "id")
    )
    order = (
        Order.objects.select_related("shop", "coupon")
        .prefetch_related("lines", Prefetch("shipments", queryset=parcels))
        .get(pk=order_id)
    )
    return TrackingPage(
        order=order,
        steps=progress_steps(order.status),
        meaning=str(_state_meaning(order)),
        estimate=delivery_estimate(order, zone=zone),
        parcels=[_parcel(order, shipment) for shipment in order.shipments.all()],
        address=partial_address(order),
        coupon_code=order.coupon.code if order.coupon_id else "",
    )


def progress_steps(status: str) -> list[Step]:
    """The bar through pending → processed → shipped → delivered; empty for cancelled and returned orders,
    which the page states plainly instead."""
    if status not in PROGRESS:
        return []
    reached = PROGRESS.index(status)
    return [
        Step(
            status=step,
            label=str(OrderStatus(step).label),
            state="done" if i < reached else "current" if i == reached else "todo",
        )
        for i, step in enumerate(PROGRESS)
    ]


def _state_meaning(order: Order):
    shipments = order.shipments.all()
    if order.status == OrderStatus.PROCESSED and shipments:
        return PARTLY_SHIPPED_MEANING
    return STATE_MEANING[order.status]


def delivery_estimate(order: Order, *, zone, now: datetime | None = None) -> DeliveryEstimate:
    """What the buyer can expect, in the same terms as the "shipped" email (the parcel's estimated delivery).

    Delivered: the day it arrived. Parcels on the way: the latest estimate among them (the carrier's or the
    seller's). Not shipped yet: the day it should ship, placed + the shop's handling time.
    """
    if order.status == OrderStatus.DELIVERED and order.delivered_at:
        return DeliveryEstimate("delivered", timezone.localtime(order.delivered_at, zone).date())
    if order.status in (OrderStatus.CANCELLED, OrderStatus.RETURNED):
        return DeliveryEstimate("")
    travelling = [
        s.estimated_delivery
        for s in order.shipments.all()
        if s.estimated_delivery
        and s.status not in (ShipmentStatus.DELIVERED, ShipmentStatus.RETURNED_TO_SENDER)
    ]
    if travelling:
        return DeliveryEstimate("expected", max(travelling))
    if order.status in (OrderStatus.PENDING, OrderStatus.PROCESSED):
        ships_by = timezone.localtime(order.placed_at, zone) + timedelta(days=order.shop.handling_days)
        return DeliveryEstimate("ships_by", ships_by.date())
    return DeliveryEstimate("")


def _parcel(order: Order, shipment: Shipment) -> Parcel:
    names = {
        line.pk: line.name + (f" ({line.variant})" if line.variant else "") for line in order.lines.all()
    }
    return Parcel(
        shipment=shipment,
        carrier_name=shipment.carrier.name,
        tracking_url=shipment.carrier.tracking_url(shipment.tracking_number),
        scans=list(shipment.events.all()),
        items=[(sl.quantity, names.get(sl.order_line_id, "")) for sl in shipment.lines.all()],
    )


def partial_street(line: str) -> str:
    """The first letters of a street line, never more than a third of it nor more than five characters:
    "12 Harbour Street" → "12 Ha…". Enough for the buyer to recognise, too little to learn from."""
    line = line.strip()
    if not line:
        return ""
    keep = min(5, max(1, len(line) // 3))
    return line[:keep].rstrip() + "…"


def partial_name(name: str) -> str:
    """ "Ada Buyer" → "Ada B." """
    parts = name.split()
    if not parts:
        return ""
    return " ".join([parts[0], *(f"{p[0]}." for p in parts[1:2])])


def partial_address(order: Order) -> dict:
    return {
        "name": partial_name(order.ship_name),
        "street": partial_street(order.ship_line1),
        "postcode": order.ship_postal_code,
        "city": order.ship_city,
        "region": order.ship_region,
        "country": order.ship_country,
    }


# --- Order history ---------------------------------------------------------------------------------

HISTORY_LIMIT = 200


def history_orders(shop_id: int, email: str) -> list[Order]:
    """One buyer's orders at one shop, newest first (the (shop, email) index; lines in one more query)."""
    return list(
        Order.objects.filter(shop_id=shop_id, email=email.strip().lower())
        .select_related("shop")
        .prefetch_related("lines")
        .order_by("-placed_at", "-id")[:HISTORY_LIMIT]
    )
