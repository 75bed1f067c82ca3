"""Writing imported orders: new ones in batches, existing ones moved forward through the services.

``orders.imports.applying`` decides what each order of a file becomes and builds an ``OrderDraft`` for a new
one: its status already walked through the state machine (``changes.move`` checks every step), its parcels,
its return. ``create_imported_orders`` writes a list of drafts with one bulk insert per table, so a chunk of
500 orders costs a dozen queries; the caller wraps it in a savepoint and falls back to one draft at a time
when the batch fails, so each order is still written whole or not at all.

``advance_imported_order`` moves an order that is already in Shipshape forward, one step at a time, through
the very services a seller uses (``process_order``, ``ship_order``, ``deliver_order``, ``cancel_order``...),
so every rule of the state machine and every timeline event is the usual one. The caller runs both inside
``customers_silenced()``: imported history sends the buyers nothing.
"""

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from shipping.models import Shipment, ShipmentLine, ShipmentStatus, TrackingEvent, TrackingSource
from shop.models import Customer, Shop

from ..errors import InvalidInput
from ..models import (
    EventKind,
    ExternalOrderRef,
    Notification,
    Order,
    OrderEvent,
    OrderLine,
    Return,
    ReturnLine,
    ReturnStatus,
    WebhookEndpoint,
)
from ..notifications import publish_after_commit
from ..notifications.outbox import webhook_rows
from ..states import OrderStatus, PaymentStatus
from .changes import Actor, lock_order
from .fulfilment import ParcelSpec, cancel_order, deliver_order, mark_paid, process_order, return_to_sender
from .fulfilment import ship_order as ship
from .returns import approve_return, receive_return, refund_return, request_return


@dataclass
class ParcelDraft:
    carrier_id: int
    carrier_name: str
    tracking_number: str
    shipped_at: datetime
    lines: dict[int, int]  # index of the draft's line → units in this parcel
    status: str = ShipmentStatus.IN_TRANSIT
    delivered_at: datetime | None = None


@dataclass
class ReturnDraft:
    lines: dict[int, int]  # index of the draft's line → units that came back
    amount: Decimal
    at: datetime
    reason: str


@dataclass
class OrderDraft:
    """A new order as it will be written: ``fields`` are the ``Order`` fields but shop, number, customer."""

    email: str
    customer_name: str
    customer_phone: str
    fields: dict
    lines: list[dict]  # OrderLine fields: sku, name, variant, quantity, unit_price
    refs: list[tuple[str, str]]  # (source, external id): the first is the file's own id
    event_message: str
    event_data: dict
    parcels: list[ParcelDraft] = field(default_factory=list)
    return_request: ReturnDraft | None = None


def _lock_customers(shop: Shop, drafts: list[OrderDraft]) -> dict[str, int]:
    """The shop's customers of these drafts, created when new, locked (as ``place_order`` locks its one)."""
    first_of = {}
    for draft in drafts:
        first_of.setdefault(draft.email, draft)
    Customer.objects.bulk_create(
        [
            Customer(shop=shop, email=email, name=d.customer_name, phone=d.customer_phone)
            for email, d in first_of.items()
        ],
        ignore_conflicts=True,
    )
    rows = (
        Customer.objects.select_for_update()
        .filter(shop=shop, email__in=list(first_of))
        .order_by("pk")
        .values_list("email", "pk")
    )
    return dict(rows)


def _take_order_numbers(shop: Shop, count: int) -> list[str]:
    """``count`` consecutive numbers of the shop's counter, under the shop row's lock (see placing.py)."""
    Shop.objects.filter(pk=shop.pk).update(last_order_number=F("last_order_number") + count)
    prefix, last = Shop.objects.values_list("order_prefix", "last_order_number").get(pk=shop.pk)
    return [f"{prefix}-{number}" for number in range(last - count + 1, last + 1)]


