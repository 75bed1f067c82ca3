"""Demo orders at scale: rows built in Python, written in batches with COPY (PostgreSQL) or bulk_create.

``generate_orders`` writes what the services would have written for each order — lines, coupon redemption,
shipments with their lines and carrier scans, returns, the timeline (``OrderEvent``) and the customer emails
as already *sent* ``Notification`` rows (the demo never queues mail) — but without going through the
services one order at a time, which would take hours for a million orders.

Each batch is one transaction that leaves the shop consistent: ``Customer.order_count`` and
``Coupon.times_used`` are incremented for what the batch added, and its order numbers were taken from the
shop's counter in one ``UPDATE ... RETURNING`` (never reused, as with ``next_order_number``).
Primary keys are reserved up front (``nextval`` on PostgreSQL) so the rows of every table can be streamed
with ``COPY`` without reading anything back; outside a transaction a second thread stores one batch
while the next is built. Elsewhere (SQLite) the same rows go through ``bulk_create``.
"""

import json
import queue
import random
import threading
import time
import unicodedata
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.db import connection, models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.models import (
    ActorKind,
    Coupon,
    CouponKind,
    CouponRedemption,
    EventKind,
    Notification,
    NotificationStatus,
    Order,
    OrderEvent,
    OrderLine,
    Return,
    ReturnLine,
    ReturnStatus,
)
from orders.models.order import new_public_token
from orders.models.returns import OPEN_RETURN_STATES
from orders.states import OrderStatus, PaymentMethod, PaymentStatus
from shipping.carriers import with_check_digit
from shipping.models import Carrier, Shipment, ShipmentLine, ShipmentStatus, TrackingEvent, TrackingSource

from .models import Customer, Shop

DAY = 86400.0
HOUR = 3600.0

# --- What the demo shops sell, and to whom -------------------------------------------------------------

SIZES = [("S", "S"), ("M", "M"), ("L", "L"), ("XL", "XL")]
COLOURS = [("BLK", "Black"), ("NVY", "Navy"), ("OLV", "Olive"), ("SND", "Sand"), ("RED", "Red")]


def _variants(*dimensions) -> list[tuple[str, str]]:
    """Every combination of the dimensions as (SKU suffix, label), e.g. ("M-BLK", "M / Black")."""
    combos = [("", "")]
    for dimension in dimensions:
        combos = [
            (f"{sku}-{code}" if sku else code, f"{label} / {name}" if label else name)
            for sku, label in combos
            for code, name in dimension
        ]
    return combos


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    price_cents: int
    variants: tuple[tuple[str, str], ...] = (("", ""),)


# fmt: off
APPAREL = (
    Product("TEE", "Organic cotton T-shirt", 2400, tuple(_variants(SIZES, COLOURS))),
    Product("HOOD", "Heavyweight hoodie", 6400, tuple(_variants(SIZES, COLOURS[:3]))),
    Product("LINEN", "Linen shirt", 5900, tuple(_variants(SIZES, [("WHT", "White"), ("SND", "Sand")]))),
    Product("RAIN", "Packable rain jacket", 12900,
            tuple(_variants(SIZES, [("YLW", "Yellow"), ("NVY", "Navy")]))),
    Product("BEANIE", "Merino beanie", 2800, tuple(_variants(COLOURS))),
    Product("SOCKS", "Wool socks, 2 pairs", 1600, tuple(_variants([("S", "36-39"), ("L", "40-45")]))),
    Product("TOTE", "Canvas tote bag", 1800, tuple(_variants(COLOURS[:2]))),
    Product("CAP", "Six-panel cap", 2200, tuple(_variants(COLOURS))),
    Product("WALLET", "Leather card wallet", 4500, tuple(_variants([("BRN", "Brown"), ("BLK", "Black")]))),
    Product("MUG", "Enamel camp mug", 1400),
    Product("BOTTLE", "Insulated bottle 750 ml", 3200, tuple(_variants(COLOURS[1:4]))),
    Product("SUN", "Polarised sunglasses", 3900),
)
HOMEWARE = (
    Product("NAPKIN", "Linen napkins, set of 4", 3400, tuple(_variants([("OAT", "Oat"), ("SGE", "Sage")]))),
    Product("THROW", "Wool throw", 8900, tuple(_variants([("GRY", "Grey"), ("RST", "Rust")]))),
    Product("VASE", "Stoneware vase", 4200, tuple(_variants([("SM", "Small"), ("LG", "Large")]))),
    Product("CANDLE", "Scented candle", 2400,
            tuple(_variants([("FIG", "Fig"), ("CED", "Cedar"), ("NER", "Neroli")]))),
    Product("MUGSET", "Handmade mugs, pair", 3600),
    Product("APRON", "Denim apron", 3900),
    Product("BOARD", "Olive wood board", 4900, tuple(_variants([("M", "Medium"), ("L", "Large")]))),
    Product("TOWEL", "Waffle towel", 2900, tuple(_variants([("HND", "Hand"), ("BTH", "Bath")]))),
)

FIRST_NAMES = (
    "Ada", "Amara", "Ana", "Ben", "Carlos", "Chen", "Chloé", "Daniel", "Dara", "Elena", "Emma",
    "Fatima", "Felix", "Grace", "Hana", "Hugo", "Ines", "Isaac", "Jamal", "Jana", "Jonas", "Kai",
    "Kenji", "Laila", "Leo", "Lucía", "Maya", "Mateo", "Mei", "Nia", "Noah", "Olivia", "Omar", "Priya",
    "Rafael", "Rosa", "Sam", "Sofia", "Tomás", "Yara", "Zoë", "Wei",
)
LAST_NAMES = (
    "Adams", "Alvarez", "Bakker", "Bianchi", "Brown", "Chen", "Costa", "Dubois", "Duarte", "Fischer",
    "Garcia", "Haddad", "Hansen", "Ito", "Jansen", "Kaur", "Khan", "Kim", "Kowalski", "Lambert", "Lee",
    "Martin", "Meyer", "Müller", "Nakamura", "Nguyen", "Novak", "Okafor", "Olsen", "Patel", "Pereira",
    "Rossi", "Santos", "Schmidt", "Silva", "Singh", "Smith", "Taylor", "Walker", "Wójcik", "Yilmaz",
    "Zhang",
)
STREETS = (
    "Harbour Street", "Maple Avenue", "Oak Lane", "Mill Road", "Station Road", "Park Street", "Elm Street",
    "Church Lane", "River Road", "Hill Street", "Cedar Court", "Willow Way", "King Street", "Market Street",
)
# (city, region, postal code, country)
US_CITIES = (
    ("New York", "NY", "10001", "US"), ("Brooklyn", "NY", "11201", "US"),
    ("Los Angeles", "CA", "90012", "US"), ("San Francisco", "CA", "94103", "US"),
    ("Chicago", "IL", "60607", "US"), ("Houston", "TX", "77002", "US"), ("Austin", "TX", "78701", "US"),
    ("Phoenix", "AZ", "85004", "US"), ("Philadelphia", "PA", "19103", "US"), ("Seattle", "WA", "98101", "US"),
    ("Portland", "OR", "97205", "US"), ("Denver", "CO", "80202", "US"), ("Boston", "MA", "02108", "US"),
    ("Atlanta", "GA", "30303", "US"), ("Miami", "FL", "33130", "US"), ("Minneapolis", "MN", "55401", "US"),
    ("Nashville", "TN", "37203", "US"), ("Toronto", "ON", "M5V 2T6", "CA"),
    ("Vancouver", "BC", "V6B 1A1", "CA"), ("London", "", "EC1A 1BB", "GB"),
)
EU_CITIES = (
    ("Amsterdam", "", "1012 AB", "NL"), ("Rotterdam", "", "3011 AD", "NL"),
    ("Utrecht", "", "3511 LX", "NL"),
    ("Berlin", "", "10115", "DE"), ("Munich", "", "80331", "DE"), ("Hamburg", "", "20095", "DE"),
    ("Paris", "", "75003", "FR"), ("Lyon", "", "69002", "FR"), ("Madrid", "", "28013", "ES"),
    ("Barcelona", "", "08002", "ES"), ("Milan", "", "20121", "IT"), ("Vienna", "", "1010", "AT"),
    ("Brussels", "", "1000", "BE"), ("Dublin", "", "D02 X285", "IE"),
    ("Lisbon", "", "1100-148", "PT"),
    ("Copenhagen", "", "1050", "DK"),
)
US_HUBS = ("Memphis, TN", "Louisville, KY", "Indianapolis, IN", "Chicago, IL", "Dallas, TX", "Oakland, CA")
EU_HUBS = ("Leipzig, DE", "Cologne, DE", "Liège, BE", "Roissy, FR", "Eindhoven, NL", "Vitoria, ES")
COUNTRY_LANGUAGE = {"DE": "de", "AT": "de", "FR": "fr", "BE": "fr", "ES": "es"}