def _count_orders(customer_orders: Counter) -> None:
    """Add each customer's new orders to their count: one UPDATE per distinct number (mostly one)."""
    by_count: dict[int, list[int]] = {}
    for pk, count in customer_orders.items():
        by_count.setdefault(count, []).append(pk)
    for count, pks in by_count.items():
        Customer.objects.filter(pk__in=pks).update(order_count=F("order_count") + count)


def insert_rows(model, rows: list[dict]) -> list[int]:
    """Insert ``rows`` (dicts keyed by field attnames; missing fields take their defaults) and return their
    ids, in order. On PostgreSQL the ids are taken from the table's sequence and the rows sent with one
    ``COPY``: a tenth of what ``bulk_create`` costs for the 100,000-row files the importer must take.
    Elsewhere (SQLite in development) it is ``bulk_create``."""
    if not rows:
        return []
    if connection.vendor != "postgresql":
        return [obj.pk for obj in model.objects.bulk_create([model(**row) for row in rows])]
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    now = timezone.now()
    fixed, per_row = {}, {}
    for f in fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            fixed[f.attname] = now
        elif f.has_default() and callable(f.default):
            per_row[f.attname] = f.default
        elif f.has_default():
            fixed[f.attname] = f.default
        else:
            fixed[f.attname] = None if f.null else ""
    json_fields = {f.attname for f in fields if isinstance(f, models.JSONField)}
    table = model._meta.db_table
    quote = connection.ops.quote_name
    columns = ", ".join(quote(c) for c in ["id", *(f.column for f in fields)])
    with connection.cursor() as cursor, connection.wrap_database_errors:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, len(rows)]
        )
        ids = [row[0] for row in cursor.fetchall()]
        with cursor.cursor.copy(f"COPY {quote(table)} ({columns}) FROM STDIN") as copy:
            for pk, row in zip(ids, rows, strict=True):
                values = [pk]
                for f in fields:
                    name = f.attname
                    if name in row:
                        value = row[name]
                    elif name in per_row:
                        value = per_row[name]()
                    else:
                        value = fixed[name]
                    if name in json_fields:
                        value = json.dumps(value, cls=DjangoJSONEncoder)
                    values.append(value)
                copy.write_row(values)
    return ids


def create_imported_orders(shop: Shop, drafts: list[OrderDraft], *, by: Actor) -> list[int]:
    """Write new imported orders, their lines, parcels, return, references and one ``IMPORTED`` event each;
    return the new orders' ids.

    One insert per table for the whole list. Call it inside a transaction (a savepoint): an error leaves
    nothing of the list behind. The drafts' statuses were checked against the state machine when they were
    built; no customer email is written (imported history), the shop's webhooks get the ``imported`` event.
    """
    if not drafts:
        return []
    customers = _lock_customers(shop, drafts)
    numbers = _take_order_numbers(shop, len(drafts))
    order_rows = [
        {
            "shop_id": shop.pk,
            "number": n,
            "customer_id": customers[d.email],
            "email": d.email,
            **d.fields,
        }
        for n, d in zip(numbers, drafts, strict=True)
    ]
    order_ids = insert_rows(Order, order_rows)
    _count_orders(Counter(customers[d.email] for d in drafts))
    line_ids = iter(
        insert_rows(
            OrderLine,
            [{"order_id": pk, **line} for pk, d in zip(order_ids, drafts, strict=True) for line in d.lines],
        )
    )
    lines_of = [[next(line_ids) for _line in d.lines] for d in drafts]
    _write_parcels(shop, order_ids, drafts, lines_of)
    _write_returns(order_ids, drafts, lines_of)
    insert_rows(
        ExternalOrderRef,
        [
            {"shop_id": shop.pk, "order_id": pk, "source": source, "external_id": external_id}
            for pk, d in zip(order_ids, drafts, strict=True)
            for source, external_id in d.refs
        ],
    )
    now = timezone.now()
    actor_id = by.user.pk if getattr(by.user, "pk", None) else None
    event_rows = [
        {
            "order_id": pk,
            "kind": EventKind.IMPORTED,
            "message": str(d.event_message)[:500],
            "data": d.event_data,
            "actor_id": actor_id,
            "actor_kind": by.kind,
            "created_at": now,
        }
        for pk, d in zip(order_ids, drafts, strict=True)
    ]
    event_ids = insert_rows(OrderEvent, event_rows)
    _queue_webhooks(shop, order_rows, order_ids, event_rows, event_ids)
    return order_ids


def _write_parcels(shop, order_ids, drafts, lines_of) -> None:
    pairs = [(i, p) for i, d in enumerate(drafts) for p in d.parcels]
    if not pairs:
        return
    shipment_ids = insert_rows(
        Shipment,
        [
            {
                "shop_id": shop.pk,
                "order_id": order_ids[i],
                "carrier_id": p.carrier_id,
                "tracking_number": p.tracking_number,
                "status": p.status,
                "shipped_at": p.shipped_at,
                "delivered_at": p.delivered_at,
            }
            for i, p in pairs
        ],
    )
    line_rows, scans = [], []
    for shipment_id, (i, p) in zip(shipment_ids, pairs, strict=True):
        line_rows += [
            {"shipment_id": shipment_id, "order_line_id": lines_of[i][line], "quantity": q}
            for line, q in p.lines.items()
            if q
        ]
        scans.append(
            {
                "shipment_id": shipment_id,
                "occurred_at": p.shipped_at,
                "status": ShipmentStatus.IN_TRANSIT,
                "description": _("Handed to %(carrier)s") % {"carrier": p.carrier_name},
                "source": TrackingSource.IMPORT,
            }
        )
        if p.status != ShipmentStatus.IN_TRANSIT:
            scans.append(
                {
                    "shipment_id": shipment_id,
                    "occurred_at": p.delivered_at or p.shipped_at,
                    "status": p.status,
                    "description": str(ShipmentStatus(p.status).label),
                    "source": TrackingSource.IMPORT,
                }
            )
    insert_rows(ShipmentLine, line_rows)
    insert_rows(TrackingEvent, scans)


def _write_returns(order_ids, drafts, lines_of) -> None:
    pairs = [(i, d.return_request) for i, d in enumerate(drafts) if d.return_request]
    if not pairs:
        return
    return_ids = insert_rows(
        Return,
        [
            {
                "order_id": order_ids[i],
                "status": ReturnStatus.REFUNDED,
                "reason": str(r.reason)[:500],
                "refund_amount": r.amount,
                "requested_at": r.at,
                "decided_at": r.at,
                "received_at": r.at,
                "refunded_at": r.at,
            }
            for i, r in pairs
        ],
    )
    insert_rows(
        ReturnLine,
        [
            {"return_request_id": return_id, "order_line_id": lines_of[i][line], "quantity": q}
            for return_id, (i, r) in zip(return_ids, pairs, strict=True)
            for line, q in r.lines.items()
            if q
        ],
    )


def _queue_webhooks(shop, order_rows, order_ids, event_rows, event_ids) -> None:
    """The ``imported`` events for the shop's webhook endpoints: one outbox row per event and endpoint."""
    endpoints = list(WebhookEndpoint.objects.filter(shop_id=shop.pk, is_active=True))
    if not endpoints:
        return
    notifications = []
    for order_row, order_id, event_row, event_id in zip(
        order_rows, order_ids, event_rows, event_ids, strict=True
    ):
        order = Order(pk=order_id, shop=shop, **{k: v for k, v in order_row.items() if k != "shop_id"})
        event = OrderEvent(pk=event_id, **event_row)
        notifications += webhook_rows(order, event, endpoints, due=event.created_at)
    publish_after_commit([row.pk for row in Notification.objects.bulk_create(notifications)])


def add_external_refs(shop: Shop, order_id: int, refs: list[tuple[str, str]]) -> None:
    """Remember more references of an order (a Shopify order found through its TikTok id, say)."""
    ExternalOrderRef.objects.bulk_create(
        [ExternalOrderRef(shop=shop, order_id=order_id, source=s, external_id=e) for s, e in refs],
        ignore_conflicts=True,
    )