NOTES = ("Please leave it with the concierge.", "It's a gift, no prices on the packing slip please.",
         "Ring twice, the bell is quiet.", "Leave by the back door if nobody answers.")
CANCEL_REASONS = ("Out of stock", "Customer asked to cancel", "Ordered the wrong size", "Suspected fraud",
                  "Duplicate order")
UNPAID_CANCEL_REASON = "Payment not received in time"
RETURN_REASONS = ("Does not fit", "Changed my mind", "Arrived damaged", "Colour differs from the photos",
                  "Received the wrong item")
REJECT_REASONS = ("Outside the return window", "Item shows signs of use")
SENDER_RETURN_REASONS = ("Refused by the recipient", "Address not found",
                         "Not collected from the pickup point")
DELAY_REASONS = ("Delayed: severe weather", "Delayed: held at the sorting hub",
                 "Delivery attempted, nobody home")
DELIVERY_NOTES = ("Delivered, front door", "Delivered to a neighbour", "Delivered to the mailroom",
                  "Delivered, signed for")


@dataclass(frozen=True)
class ShopProfile:
    catalogue: tuple[Product, ...]
    cities: tuple
    hubs: tuple[str, ...]
    carriers: tuple[str, ...]  # carrier codes, most used first
    tax_basis_points: int  # 800 = 8 % sales tax on the discounted subtotal; 0 = prices include VAT
    shipping_cents: tuple[int, int]  # standard, express
    free_shipping_from_cents: int
    phone_prefix: str


# fmt: on
US_PROFILE = ShopProfile(
    APPAREL, US_CITIES, US_HUBS, ("usps", "ups", "fedex", "dhl-express"), 800, (595, 1495), 7500, "+1 555-01"
)
EU_PROFILE = ShopProfile(
    HOMEWARE, EU_CITIES, EU_HUBS, ("dhl-express", "ups", "fedex"), 0, (490, 1290), 6000, "+31 6 5555 "
)
PROFILES = {"demo": US_PROFILE, "other": EU_PROFILE}


def profile_for(shop: Shop) -> ShopProfile:
    return PROFILES.get(shop.slug) or (EU_PROFILE if shop.currency == "EUR" else US_PROFILE)


# --- Scenarios: which state an order ends in, and how old it is ---------------------------------------


@dataclass(frozen=True)
class Scenario:
    name: str
    weight: float
    age_days: tuple[float, float]
    min_lines: int = 1


# fmt: off
SCENARIOS = (
    Scenario("pending", 3.0, (0.02, 1.5)),
    Scenario("pending_late", 0.6, (3, 12)),  # paid, never processed: late
    Scenario("processed", 2.5, (0.3, 1.8)),
    Scenario("processed_late", 0.6, (4, 12)),  # processed but not shipped within the handling time
    Scenario("partially_shipped", 1.0, (1.5, 4), min_lines=2),  # two parcels, one has left
    Scenario("shipped", 4.0, (2, 6)),
    Scenario("shipped_split", 0.8, (3, 7), min_lines=2),  # two parcels, the first one delivered
    Scenario("shipped_delayed", 0.5, (13, 20)),  # past the estimated delivery, carrier reports a problem
    Scenario("delivered", 68.0, (9, 90)),
    Scenario("return_requested", 0.6, (16, 30)),
    Scenario("return_approved", 0.6, (18, 32)),
    Scenario("return_rejected", 0.6, (18, 40)),
    Scenario("return_received", 0.6, (24, 40)),
    Scenario("return_refunded", 0.6, (26, 60), min_lines=2),  # part of the order came back and was refunded
    Scenario("returned", 2.5, (26, 90)),  # every item came back and was refunded
    Scenario("returned_to_sender", 0.8, (14, 90)),
    Scenario("cancelled", 4.5, (0.5, 90)),
    Scenario("cancelled_processed", 1.0, (1, 90)),
)
# fmt: on
RETURN_STATUS_OF = {
    "return_requested": ReturnStatus.REQUESTED,
    "return_approved": ReturnStatus.APPROVED,
    "return_rejected": ReturnStatus.REJECTED,
    "return_received": ReturnStatus.RECEIVED,
    "return_refunded": ReturnStatus.REFUNDED,
}
PAYMENT_METHODS = (
    PaymentMethod.CARD,
    PaymentMethod.WALLET,
    PaymentMethod.PLATFORM,
    PaymentMethod.BANK_TRANSFER,
    PaymentMethod.CASH_ON_DELIVERY,
)
PAYMENT_WEIGHTS = (70, 15, 8, 4, 3)


# --- Writing rows: COPY on PostgreSQL, bulk_create elsewhere -------------------------------------------


# Rows are joined with control characters the data never holds, then escaped for COPY's text format in a
# few passes over the whole buffer: much faster than escaping value by value.
FIELD, RECORD, NULL = "\x1f", "\x1e", "\x1d"
COPY_ESCAPES = (
    ("\\", "\\\\"),
    ("\t", "\\t"),
    ("\n", "\\n"),
    ("\r", "\\r"),
    (FIELD, "\t"),
    (RECORD, "\n"),
    (NULL, "\\N"),
)


def copy_text(rows, suffix: str) -> str:
    """``rows`` (tuples) in COPY's text format: tab-separated, \\N for NULL, backslash escapes in text."""
    text = "".join(FIELD.join([NULL if v is None else str(v) for v in row]) + suffix for row in rows)
    for old, new in COPY_ESCAPES:
        text = text.replace(old, new)
    return text


class Table:
    """The rows of one model for the current batch, as tuples in ``fields`` order (attnames).

    Concrete fields the generator does not fill (added later to the model, say) get their default, so a new
    nullable or defaulted column does not break the seeding.
    """

    def __init__(self, model: type[models.Model], fields: tuple[str, ...]):
        self.model = model
        self.fields = fields
        meta = model._meta
        self.rest = [f for f in meta.concrete_fields if f.attname not in fields and not f.primary_key]
        by_attname = {f.attname: f for f in meta.concrete_fields}
        self.json_positions = [
            i for i, name in enumerate(fields) if isinstance(by_attname[name], models.JSONField)
        ]
        self.columns = [by_attname[name].column for name in fields] + [f.column for f in self.rest]
        self.rows: list[tuple] = []

    def defaults(self, now) -> tuple:
        values = []
        for f in self.rest:
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                values.append(now)
            else:
                value = f.get_default()
                values.append(json.dumps(value) if isinstance(f, models.JSONField) else value)
        return tuple(values)

    def copy(self, cursor, rows: list[tuple], now) -> None:
        """Stream the rows with COPY, formatted here: several times faster than ``write_row``."""
        suffix = "".join(FIELD + (NULL if v is None else str(v)) for v in self.defaults(now)) + RECORD
        columns = ", ".join(connection.ops.quote_name(c) for c in self.columns)
        sql = f"COPY {connection.ops.quote_name(self.model._meta.db_table)} ({columns}) FROM STDIN"
        with cursor.copy(sql) as copy:
            for start in range(0, len(rows), 20000):
                copy.write(copy_text(rows[start : start + 20000], suffix))

    def bulk_create(self, rows: list[tuple], batch_size: int) -> None:
        objects = []
        for row in rows:
            values = dict(zip(self.fields, row, strict=True))
            for i in self.json_positions:
                values[self.fields[i]] = json.loads(row[i])
            objects.append(self.model(**values))
        self.model.objects.bulk_create(objects, batch_size=batch_size)

    def take_rows(self) -> list[tuple]:
        rows, self.rows = self.rows, []
        return rows


@dataclass
class Batch:
    """Everything one batch writes, ready to be stored in one transaction."""

    orders: int
    rows: dict[str, list[tuple]]
    customer_increments: dict[int, list[int]]  # orders added → ids of existing customers
    coupon_deltas: dict[int, int]  # coupon id → uses added (net of releases)


class IdAllocator:
    """Primary keys handed out before the rows exist, so related rows can be built without a round trip.

    PostgreSQL: values taken from the table's identity sequence in chunks (safe alongside other writers).
    Elsewhere (SQLite, one writer at a time): counting up from the current maximum.
    """

    def __init__(self, model: type[models.Model]):
        self.model = model
        self.chunk = 250  # doubles with each refill, up to 50,000: small runs reserve little
        self.ids: list[int] = []
        self.position = 0
        self.next_local: int | None = None
        self.sequence: str | None = None

    def take(self) -> int:
        if self.position >= len(self.ids):
            self.refill()
        value = self.ids[self.position]
        self.position += 1
        return value

    def refill(self) -> None:
        table = self.model._meta.db_table
        pk_column = self.model._meta.pk.column
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                if self.sequence is None:
                    cursor.execute(
                        "SELECT pg_get_serial_sequence(%s, %s)", [connection.ops.quote_name(table), pk_column]
                    )
                    self.sequence = cursor.fetchone()[0]
                cursor.execute(
                    "SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [self.sequence, self.chunk]
                )
                self.ids = [row[0] for row in cursor.fetchall()]
            else:
                if self.next_local is None:
                    cursor.execute(
                        f"SELECT COALESCE(MAX({connection.ops.quote_name(pk_column)}), 0) "
                        f"FROM {connection.ops.quote_name(table)}"
                    )
                    self.next_local = cursor.fetchone()[0] + 1
                self.ids = list(range(self.next_local, self.next_local + self.chunk))
                self.next_local += self.chunk
        self.position = 0
        self.chunk = min(self.chunk * 2, 50000)


# --- The generator --------------------------------------------------------------------------------------