# --- existing orders: forward through the services ------------------------------------------------------


@dataclass
class FileFacts:
    """What a newer export says about an order Shipshape already has, for moving it forward."""

    paid: bool = False
    parcels: list[tuple[str, str]] = field(default_factory=list)  # (tracking number, carrier code)
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    cancel_reason: str = ""
    returned_everything: bool = False
    return_reason: str = ""


def split_units(quantities: dict, parcels: int) -> list[dict]:
    """Share the units of ``quantities`` (key → units) over ``parcels`` parcels, in order, as evenly as the
    units allow; never an empty parcel (fewer parcels come back when there are fewer units)."""
    units = [key for key, quantity in quantities.items() for _ in range(int(quantity))]
    parcels = max(1, min(parcels, len(units)))
    size, extra = divmod(len(units), parcels)
    shares, start = [], 0
    for index in range(parcels):
        end = start + size + (1 if index < extra else 0)
        shares.append(dict(Counter(units[start:end])))
        start = end
    return shares


@transaction.atomic
def advance_imported_order(order_id: int, *, steps: list[str], facts: FileFacts, by: Actor) -> Order:
    """Move an order forward along ``steps`` (states, in order) with the services a seller would use.

    Each service checks its move in the state machine and records its event; the whole walk is one
    transaction, so a refusal at any step leaves the order as it was.
    """
    order = lock_order(order_id)
    for step in steps:
        if step == OrderStatus.PROCESSED:
            if facts.paid and order.payment_status == PaymentStatus.UNPAID:
                order = mark_paid(order, by=by)
            order = process_order(order, by=by)
        elif step == OrderStatus.SHIPPED:
            order = ship(order, parcels=_parcel_specs(order, facts), by=by, now=facts.shipped_at)
        elif step == OrderStatus.DELIVERED:
            order = deliver_order(order, by=by, delivered_at=facts.delivered_at)
        elif step == OrderStatus.CANCELLED:
            order = cancel_order(order, reason=facts.cancel_reason or _("Cancelled on the platform"), by=by)
        elif step == OrderStatus.RETURNED and order.status == OrderStatus.SHIPPED:
            order = return_to_sender(order, by=by, reason=facts.return_reason)
        elif step == OrderStatus.RETURNED:
            order = _return_everything(order, reason=facts.return_reason, by=by)
        else:
            raise InvalidInput(_("Unknown status “%(status)s”.") % {"status": step}, field="status")
    return order


def _parcel_specs(order: Order, facts: FileFacts) -> list[ParcelSpec]:
    known = set(order.shipments.values_list("tracking_number", flat=True))
    new = [(number, carrier) for number, carrier in facts.parcels if number and number not in known]
    remaining = order.unshipped_quantities()
    if not new:
        return [ParcelSpec(carrier_code="other", no_tracking=True)]
    shares = split_units(remaining, len(new))
    return [
        ParcelSpec(tracking_number=number, carrier_code=carrier, lines=share)
        for (number, carrier), share in zip(new, shares, strict=False)
    ]


def _return_everything(order: Order, *, reason: str, by: Actor) -> Order:
    """Every unit not yet back comes back through a refunded return; the last refund returns the order."""
    held = Counter()
    for line_id, quantity in ReturnLine.objects.filter(
        return_request__order=order,
        return_request__status__in=(
            ReturnStatus.REQUESTED,
            ReturnStatus.APPROVED,
            ReturnStatus.RECEIVED,
            ReturnStatus.REFUNDED,
        ),
    ).values_list("order_line_id", "quantity"):
        held[line_id] += quantity
    left = {
        line.pk: line.quantity - held[line.pk] for line in order.lines.all() if line.quantity > held[line.pk]
    }
    if left:
        return_request = request_return(
            order, lines=left, reason=reason or _("Returned on the platform"), by=by
        )
        approve_return(return_request, by=by)
        receive_return(return_request, by=by)
        refund_return(return_request, by=by)
    return lock_order(order)