@dataclass
class SeedResult:
    orders: int = 0
    seconds: float = 0.0
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def _money(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def _cents(amount: Decimal) -> int:
    return int(amount * 100)


def plan_scenarios(rng: random.Random, count: int, *, showcase: int, now_ts: float) -> list[int]:
    """``count`` orders as packed ints (placed time in seconds × 32 + scenario index), oldest first.

    ``showcase`` orders of every scenario are always included so that even a small shop shows every state
    and condition; the rest follow the weights (most orders delivered).
    """
    chosen: list[int] = []
    if showcase:
        for index in range(len(SCENARIOS)):
            chosen.extend([index] * showcase)
        chosen = chosen[:count]
    weights = [s.weight for s in SCENARIOS]
    chosen.extend(rng.choices(range(len(SCENARIOS)), weights=weights, k=count - len(chosen)))
    packed = []
    uniform = rng.uniform
    for index in chosen:
        low, high = SCENARIOS[index].age_days
        packed.append(int(now_ts - uniform(low, high) * DAY) * 32 + index)
    packed.sort()
    return packed


class OrderWriter:
    """Builds one shop's orders batch by batch; see the module docstring."""

    def __init__(
        self,
        shop: Shop,
        *,
        seed: int,
        customer_seed: int,
        seller_id: int | None,
        notifications: bool,
        showcase: bool = False,
        use_copy: bool,
        batch_size: int,
        expected_orders: int,
        now: datetime,
    ):
        self.shop = shop
        self.profile = profile_for(shop)
        self.rng = random.Random(seed)
        self.customer_seed = customer_seed  # the same people across top-ups
        self.seller_id = seller_id
        self.with_notifications = notifications
        self.use_copy = use_copy
        self.batch_size = batch_size
        self.now = now
        self.carriers = {
            c.code: c for c in Carrier.objects.filter(code__in=(*self.profile.carriers, "other"))
        }
        self.carrier_codes = [code for code in self.profile.carriers if code in self.carriers]
        if not self.carrier_codes:
            raise RuntimeError(
                "No carriers: run the migrations (shipping 0003 seeds them) or seed_demo first."
            )
        self.coupons = list(Coupon.objects.filter(shop=shop, is_active=True).order_by("code"))
        held = Counter(
            CouponRedemption.objects.filter(coupon__shop=shop, released_at__isnull=True).values_list(
                "coupon_id", flat=True
            )
        )
        self.coupon_uses = {c.pk: held[c.pk] for c in self.coupons}
        self.coupon_kinds_to_show = set(CouponKind.values) if showcase else set()
        # Customers: a pool whose size grows with the shop; early entries buy more often (repeat buyers).
        self.pool_size = max(12, expected_orders * 2 // 5)
        self.customer_ids = dict(Customer.objects.filter(shop=shop).values_list("email", "id"))
        self.tables = {
            "customer": Table(
                Customer, ("id", "shop_id", "email", "name", "phone", "order_count", "created_at")
            ),
            "order": Table(
                Order,
                (
                    "id",
                    "shop_id",
                    "number",
                    "public_token",
                    "customer_id",
                    "email",
                    "status",
                    "payment_status",
                    "payment_method",
                    "currency",
                    "subtotal",
                    "discount",
                    "shipping_price",
                    "tax",
                    "total",
                    "refunded_total",
                    "coupon_id",
                    "ship_name",
                    "ship_line1",
                    "ship_line2",
                    "ship_city",
                    "ship_region",
                    "ship_postal_code",
                    "ship_country",
                    "ship_phone",
                    "note",
                    "language",
                    "placed_at",
                    "processed_at",
                    "shipped_at",
                    "delivered_at",
                    "cancelled_at",
                    "returned_at",
                    "cancel_reason",
                    "has_open_return",
                    "updated_at",
                    "version",
                ),
            ),
            "line": Table(OrderLine, ("id", "order_id", "sku", "name", "variant", "quantity", "unit_price")),
            "redemption": Table(
                CouponRedemption,
                (
                    "coupon_id",
                    "order_id",
                    "customer_id",
                    "amount",
                    "redeemed_at",
                    "released_at",
                ),
            ),
            "shipment": Table(
                Shipment,
                (
                    "id",
                    "shop_id",
                    "order_id",
                    "carrier_id",
                    "tracking_number",
                    "status",
                    "shipped_at",
                    "estimated_delivery",
                    "delivered_at",
                ),
            ),
            "shipment_line": Table(ShipmentLine, ("shipment_id", "order_line_id", "quantity")),
            "tracking": Table(
                TrackingEvent,
                (
                    "shipment_id",
                    "occurred_at",
                    "status",
                    "location",
                    "description",
                    "source",
                    "created_at",
                ),
            ),
            "return": Table(
                Return,
                (
                    "id",
                    "order_id",
                    "status",
                    "reason",
                    "rejection_reason",
                    "refund_amount",
                    "return_tracking_number",
                    "requested_at",
                    "decided_at",
                    "received_at",
                    "refunded_at",
                ),
            ),
            "return_line": Table(ReturnLine, ("return_request_id", "order_line_id", "quantity")),
            "event": Table(
                OrderEvent,
                ("id", "order_id", "kind", "message", "data", "actor_id", "actor_kind", "created_at"),
            ),
            "notification": Table(
                Notification,
                (
                    "id",
                    "shop_id",
                    "order_id",
                    "event_id",
                    "channel",
                    "template",
                    "recipient",
                    "language",
                    "context",
                    "dedupe_key",
                    "status",
                    "attempts",
                    "last_error",
                    "provider_message_id",
                    "created_at",
                    "next_attempt_at",
                    "sent_at",
                ),
            ),
        }
        self.ids = {
            name: IdAllocator(model)
            for name, model in (
                ("customer", Customer),
                ("order", Order),
                ("line", OrderLine),
                ("shipment", Shipment),
                ("return", Return),
                ("event", OrderEvent),
                ("notification", Notification),
            )
        }
        self.written: Counter = Counter()
        self.stored = 0
        # Translated once: the same texts the services write on the timeline.
        self.text = {
            "placed": _("Order placed"),
            "processed": _("Order accepted and being prepared"),
            "shipped": _("Order shipped"),
            "partial": _("%(count)s parcel(s) shipped; items still to ship"),
            "parcel_delivered": _("Parcel %(number)s delivered"),
            "delivered": _("Order delivered"),
            "payment": _("Payment received"),
            "handed": _("Handed to %(carrier)s"),
            "delivered_scan": _("Delivered"),
            "return_approved": _("Return approved"),
            "return_received": _("Returned items received"),
            "refund": _("Refund issued"),
            "returned": _("Every item came back"),
        }

    # -- batches

    def write(self, plan: list[int], *, pipelined: bool, progress=None) -> None:
        """Generate and store the planned orders batch by batch.

        ``pipelined``: a second thread (with its own connection) stores batch N while this one generates
        batch N+1, so Python and PostgreSQL work at the same time. Only outside a transaction: the writer's
        connection would not see the caller's uncommitted rows.
        """
        batches = (plan[start : start + self.batch_size] for start in range(0, len(plan), self.batch_size))
        if not pipelined:
            for batch in batches:
                with transaction.atomic():
                    self.store(self.generate(batch))
                if progress:
                    progress(self.stored)
            return
        pending: queue.Queue = queue.Queue(maxsize=2)
        errors: list[BaseException] = []

        def store_batches():
            try:
                while (payload := pending.get()) is not None:
                    if not errors:
                        with transaction.atomic():
                            self.store(payload)
                        if progress:
                            progress(self.stored)
            except BaseException as exc:
                errors.append(exc)
                while pending.get() is not None:
                    pass
            finally:
                connection.close()

        writer = threading.Thread(target=store_batches, name="demo-data-writer")
        writer.start()
        try:
            for batch in batches:
                if errors:
                    break
                pending.put(self.generate(batch))
        finally:
            pending.put(None)
            writer.join()
        if errors:
            raise errors[0]

    def reserve_numbers(self, count: int) -> tuple[str, int]:
        """Take ``count`` order numbers from the shop in one statement; returns (prefix, first number)."""
        meta = Shop._meta
        q = connection.ops.quote_name
        last_field, prefix_field = (
            meta.get_field("last_order_number").column,
            meta.get_field("order_prefix").column,
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {q(meta.db_table)} SET {q(last_field)} = {q(last_field)} + %s "
                f"WHERE {q(meta.pk.column)} = %s RETURNING {q(prefix_field)}, {q(last_field)}",
                [count, self.shop.pk],
            )
            prefix, last = cursor.fetchone()
        return prefix, last - count + 1

    def generate(self, batch: list[int]) -> Batch:
        prefix, first_number = self.reserve_numbers(len(batch))
        self.new_customers: dict[str, list] = {}
        self.customer_orders: Counter = Counter()
        self.coupon_delta: Counter = Counter()
        for offset, packed in enumerate(batch):
            placed_at = datetime.fromtimestamp(packed // 32 + self.rng.random(), tz=UTC)
            self.build_order(SCENARIOS[packed % 32], placed_at, f"{prefix}-{first_number + offset}")
        for email, row in self.new_customers.items():
            row[5] = self.customer_orders.pop(email)
            self.tables["customer"].rows.append(tuple(row))
        increments = defaultdict(list)
        for email, count in self.customer_orders.items():
            increments[count].append(self.customer_ids[email])
        return Batch(
            orders=len(batch),
            rows={name: table.take_rows() for name, table in self.tables.items()},
            customer_increments=dict(increments),
            coupon_deltas=dict(self.coupon_delta),
        )

    def store(self, batch: Batch) -> None:
        """Write one batch; the caller holds the transaction."""
        for count, ids in batch.customer_increments.items():
            Customer.objects.filter(pk__in=ids).update(order_count=F("order_count") + count)
        for coupon_id, delta in batch.coupon_deltas.items():
            Coupon.objects.filter(pk=coupon_id).update(times_used=F("times_used") + delta)
        with connection.cursor() as cursor:
            if self.use_copy:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
            for name, rows in batch.rows.items():
                if not rows:
                    continue
                table = self.tables[name]
                if self.use_copy:
                    table.copy(cursor, rows, self.now)
                else:
                    table.bulk_create(rows, batch_size=2000)
                self.written[name] += len(rows)
        self.stored += batch.orders

    # -- customers

    def customer(self, placed_at: datetime) -> tuple[int, str, str, tuple]:
        """(id, email, name, address) of a buyer from the pool; a new one is added to this batch."""
        k = int(self.pool_size * self.rng.random() ** 1.5)
        person = random.Random(self.customer_seed * 1_000_003 + k)
        first, last = person.choice(FIRST_NAMES), person.choice(LAST_NAMES)
        name = f"{first} {last}"
        email = f"{_ascii(first)}.{_ascii(last)}{k}@example.{person.choice(('com', 'net', 'org'))}"
        city, region, postal, country = person.choice(self.profile.cities)
        line2 = f"Apt {person.randint(1, 40)}{person.choice('ABCD')}" if person.random() < 0.25 else ""
        address = (
            name,
            f"{person.randint(1, 240)} {person.choice(STREETS)}",
            line2,
            city,
            region,
            postal,
            country,
        )
        phone = f"{self.profile.phone_prefix}{k % 100:02d}" if person.random() < 0.6 else ""
        customer_id = self.customer_ids.get(email)
        if customer_id is None:
            customer_id = self.ids["customer"].take()
            self.customer_ids[email] = customer_id
            self.new_customers[email] = [customer_id, self.shop.pk, email, name, phone, 0, placed_at]
        self.customer_orders[email] += 1
        return customer_id, email, phone, address

    # -- one order

    def event(self, order_id, kind, at, *, message="", data=None, data_json="", by=ActorKind.SYSTEM) -> int:
        """A timeline row. ``data_json``: the data already encoded (the hot paths skip ``json.dumps``)."""
        event_id = self.ids["event"].take()
        actor_id = self.seller_id if by == ActorKind.SELLER else None
        encoded = data_json or (json.dumps(data) if data else "{}")
        self.tables["event"].rows.append(
            (event_id, order_id, kind, str(message)[:500], encoded, actor_id, by, at)
        )
        return event_id

    def email(self, o, event_id, template, at, *, context=None, part="") -> None:
        """A customer email the services would have queued, already delivered (the demo sends nothing)."""
        if not self.with_notifications:
            return
        notification_id = self.ids["notification"].take()
        suffix = f":{part}" if part else ""
        sent_at = at + timedelta(seconds=20 + self.rng.random() * 100)
        self.tables["notification"].rows.append(
            (
                notification_id,
                self.shop.pk,
                o["id"],
                event_id,
                "email",
                template,
                o["email"],
                o["language"],
                json.dumps(context) if context else "{}",
                f"o{o['id']}:e{event_id}:{template}{suffix}:{o['email']}"[:200],
                NotificationStatus.SENT,
                1,
                "",
                f"<demo-{notification_id}@shipshape.invalid>",
                at,
                None,
                sent_at,
            )
        )
        self.event(
            o["id"],
            EventKind.NOTIFICATION_SENT,
            sent_at,
            message=f"{template} → {o['email']}",
            data_json=f'{{"notification_id": {notification_id}, "template": "{template}"}}',
        )

    def coupon_applies(
        self, coupon: Coupon, placed_at: datetime, subtotal: int, units: int, shipping: int
    ) -> bool:
        """``quote_coupon``'s rules at the time of the order (limits per customer are left to real orders)."""
        return not (
            (coupon.valid_from and placed_at < coupon.valid_from)
            or (coupon.valid_until and placed_at > coupon.valid_until)
            or (coupon.usage_limit is not None and self.coupon_uses[coupon.pk] >= coupon.usage_limit)
            or subtotal < _cents(coupon.min_subtotal)
            or units < coupon.min_quantity
            or coupon.per_customer_limit is not None
            or coupon.returning_customers_only
            or (coupon.kind == CouponKind.FREE_SHIPPING and not shipping)
        )

    def build_order(self, scenario: Scenario, placed_at: datetime, number: str) -> None:
        rng = self.rng
        profile = self.profile
        now = self.now
        name = scenario.name
        order_id = self.ids["order"].take()
        customer_id, email, phone, address = self.customer(placed_at)
        country = address[6]
        language = COUNTRY_LANGUAGE.get(country, "en")
        o = {"id": order_id, "email": email, "language": language}

        # Lines: distinct products, sizes and colours; one to four of them.
        n_lines = max(scenario.min_lines, rng.choices((1, 2, 3, 4), (50, 30, 15, 5))[0])
        lines = []  # (line id, quantity, unit price cents)
        for product in rng.sample(profile.catalogue, n_lines):
            sku_suffix, variant = rng.choice(product.variants)
            quantity = rng.choices((1, 2, 3), (80, 15, 5))[0]
            line_id = self.ids["line"].take()
            lines.append((line_id, quantity, product.price_cents))
            self.tables["line"].rows.append(
                (
                    line_id,
                    order_id,
                    f"{product.sku}-{sku_suffix}" if sku_suffix else product.sku,
                    product.name,
                    variant,
                    quantity,
                    _money(product.price_cents),
                )
            )
        subtotal = sum(q * p for _line, q, p in lines)
        units = sum(q for _line, q, _p in lines)
        shipping = (
            0 if subtotal >= profile.free_shipping_from_cents else profile.shipping_cents[rng.random() < 0.25]
        )

        # Coupon, by the same rules the services apply. A showcase uses every kind of coupon early on.
        coupon, discount = None, 0
        if self.coupon_kinds_to_show:
            candidates = [c for c in self.coupons if c.kind in self.coupon_kinds_to_show]
        else:
            candidates = [rng.choice(self.coupons)] if self.coupons and rng.random() < 0.18 else []
        for candidate in candidates:
            if self.coupon_applies(candidate, placed_at, subtotal, units, shipping):
                coupon = candidate
                self.coupon_kinds_to_show.discard(coupon.kind)
                break
        if coupon is None:
            pass
        elif coupon.kind == CouponKind.PERCENTAGE:
            discount = min(subtotal, (subtotal * int(coupon.value * 100) + 5000) // 10000)
        elif coupon.kind == CouponKind.FIXED:
            discount = min(subtotal, _cents(coupon.value))
        else:
            discount = shipping
        tax = ((subtotal - discount) * profile.tax_basis_points + 5000) // 10000
        total = subtotal - discount + shipping + tax

        method = rng.choices(PAYMENT_METHODS, PAYMENT_WEIGHTS)[0]
        cod = method == PaymentMethod.CASH_ON_DELIVERY
        if name in ("pending", "cancelled"):
            paid = not cod and not (method == PaymentMethod.BANK_TRANSFER and rng.random() < 0.6)
        else:
            paid = not cod
        status = OrderStatus.PENDING
        payment_status = PaymentStatus.PAID if paid else PaymentStatus.UNPAID
        refunded = 0
        stamps = dict.fromkeys(("processed_at", "shipped_at", "delivered_at", "cancelled_at", "returned_at"))
        cancel_reason = ""
        version = 1
        seller = ActorKind.SELLER

        placed_event = self.event(
            order_id,
            EventKind.PLACED,
            placed_at,
            message=self.text["placed"],
            data={"total": str(_money(total)), "coupon": coupon.code if coupon else None},
            by=ActorKind.API,
        )
        self.email(o, placed_event, "order_confirmed", placed_at)
        if coupon:
            self.coupon_uses[coupon.pk] += 1
            self.coupon_delta[coupon.pk] += 1

        # The timeline: realistic gaps, squeezed into the time since the order was placed when it is recent.
        span = (now - placed_at).total_seconds() - 60
        t = placed_at

        def later(low_hours: float, high_hours: float, share: float = 0.3) -> datetime:
            nonlocal t
            step = rng.uniform(low_hours, high_hours) * HOUR
            left = (now - t).total_seconds() - 60
            t = t + timedelta(seconds=max(1.0, min(step, left * share)))
            return t

        if name.startswith("cancelled"):
            if name == "cancelled_processed":
                stamps["processed_at"] = later(1, 20)
                status, version = OrderStatus.PROCESSED, version + 1
                self.email(
                    o,
                    self.event(order_id, EventKind.PROCESSED, t, message=self.text["processed"], by=seller),
                    "order_processed",
                    t,
                )
            stamps["cancelled_at"] = later(2, 30)
            cancel_reason = (
                rng.choice(CANCEL_REASONS) if paid or cod or name != "cancelled" else UNPAID_CANCEL_REASON
            )
            refund = None
            if paid:
                refunded, payment_status, refund = total, PaymentStatus.REFUNDED, str(_money(total))
            if coupon:
                self.coupon_uses[coupon.pk] -= 1
                self.coupon_delta[coupon.pk] -= 1
            status, version = OrderStatus.CANCELLED, version + 1
            event_id = self.event(
                order_id,
                EventKind.CANCELLED,
                t,
                message=cancel_reason,
                data={"refunded": refund, "coupon_released": bool(coupon)},
                by=seller if cancel_reason != UNPAID_CANCEL_REASON else ActorKind.SYSTEM,
            )
            self.email(
                o, event_id, "order_cancelled", t, context={"reason": cancel_reason, "refunded": refund or ""}
            )
        elif name not in ("pending", "pending_late"):
            stamps["processed_at"] = later(1, 20, share=0.25 if span < 3 * DAY else 0.3)
            status, version = OrderStatus.PROCESSED, version + 1
            self.email(
                o,
                self.event(order_id, EventKind.PROCESSED, t, message=self.text["processed"], by=seller),
                "order_processed",
                t,
            )

        shipments = []
        if status == OrderStatus.PROCESSED and name not in (
            "processed",
            "processed_late",
            "cancelled_processed",
        ):
            shipped_at = later(2, 30)
            split = name in ("partially_shipped", "shipped_split") or (n_lines > 2 and rng.random() < 0.15)
            groups = [lines[:1], lines[1:]] if split else [lines]
            if name == "partially_shipped":
                groups = groups[:1]
            for group in groups:
                shipments.append(self.ship(o, group, shipped_at, address))
            data = {
                "parcels": [
                    {"shipment_id": s["id"], "carrier": s["carrier"], "tracking_number": s["number"]}
                    for s in shipments
                ]
            }
            version += 1
            if name == "partially_shipped":
                event_id = self.event(
                    order_id,
                    EventKind.SHIPMENT_CREATED,
                    shipped_at,
                    by=seller,
                    message=self.text["partial"] % {"count": len(shipments)},
                    data={**data, "partial": True},
                )
                for s in shipments:  # the parcel that left is on its way
                    self.scans(s, address, until=now - timedelta(minutes=5), deliver=False)
            else:
                status, stamps["shipped_at"] = OrderStatus.SHIPPED, shipped_at
                event_id = self.event(
                    order_id,
                    EventKind.SHIPPED,
                    shipped_at,
                    message=self.text["shipped"],
                    data=data,
                    by=seller,
                )
            for s in shipments:
                self.email(
                    o,
                    event_id,
                    "shipment_shipped",
                    shipped_at,
                    part=f"s{s['id']}",
                    context={
                        "carrier": s["carrier_name"],
                        "tracking_number": s["number"],
                        "carrier_tracking_url": s["url"],
                        "estimated_delivery": s["estimated"].isoformat(),
                    },
                )

        if status == OrderStatus.SHIPPED:
            if name == "returned_to_sender":
                reason = rng.choice(SENDER_RETURN_REASONS)
                at = later(30, 120)
                for s in shipments:
                    self.scans(s, address, until=at - timedelta(hours=6), deliver=False)
                    s["status"] = ShipmentStatus.RETURNED_TO_SENDER
                    self.tables["tracking"].rows.append(
                        (
                            s["id"],
                            at,
                            ShipmentStatus.RETURNED_TO_SENDER,
                            s["origin"],
                            reason,
                            TrackingSource.CARRIER,
                            at,
                        )
                    )
                status, stamps["returned_at"], version = OrderStatus.RETURNED, at, version + 1
                event_id = self.event(
                    order_id, EventKind.RETURNED_TO_SENDER, at, message=reason, by=ActorKind.CARRIER
                )
                self.email(o, event_id, "order_returned", at, context={"reason": reason})
            elif name in ("shipped", "shipped_delayed"):
                for s in shipments:
                    self.scans(
                        s,
                        address,
                        until=now - timedelta(minutes=5),
                        deliver=False,
                        problem=name == "shipped_delayed",
                    )
            else:
                # Delivered parcel by parcel; the last one delivers the order.
                for position, s in enumerate(shipments):
                    last = position == len(shipments) - 1
                    if name == "shipped_split" and last:
                        self.scans(s, address, until=now - timedelta(minutes=5), deliver=False)
                        continue
                    delivered_at = self.scans(s, address, until=now - timedelta(minutes=5), deliver=True)
                    t = max(t, delivered_at)
                    version += 1
                    if last:
                        status, stamps["delivered_at"] = OrderStatus.DELIVERED, delivered_at
                        event_id = self.event(
                            order_id,
                            EventKind.DELIVERED,
                            delivered_at,
                            message=self.text["delivered"],
                            by=ActorKind.CARRIER,
                        )
                        self.email(o, event_id, "order_delivered", delivered_at)
                    else:
                        event_id = self.event(
                            order_id,
                            EventKind.SHIPMENT_DELIVERED,
                            delivered_at,
                            message=self.text["parcel_delivered"] % {"number": s["number"] or s["id"]},
                            data={"shipment_id": s["id"]},
                            by=ActorKind.CARRIER,
                        )
                        self.email(
                            o,
                            event_id,
                            "shipment_delivered",
                            delivered_at,
                            part=f"s{s['id']}",
                            context={"carrier": s["carrier_name"], "tracking_number": s["number"]},
                        )
                if status == OrderStatus.DELIVERED and cod:
                    paid, payment_status, version = True, PaymentStatus.PAID, version + 1
                    self.event(
                        order_id,
                        EventKind.PAYMENT,
                        t + timedelta(minutes=30),
                        message=self.text["payment"],
                        data={"payment_status": "paid"},
                        by=seller,
                    )

        if status == OrderStatus.DELIVERED and (name in RETURN_STATUS_OF or name == "returned"):
            refunded, returned_at, steps = self.return_request(o, name, lines, subtotal, discount, total, t)
            version += steps
            if refunded:
                payment_status = (
                    PaymentStatus.REFUNDED if refunded >= total else PaymentStatus.PARTIALLY_REFUNDED
                )
            if returned_at:
                status, stamps["returned_at"] = OrderStatus.RETURNED, returned_at
            t = max(t, self.last_return_time)

        for s in shipments:
            self.tables["shipment"].rows.append(
                (
                    s["id"],
                    self.shop.pk,
                    order_id,
                    s["carrier_id"],
                    s["number"],
                    s["status"],
                    s["shipped_at"],
                    s["estimated"],
                    s["delivered_at"],
                )
            )
        for s in shipments:
            for line_id, quantity, _price in s["lines"]:
                self.tables["shipment_line"].rows.append((s["id"], line_id, quantity))
        if coupon:
            self.tables["redemption"].rows.append(
                (
                    coupon.pk,
                    order_id,
                    customer_id,
                    _money(discount),
                    placed_at,
                    stamps["cancelled_at"] if status == OrderStatus.CANCELLED else None,
                )
            )
        note = rng.choice(NOTES) if rng.random() < 0.05 else ""
        self.tables["order"].rows.append(
            (
                order_id,
                self.shop.pk,
                number,
                new_public_token(),
                customer_id,
                email,
                status,
                payment_status,
                method,
                self.shop.currency,
                _money(subtotal),
                _money(discount),
                _money(shipping),
                _money(tax),
                _money(total),
                _money(refunded),
                coupon.pk if coupon else None,
                *address,
                phone,
                note,
                language,
                placed_at,
                stamps["processed_at"],
                stamps["shipped_at"],
                stamps["delivered_at"],
                stamps["cancelled_at"],
                stamps["returned_at"],
                cancel_reason,
                status == OrderStatus.DELIVERED and RETURN_STATUS_OF.get(name) in OPEN_RETURN_STATES,
                max(t, placed_at),
                version,
            )
        )

    def ship(self, o, group, shipped_at, address) -> dict:
        rng = self.rng
        shipment_id = self.ids["shipment"].take()
        if rng.random() < 0.03 and "other" in self.carriers:
            carrier, number = self.carriers["other"], ""
        else:
            carrier = self.carriers[
                rng.choices(self.carrier_codes, (50, 25, 15, 10)[: len(self.carrier_codes)])[0]
            ]
            number = tracking_number(carrier.code, shipment_id)
        origin = self.shop.ship_from_city or self.profile.hubs[0]
        self.tables["tracking"].rows.append(
            (
                shipment_id,
                shipped_at,
                ShipmentStatus.IN_TRANSIT,
                origin,
                self.text["handed"] % {"carrier": carrier.name},
                TrackingSource.SELLER,
                shipped_at,
            )
        )
        return {
            "id": shipment_id,
            "carrier": carrier.code,
            "carrier_name": carrier.name,
            "carrier_id": carrier.pk,
            "number": number,
            "url": carrier.tracking_url(number),
            "shipped_at": shipped_at,
            "lines": group,
            "estimated": (shipped_at + timedelta(days=rng.randint(3, 6))).date(),
            "status": ShipmentStatus.IN_TRANSIT,
            "delivered_at": None,
            "origin": origin,
        }

    def scans(self, s, address, *, until: datetime, deliver: bool, problem: bool = False) -> datetime | None:
        """The carrier's scans after the hand-over: hubs, out for delivery, delivered (when ``deliver``).

        Scans after ``until`` have not happened yet, unless ``deliver``: then the journey is squeezed so that
        the parcel arrives before ``until``. Returns the delivery time when delivered.
        """
        rng = self.rng
        source = TrackingSource.CARRIER
        destination = f"{address[3]}, {address[6]}"
        shipped_at = s["shipped_at"]
        if not s["number"]:  # no tracking: nothing until the seller marks it delivered
            if not deliver:
                return None
            at = min(shipped_at + timedelta(hours=rng.uniform(48, 120)), until)
            self.tables["tracking"].rows.append(
                (
                    s["id"],
                    at,
                    ShipmentStatus.DELIVERED,
                    "",
                    self.text["delivered_scan"],
                    TrackingSource.SELLER,
                    at,
                )
            )
            s["status"], s["delivered_at"] = ShipmentStatus.DELIVERED, at
            return at
        hours = 0.0
        scans = []  # (hours after the hand-over, status, location, description)
        for hub in rng.sample(self.profile.hubs, 2):
            hours += rng.uniform(5, 20)
            scans.append((hours, ShipmentStatus.IN_TRANSIT, hub, "Arrived at sorting facility"))
            hours += rng.uniform(1, 4)
            scans.append((hours, ShipmentStatus.IN_TRANSIT, hub, "Departed sorting facility"))
        if problem:
            hours += rng.uniform(10, 30)
            scans.append((hours, ShipmentStatus.EXCEPTION, destination, rng.choice(DELAY_REASONS)))
        else:
            hours += rng.uniform(8, 30)
            scans.append((hours, ShipmentStatus.OUT_FOR_DELIVERY, destination, "Out for delivery"))
            if deliver:
                hours += rng.uniform(1, 7)
                scans.append((hours, ShipmentStatus.DELIVERED, destination, rng.choice(DELIVERY_NOTES)))
        available = (until - shipped_at).total_seconds() / HOUR
        scale = available / hours if (deliver or problem) and hours > available else 1.0
        rows = self.tables["tracking"].rows
        at = None
        for offset, status, location, description in scans:
            at = shipped_at + timedelta(hours=offset * scale)
            if at > until:
                break
            rows.append((s["id"], at, status, location, description, source, at))
            s["status"] = status
        if s["status"] == ShipmentStatus.DELIVERED:
            s["delivered_at"] = at
            return at
        return None

    def return_request(self, o, name, lines, subtotal, discount, total, delivered_at):
        """A return in the scenario's state. Returns (refunded cents, returned_at or None, version steps)."""
        rng = self.rng
        return_id = self.ids["return"].take()
        if name == "returned":
            items = [(line_id, quantity) for line_id, quantity, _p in lines]
        else:
            items = [(lines[0][0], 1)]
        prices = {line_id: price for line_id, _q, price in lines}
        status = RETURN_STATUS_OF.get(name, ReturnStatus.REFUNDED)
        reason = rng.choice(RETURN_REASONS)
        t = delivered_at + timedelta(hours=rng.uniform(20, 120))
        requested_at, decided_at, received_at, refunded_at = t, None, None, None
        rejection, tracking, refund = "", "", 0
        steps = 1
        order_id = o["id"]
        self.event(
            order_id,
            EventKind.RETURN_REQUESTED,
            t,
            message=reason,
            by=ActorKind.BUYER,
            data={"return_id": return_id, "lines": {str(k): v for k, v in items}},
        )
        if status == ReturnStatus.REJECTED:
            t = decided_at = t + timedelta(hours=rng.uniform(4, 40))
            rejection = rng.choice(REJECT_REASONS)
            steps += 1
            event_id = self.event(
                order_id,
                EventKind.RETURN_REJECTED,
                t,
                message=rejection,
                by=ActorKind.SELLER,
                data={"return_id": return_id},
            )
            self.email(
                o, event_id, "return_rejected", t, context={"return_id": return_id, "reason": rejection}
            )
        elif status != ReturnStatus.REQUESTED:
            t = decided_at = t + timedelta(hours=rng.uniform(4, 40))
            steps += 1
            event_id = self.event(
                order_id,
                EventKind.RETURN_APPROVED,
                t,
                message=self.text["return_approved"],
                by=ActorKind.SELLER,
                data={"return_id": return_id},
            )
            self.email(o, event_id, "return_approved", t, context={"return_id": return_id})
            tracking = f"RT{return_id:010d}"
            if status in (ReturnStatus.RECEIVED, ReturnStatus.REFUNDED):
                t = received_at = t + timedelta(hours=rng.uniform(48, 120))
                steps += 1
                event_id = self.event(
                    order_id,
                    EventKind.RETURN_RECEIVED,
                    t,
                    message=self.text["return_received"],
                    by=ActorKind.SELLER,
                    data={"return_id": return_id},
                )
                self.email(o, event_id, "return_received", t, context={"return_id": return_id})
            if status == ReturnStatus.REFUNDED:
                t = refunded_at = t + timedelta(hours=rng.uniform(2, 40))
                steps += 1
                # suggested_refund(): the units at their price, less their share of the discount.
                gross = _money(sum(prices[line_id] * quantity for line_id, quantity in items))
                if subtotal and discount:
                    gross -= (gross * _money(discount) / _money(subtotal)).quantize(Decimal("0.01"))
                refund = _cents(max(min(gross, _money(total)), Decimal("0.00")))
                event_id = self.event(
                    order_id,
                    EventKind.RETURN_REFUNDED,
                    t,
                    message=self.text["refund"],
                    by=ActorKind.SELLER,
                    data={"return_id": return_id, "amount": str(_money(refund))},
                )
                self.email(
                    o,
                    event_id,
                    "return_refunded",
                    t,
                    context={"return_id": return_id, "amount": str(_money(refund))},
                )
        self.tables["return"].rows.append(
            (
                return_id,
                order_id,
                status,
                reason,
                rejection,
                _money(refund),
                tracking,
                requested_at,
                decided_at,
                received_at,
                refunded_at,
            )
        )
        for line_id, quantity in items:
            self.tables["return_line"].rows.append((return_id, line_id, quantity))
        self.last_return_time = t
        returned_at = None
        if name == "returned":
            returned_at = t
            event_id = self.event(
                order_id, EventKind.RETURNED, t, message=self.text["returned"], by=ActorKind.SELLER
            )
            self.email(o, event_id, "order_returned", t)
        return refund, returned_at, steps

    def result(self) -> dict[str, int]:
        return {table.model._meta.label: self.written[name] for name, table in self.tables.items()}


def tracking_number(carrier_code: str, shipment_id: int) -> str:
    """A number in the carrier's own format with a correct check digit (so carrier detection recognises it
    as that carrier's alone), unique per shipment."""
    # A multiplier coprime with 10 makes this a bijection below every power of ten used here.
    scrambled = shipment_id * 7_919_000_003 % 10**15
    if carrier_code == "usps":  # IMpb, 22 digits
        return with_check_digit("usps", f"9400{scrambled:017d}")
    if carrier_code == "ups":  # 1Z, 15 characters, check digit
        return with_check_digit("ups", f"1Z{scrambled:015d}")
    if carrier_code == "fedex":  # FedEx Express, 12 digits
        return with_check_digit("fedex", f"7{scrambled % 10**10:010d}")
    if carrier_code == "dhl-express":  # DHL Express waybill, 10 digits, mod 7
        return with_check_digit("dhl-express", f"{scrambled % 10**9:09d}")
    if carrier_code == "royal-mail":  # UPU S10
        return with_check_digit("royal-mail", f"RM{scrambled % 10**8:08d}", "GB")
    return f"DEMO{scrambled:015d}"


def generate_orders(
    shop: Shop,
    count: int,
    *,
    seed: int = 2026,
    seller=None,
    showcase: int = 0,
    notifications: bool = True,
    use_copy: bool | None = None,
    pipelined: bool | None = None,
    batch_size: int = 5000,
    progress=None,
    now: datetime | None = None,
) -> SeedResult:
    """Add ``count`` orders to ``shop``, spread over the last 90 days, and return what was written.

    ``seller`` (a user) is the actor of the seller's steps on the timeline. ``showcase`` puts that many
    orders of every scenario first, so a small shop shows every state and condition. ``use_copy`` defaults
    to COPY on PostgreSQL and bulk_create elsewhere; ``pipelined`` to storing in a second thread on
    PostgreSQL when not called inside a transaction. Deterministic for a given shop, seed and order count.
    """
    started = time.perf_counter()
    if count <= 0:
        return SeedResult()
    if use_copy is None:
        use_copy = connection.vendor == "postgresql"
    if pipelined is None:
        pipelined = connection.vendor == "postgresql" and not connection.in_atomic_block
    existing = Order.objects.filter(shop=shop).count()
    now = now or timezone.now()
    customer_seed = seed * 7919 + zlib.crc32(shop.slug.encode())  # the same shop gets the same people
    seed = customer_seed * 7919 + existing
    writer = OrderWriter(
        shop,
        seed=seed,
        customer_seed=customer_seed,
        seller_id=getattr(seller, "pk", None),
        notifications=notifications,
        showcase=bool(showcase),
        use_copy=use_copy,
        batch_size=batch_size,
        expected_orders=existing + count,
        now=now,
    )
    plan = plan_scenarios(random.Random(seed), count, showcase=showcase, now_ts=now.timestamp() - 120)
    writer.write(plan, pipelined=pipelined, progress=progress)
    shop.refresh_from_db(fields=["last_order_number"])
    return SeedResult(orders=count, seconds=time.perf_counter() - started, rows=writer.result())
