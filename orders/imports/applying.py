"""Preview an order file (nothing written but the verdicts), then apply it (each order whole or not at all).

Both read the stored file again from the start (an XLSX upload: the CSV copy of its rows that the first
preview wrote, ``_reading``), stream its orders and work in chunks of about 500 rows:

1. **Judge** each order of the chunk (``_judge_chunk``): one query finds which orders Shipshape already has,
   by ANY of their references (the file's id or an ``also_known_as`` one, so a TikTok order that also came
   through Shopify's TikTok channel is recognised); one more reads those orders. An order is then
   *new* (an ``OrderDraft`` is built: its status walked from pending through the state machine with
   ``changes.move``, which checks every step), *update* (Shipshape has it and the file moves it forward),
   *unchanged* (nothing new, or the file is older: orders never move back) or *rejected* (a parser error, an
   unknown status text, a move the state machine does not allow, another currency...).
2. **Preview** writes one ``OrderImportItem`` per order and the progress (one UPDATE per chunk).
3. **Apply** writes the chunk in one transaction: the new orders with one bulk insert per table inside a
   savepoint (when it fails, each order is tried alone in its own savepoint and the failing one is rejected
   with the reason), each update through the services in its own savepoint, then the items and the progress.
   All of it inside ``customers_silenced()``: importing history emails nobody; later changes made in
   Shipshape notify as usual.

A resumed apply (the worker died) skips the rows whose items were committed and goes on.
"""

import functools
import logging
import re
import tempfile
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.files import File
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Count, Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from shipping.carriers import candidate_carriers, normalise_tracking_number
from shipping.models import Carrier, Shipment, ShipmentStatus
from shop.models import Shop

from ..errors import IllegalTransition, ShipshapeError
from ..models import (
    ExternalOrderRef,
    ImportFormat,
    ImportSource,
    ImportState,
    ImportStatusMapping,
    ItemOutcome,
    Order,
    OrderImport,
    OrderImportItem,
)
from ..notifications import customers_silenced
from ..services import changes
from ..services.importing import (
    FileFacts,
    OrderDraft,
    ParcelDraft,
    ReturnDraft,
    add_external_refs,
    advance_imported_order,
    create_imported_orders,
    insert_rows,
    split_units,
)
from ..services.placing import ADDRESS_FIELDS
from ..states import TRANSITIONS, OrderStatus, PaymentMethod, PaymentStatus
from .records import ERROR, WARNING, ImportedOrder, UnreadableFile

if TYPE_CHECKING:
    from .parsing import ParsedFile

logger = logging.getLogger(__name__)

S = OrderStatus
CHUNK_ROWS = 500  # progress is written (one UPDATE) and a transaction committed about every 500 rows
CHUNK_ORDERS = 500
ANALYZE_EVERY_CHUNKS = 20  # about every 10,000 rows while new orders pour in (see _refresh_statistics)
UNKNOWN_STATUS = "unknown_status"
_NOT_ALNUM = re.compile(r"[^0-9A-Za-z]+")
STATUS_COLUMN = {ImportSource.TIKTOK: "Order Status", ImportSource.SHOPIFY: "Fulfillment Status"}
PAID_TEXTS = {"paid", "authorized", "partially_paid", "partially paid"}
REFUNDED_TEXTS = {"refunded": PaymentStatus.REFUNDED, "partially_refunded": PaymentStatus.PARTIALLY_REFUNDED}
PAID_OR_REFUNDED = (PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED)

Progress = Callable[[int, int], None]


class ImportRefused(ShipshapeError):
    """The import cannot do that now (not previewed, unknown statuses left, a file too large...)."""

    def __init__(self, message: str, *, code: str, http_status: int = 409, **details):
        self.code = code
        self.http_status = http_status
        super().__init__(message, details=details)


# --- the state machine's paths ---------------------------------------------------------------------------


def forward_path(current: str, target: str, *, via: str | None = None) -> list[str] | None:
    """The states an order passes through from ``current`` to ``target`` (shortest, optionally through
    ``via``), or ``None`` when the state machine has no way there. ``[]`` when already there."""
    if via and via != current and via != target:
        first = forward_path(current, via)
        rest = forward_path(via, target)
        if first is not None and rest is not None:
            return first + rest
    if current == target:
        return []
    paths, seen = [[current]], {current}
    while paths:
        next_paths = []
        for path in paths:
            for transition in TRANSITIONS:
                if transition.source == path[-1] and transition.target not in seen:
                    if transition.target == target:
                        return [*path[1:], target]
                    seen.add(transition.target)
                    next_paths.append([*path, transition.target])
        paths = next_paths
    return None


class _DraftParcels:
    """A new order's parcels as the state machine's guards ask about them (``exists``, ``exclude``)."""

    def __init__(self, statuses: list[str] | None = None):
        self.statuses = statuses or []

    def exists(self) -> bool:
        return bool(self.statuses)

    def exclude(self, *, status: str) -> "_DraftParcels":
        return _DraftParcels([s for s in self.statuses if s != status])


class _DraftOrder:
    """An order not written yet, with what the state machine's guards read: ``changes.move`` walks it from
    pending to the file's status, checking every step as it would for a real order."""

    def __init__(self, *, payment_status: str, payment_method: str, quantities: dict[int, int]):
        self.status = S.PENDING
        self.payment_status = payment_status
        self.payment_method = payment_method
        self.quantities = quantities
        self.shipped: Counter = Counter()
        self.returned: Counter = Counter()
        self.shipments = _DraftParcels()

    def unshipped_quantities(self) -> dict[int, int]:
        return {i: q - self.shipped[i] for i, q in self.quantities.items() if q > self.shipped[i]}

    def unreturned_quantities(self) -> dict[int, int]:
        return {i: q - self.returned[i] for i, q in self.quantities.items() if q > self.returned[i]}


# --- judging one order -------------------------------------------------------------------------------------


class _Refused(Exception):
    def __init__(self, message, *, column: str = "", code: str = ""):
        super().__init__(str(message))
        self.message, self.column, self.code = str(message), column, code


@dataclass
class Verdict:
    """What one order of the file becomes (the preview's answer, then what applying did)."""

    record: ImportedOrder
    outcome: str = ItemOutcome.NEW
    status: str = ""
    problems: list[dict] = field(default_factory=list)
    order_id: int | None = None
    draft: OrderDraft | None = None
    steps: list[str] = field(default_factory=list)
    facts: FileFacts | None = None
    refs_to_add: list[tuple[str, str]] = field(default_factory=list)
    applied: bool = False

    def reject(self, message, *, column: str = "", code: str = "", row: int | None = None) -> None:
        self.outcome = ItemOutcome.REJECTED
        self.draft = None
        problem = {
            "level": ERROR,
            "message": str(message),
            "row": row or self.record.first_row,
            "column": column,
        }
        if code:
            problem["code"] = code
        self.problems.append(problem)

    def warn(self, message, *, column: str = "") -> None:
        self.problems.append(
            {"level": WARNING, "message": str(message), "row": self.record.first_row, "column": column}
        )

    def as_row(self, order_import: OrderImport) -> dict:
        """The ``OrderImportItem`` fields (written in bulk by ``insert_rows``)."""
        return {
            "order_import_id": order_import.pk,
            "external_id": self.record.external_id[:64],
            "first_row": self.record.first_row,
            "last_row": self.record.last_row,
            "outcome": self.outcome,
            "status_text": self.record.status_text[:100],
            "status": self.status,
            "problems": self.problems,
            "order_id": self.order_id,
            "applied": self.applied,
        }


def _text(value, length: int) -> str:
    return str(value or "").strip()[:length]


def payment_status_of(record: ImportedOrder) -> str:
    text = record.payment_status_text.strip().casefold()
    if text in REFUNDED_TEXTS:
        return REFUNDED_TEXTS[text]
    if text in PAID_TEXTS or record.paid_at:
        return PaymentStatus.PAID
    return PaymentStatus.UNPAID


def payment_method_of(record: ImportedOrder) -> str:
    text = record.payment_method.casefold()
    if "cash on delivery" in text or "(cod)" in text or text.strip() == "cod":
        return PaymentMethod.CASH_ON_DELIVERY
    return PaymentMethod.PLATFORM


class _Run:
    """What one preview or apply of a file shares: the shop, the remembered mappings, the carriers."""

    def __init__(self, order_import: OrderImport, *, by=None):
        from .statuses import normalise_status_text

        self.order_import = order_import
        self.shop: Shop = order_import.shop
        self.actor = changes.Actor.importer(by)
        self.normalise = normalise_status_text
        self.mappings = {
            (m.source, m.status_text): m.status
            for m in ImportStatusMapping.objects.filter(shop=self.shop).only(
                "source", "status_text", "status"
            )
        }
        self.carriers = list(Carrier.objects.filter(is_active=True))
        self.carrier_by_name = {}
        for carrier in self.carriers:
            for key in (carrier.name, carrier.code):
                self.carrier_by_name.setdefault(_carrier_key(key), carrier)
        self.other_carrier = next((c for c in self.carriers if c.code == "other"), None)
        # Texts every order may need, translated once per run (a file has tens of thousands of orders).
        self.platform = {source: str(ImportSource(source).label) for source in ImportSource.values}
        self.cancelled_on = {
            s: _("Cancelled on %(platform)s") % {"platform": name} for s, name in self.platform.items()
        }
        self.returned_on = {
            s: _("Returned on %(platform)s") % {"platform": name} for s, name in self.platform.items()
        }
        self.imported_from = _("Imported from %(platform)s order %(id)s (file %(file)s)")
        self.no_email = _("No buyer email in the file: Shipshape cannot email this buyer.")

    def status_of(self, record: ImportedOrder) -> str | None:
        """The seller's remembered mapping first (they chose it), then the built-in table."""
        from .statuses import builtin_status

        remembered = self.mappings.get((record.source, self.normalise(record.status_text)))
        return remembered or builtin_status(record.source, record.status_text)

    def carrier_for(self, name: str, number: str) -> Carrier:
        """The carrier the file names (by name or code), else the only one the number fits, else "other"."""
        carrier = self.carrier_by_name.get(_carrier_key(name)) if name else None
        if carrier is None and number:
            candidates = candidate_carriers(number, self.carriers)
            carrier = candidates[0] if len(candidates) == 1 else None
        if carrier is None:
            carrier = self.other_carrier
        if carrier is None:
            raise _Refused(_("There is no carrier “other” to put this parcel with."))
        return carrier


@functools.lru_cache(maxsize=512)
def _carrier_key(name: str) -> str:
    return "".join(ch for ch in str(name).casefold() if ch.isalnum())


def _judge_chunk(run: _Run, records: list[ImportedOrder]) -> list[Verdict]:
    """The verdict on each order of a chunk: two queries for the chunk, the rest in memory."""
    wanted: dict[str, set[str]] = {}
    for record in records:
        for source, external_id in _refs_of(record):
            wanted.setdefault(source, set()).add(external_id)
    found: dict[tuple[str, str], int] = {}
    if wanted:
        query = Q()
        for source, ids in wanted.items():
            query |= Q(source=source, external_id__in=list(ids))
        for source, external_id, order_id in ExternalOrderRef.objects.filter(
            query, shop=run.shop
        ).values_list("source", "external_id", "order_id"):
            found[(source, external_id)] = order_id
    # By primary key only (the ids come from this shop's references): a shop filter here lets a planner with
    # stale statistics scan every order of the shop instead. The shop is checked on the rows.
    existing = {
        row["pk"]: row
        for row in Order.objects.filter(pk__in=set(found.values())).values(
            "pk", "shop_id", "status", "currency", "number"
        )
        if row["shop_id"] == run.shop.pk
    }
    found = {ref: order_id for ref, order_id in found.items() if order_id in existing}
    claimed: dict[tuple[str, str], ImportedOrder] = {}
    verdicts = []
    for record in records:
        verdict = Verdict(record=record, problems=[p.as_dict() for p in record.problems])
        verdicts.append(verdict)
        refs = _refs_of(record)
        twice = next((claimed[ref] for ref in refs if ref in claimed), None)
        for ref in refs:
            claimed.setdefault(ref, record)
        target = run.status_of(record)
        verdict.status = target or ""
        if record.is_rejected:
            verdict.outcome = ItemOutcome.REJECTED
            continue
        if not record.external_id or any(len(external_id) > 64 for _source, external_id in refs):
            verdict.reject(_("The order ID is missing or longer than 64 characters."))
            continue
        if twice is not None:
            verdict.reject(
                _("This order is already on rows %(first)s–%(last)s of the file.")
                % {"first": twice.first_row, "last": twice.last_row}
            )
            continue
        if target is None:
            verdict.reject(
                _("Unknown status “%(text)s”: choose what it means in Shipshape, then check the file again.")
                % {"text": record.status_text},
                column=STATUS_COLUMN.get(record.source, ""),
                code=UNKNOWN_STATUS,
            )
            continue
        order_ids = {found[ref] for ref in refs if ref in found}
        if len(order_ids) > 1:
            numbers = sorted(existing[pk]["number"] for pk in order_ids if pk in existing)
            verdict.reject(
                _("This order matches several orders in Shipshape (%(numbers)s).")
                % {"numbers": ", ".join(numbers)}
            )
        elif order_ids:
            order = existing[order_ids.pop()]
            verdict.refs_to_add = [ref for ref in refs if ref not in found]
            _judge_existing(run, verdict, order, target)
        else:
            _judge_new(run, verdict, target)
    _refuse_used_tracking_numbers(run, verdicts)
    return verdicts


def _refs_of(record: ImportedOrder) -> list[tuple[str, str]]:
    refs = [(record.source, record.external_id.strip())]
    for source, external_id in record.also_known_as:
        ref = (source, str(external_id).strip())
        if ref[1] and ref not in refs:
            refs.append(ref)
    return refs


def _returned_lines(record: ImportedOrder) -> tuple[dict[int, int], bool]:
    returned = {
        index: min(line.returned_quantity, line.quantity)
        for index, line in enumerate(record.lines)
        if line.returned_quantity > 0
    }
    everything = bool(returned) and all(
        returned.get(index, 0) >= line.quantity for index, line in enumerate(record.lines)
    )
    return returned, everything


def _judge_existing(run: _Run, verdict: Verdict, order: dict, target: str) -> None:
    record = verdict.record
    verdict.order_id = order["pk"]
    if record.currency and record.currency.upper() != order["currency"]:
        verdict.reject(
            _("The file says %(file)s but order %(number)s is in %(currency)s.")
            % {"file": record.currency.upper(), "number": order["number"], "currency": order["currency"]},
            column="Currency",
        )
        return
    _returned, everything = _returned_lines(record)
    if everything and target == S.DELIVERED:
        target = S.RETURNED
    current = order["status"]
    steps = forward_path(current, target, via=S.DELIVERED if everything else None)
    if steps:
        verdict.outcome, verdict.status, verdict.steps = ItemOutcome.UPDATE, target, steps
        parcels = []
        for parcel in record.parcels:
            number = normalise_tracking_number(parcel.tracking_number)
            if number:
                try:
                    parcels.append((number, run.carrier_for(parcel.carrier_name, number).code))
                except _Refused as refused:
                    verdict.reject(refused.message)
                    return
        verdict.facts = FileFacts(
            paid=payment_status_of(record) in PAID_OR_REFUNDED,
            parcels=parcels,
            shipped_at=record.shipped_at or (record.parcels[0].shipped_at if record.parcels else None),
            delivered_at=record.delivered_at,
            cancel_reason=_text(record.cancel_reason, 300) or run.cancelled_on.get(record.source, ""),
            returned_everything=everything,
            return_reason=run.returned_on.get(record.source, ""),
        )
        return
    verdict.outcome, verdict.status = ItemOutcome.UNCHANGED, current
    if steps is None:
        if forward_path(target, current) is not None:
            verdict.warn(
                _(
                    "The file gives the status “%(file)s” but order %(number)s has the status "
                    "“%(current)s” already; orders never move back."
                )
                % {
                    "file": OrderStatus(target).label,
                    "number": order["number"],
                    "current": OrderStatus(current).label,
                },
                column=STATUS_COLUMN.get(record.source, ""),
            )
        else:
            verdict.status = target
            verdict.reject(
                IllegalTransition(current=current, target=target, allowed=[]).message,
                column=STATUS_COLUMN.get(record.source, ""),
            )


def _judge_new(run: _Run, verdict: Verdict, target: str) -> None:
    try:
        verdict.draft = _draft_order(run, verdict, target)
    except _Refused as refused:
        verdict.reject(refused.message, column=refused.column)
        return
    except ShipshapeError as refused:  # the state machine refused a step of the walk
        verdict.reject(refused.message, column=STATUS_COLUMN.get(verdict.record.source, ""))
        return
    verdict.outcome = ItemOutcome.NEW
    verdict.status = verdict.draft.fields["status"]


def _draft_order(run: _Run, verdict: Verdict, target: str) -> OrderDraft:
    """A new order as the file describes it, walked from pending to its status through the state machine."""
    record = verdict.record
    if not record.lines:
        raise _Refused(_("The order has no items."))
    lines = [
        {
            "sku": _text(line.sku, 64),
            "name": _text(line.name or line.sku, 200),
            "variant": _text(line.variant, 120),
            "quantity": int(line.quantity),
            "unit_price": Decimal(line.unit_price),
        }
        for line in record.lines
    ]
    if any(line["quantity"] < 1 or line["unit_price"] < 0 for line in lines):
        raise _Refused(_("Quantities must be at least 1 and prices cannot be negative."))
    subtotal = sum((line["unit_price"] * line["quantity"] for line in lines), Decimal("0.00"))
    discount, shipping, tax = record.discount, record.shipping_price, record.tax
    total = record.total if record.total is not None else subtotal - discount + shipping + tax
    if min(discount, shipping, tax, total, record.refunded_total) < 0:
        raise _Refused(_("Amounts cannot be negative."))
    payment_status = payment_status_of(record)
    payment_method = payment_method_of(record)
    state = _DraftOrder(
        payment_status=PaymentStatus.PAID if payment_status in PAID_OR_REFUNDED else PaymentStatus.UNPAID,
        payment_method=payment_method,
        quantities={index: line["quantity"] for index, line in enumerate(lines)},
    )
    returned, everything = _returned_lines(record)
    if target == S.RETURNED and returned and not everything:
        target = S.DELIVERED
        verdict.warn(_("Only some items came back: the order stays delivered, with a return for them."))
    elif target == S.DELIVERED and everything:
        target = S.RETURNED
    via_delivery = target == S.RETURNED and bool(returned)
    if returned and target not in (S.DELIVERED, S.RETURNED):
        verdict.warn(_("Returned quantities are ignored: the order is not delivered."))
    path = forward_path(S.PENDING, target, via=S.DELIVERED if via_delivery else None)
    if path is None:  # every state can be reached from pending; kept for a future table
        raise _Refused(
            _("No sequence of moves leads a new order to the status “%(status)s”.")
            % {"status": OrderStatus(target).label}
        )

    now = timezone.now()
    placed_at = record.placed_at
    if placed_at is None:
        placed_at = now
        verdict.warn(_("The order has no date; it is dated now."))
    stamp_of = {
        S.PROCESSED: record.paid_at or placed_at,
        S.SHIPPED: record.shipped_at or next((p.shipped_at for p in record.parcels if p.shipped_at), None),
        S.DELIVERED: record.delivered_at,
        S.CANCELLED: record.cancelled_at,
        S.RETURNED: record.delivered_at,
    }
    parcels: list[ParcelDraft] = []
    return_draft = None
    stamp = placed_at
    for step in path:
        stamp = max(stamp_of.get(step) or stamp, stamp)
        if step == S.SHIPPED:
            parcels = _draft_parcels(run, verdict, state, stamp)
        elif step == S.DELIVERED:
            for parcel in parcels:
                parcel.status, parcel.delivered_at = ShipmentStatus.DELIVERED, stamp
            state.shipments = _DraftParcels([p.status for p in parcels])
        elif step == S.RETURNED and via_delivery:
            state.returned.update(returned)
        elif step == S.RETURNED:
            for parcel in parcels:
                parcel.status = ShipmentStatus.RETURNED_TO_SENDER
        changes.move(state, step, now=stamp)
    if returned and S.DELIVERED in path:
        return_draft = ReturnDraft(
            lines=returned,
            amount=Decimal("0.00"),
            at=stamp,
            reason=run.returned_on.get(record.source, ""),
        )

    refunded = record.refunded_total
    if return_draft is not None:
        suggested = sum((lines[i]["unit_price"] * q for i, q in returned.items()), Decimal("0.00"))
        if subtotal and discount:
            suggested -= (suggested * discount / subtotal).quantize(Decimal("0.01"))
        return_draft.amount = min(refunded or max(suggested, Decimal("0.00")), total)
        refunded = max(refunded, return_draft.amount)
    if refunded > total:
        verdict.warn(_("The refunded amount is more than the total; it is kept at the total."))
        refunded = total
    if state.payment_status == PaymentStatus.PAID and refunded > 0:
        payment_status = PaymentStatus.REFUNDED if refunded >= total else PaymentStatus.PARTIALLY_REFUNDED

    address = {key: _text(record.address.get(key), 200) for key in ADDRESS_FIELDS}
    address["country"] = address["country"].upper()
    if address["country"] and (len(address["country"]) != 2 or not address["country"].isalpha()):
        verdict.warn(
            _("“%(country)s” is not a two-letter country code; the country is left empty.")
            % {"country": address["country"]}
        )
        address["country"] = ""
    limits = {"name": 150, "city": 100, "region": 100, "postal_code": 20, "phone": 40}
    ship = {f"ship_{key}": value[: limits.get(key, 200)] for key, value in address.items()}

    email = record.email.strip().lower()
    if "@" not in email or len(email) > 254:
        # No address to write to: this buyer gets no emails (.invalid is reserved, never delivered).
        email = f"{record.source}-{_NOT_ALNUM.sub('', record.external_id)[:60]}@imported.invalid"
        # A missing email is flagged by the parser where the platform exports them (Shopify; TikTok Shop
        # never does, and the import's page says so once); an unusable one is flagged here.
        if record.email.strip():
            verdict.warn(run.no_email, column="Email")
    currency = (record.currency or run.shop.currency).upper()[:3]
    fields = {
        "status": state.status,
        "payment_status": payment_status,
        "payment_method": payment_method,
        "currency": currency,
        "subtotal": subtotal,
        "discount": discount,
        "shipping_price": shipping,
        "tax": tax,
        "total": total,
        "refunded_total": refunded,
        "note": str(record.note or "").strip(),
        "language": settings.LANGUAGE_CODE,
        "placed_at": placed_at,
        "cancel_reason": _text(record.cancel_reason, 300)
        or (run.cancelled_on.get(record.source, "") if target == S.CANCELLED else ""),
        **ship,
    }
    for name in ("processed_at", "shipped_at", "delivered_at", "cancelled_at", "returned_at"):
        fields[name] = getattr(state, name, None)
    platform = run.platform.get(record.source, record.source)
    return OrderDraft(
        email=email,
        customer_name=_text(record.buyer_name or address["name"], 150),
        customer_phone=address["phone"][:40],
        fields=fields,
        lines=lines,
        refs=_refs_of(record),
        parcels=parcels,
        return_request=return_draft,
        event_message=run.imported_from
        % {"platform": platform, "id": record.external_id, "file": run.order_import.original_name},
        event_data={
            "source": record.source,
            "external_id": record.external_id,
            "also_known_as": [list(ref) for ref in record.also_known_as],
            "file": run.order_import.original_name,
            "import_id": run.order_import.pk,
            "rows": [record.first_row, record.last_row],
            "status_text": record.status_text,
            "payment_method": record.payment_method,
            "coupon_code": record.coupon_code,
            "seller_note": record.seller_note,
        },
    )


def _draft_parcels(run: _Run, verdict: Verdict, state: _DraftOrder, shipped_at) -> list[ParcelDraft]:
    """The file's parcels with every unit shared among them; one parcel without tracking when it has none."""
    numbered = []
    for parcel in verdict.record.parcels:
        number = normalise_tracking_number(parcel.tracking_number)
        if number and number not in {n for n, _p in numbered}:
            if len(number) > 64:
                raise _Refused(_("Tracking number %(number)s is too long.") % {"number": number})
            numbered.append((number, parcel))
    if not numbered:
        shares = split_units(state.unshipped_quantities(), 1)
        carrier = run.carrier_for("", "")
        drafts = [ParcelDraft(carrier.pk, carrier.name, "", shipped_at, shares[0])]
    else:
        shares = split_units(state.unshipped_quantities(), len(numbered))
        if len(shares) < len(numbered):
            verdict.warn(
                ngettext(
                    "More tracking numbers than items: only %(units)s parcel is recorded.",
                    "More tracking numbers than items: only %(units)s parcels are recorded.",
                    len(shares),
                )
                % {"units": len(shares)}
            )
        drafts = []
        for (number, parcel), share in zip(numbered, shares, strict=False):
            carrier = run.carrier_for(parcel.carrier_name, number)
            drafts.append(
                ParcelDraft(
                    carrier.pk, carrier.name, number, max(parcel.shipped_at or shipped_at, shipped_at), share
                )
            )
    for draft in drafts:
        state.shipped.update(draft.lines)
    state.shipments = _DraftParcels([d.status for d in drafts])
    return drafts


def _refuse_used_tracking_numbers(run: _Run, verdicts: list[Verdict]) -> None:
    """A tracking number is unique per shop and carrier: one already used (or used twice in the chunk)
    rejects the new order that brings it, with the number, before anything is written."""
    wanted = [
        (v, (p.carrier_id, p.tracking_number))
        for v in verdicts
        if v.draft
        for p in v.draft.parcels
        if p.tracking_number
    ]
    if not wanted:
        return
    used = set(
        Shipment.objects.filter(
            shop=run.shop, tracking_number__in={key[1] for _v, key in wanted}
        ).values_list("carrier_id", "tracking_number")
    )
    for verdict, key in wanted:
        if verdict.draft is None:
            continue
        if key in used:
            verdict.reject(
                _("Tracking number %(number)s is already used for another parcel.") % {"number": key[1]},
                column="Tracking ID" if verdict.record.source == ImportSource.TIKTOK else "",
            )
        used.add(key)


# --- chunks, progress, state -------------------------------------------------------------------------------


def _refresh_statistics() -> None:
    """Let PostgreSQL's planner see the references and parcels an import has just written.

    Without it the planner keeps believing a shop has a handful of references while tens of thousands were
    just copied in, and looks a chunk's ids up by scanning every reference of the shop (60 ms a chunk instead
    of 2, growing with the file). Autovacuum would analyze the table later; an import cannot wait for it.
    """
    if connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "ANALYZE orders_externalorderref (shop_id, source, external_id),"
                " shop_customer (shop_id, email), shipping_shipment (shop_id, tracking_number)"
            )
    except DatabaseError:  # not the tables' owner: the lookups are slower, not wrong
        logger.info("Could not analyze the import's tables", exc_info=True)


def _chunks(records: Iterable[ImportedOrder]) -> Iterator[list[ImportedOrder]]:
    chunk, rows = [], 0
    for record in records:
        chunk.append(record)
        rows += record.last_row - record.first_row + 1
        if rows >= CHUNK_ROWS or len(chunk) >= CHUNK_ORDERS:
            yield chunk
            chunk, rows = [], 0
    if chunk:
        yield chunk


@contextmanager
def _reading(order_import: OrderImport, *, keep_copy: bool) -> Iterator["ParsedFile"]:
    """The import's orders, streamed. An XLSX upload is read once, by its first preview (``keep_copy``), which
    keeps a CSV copy of its rows (``rows_copy``) when it has read them all; every later pass reads the copy (a
    third of the time: docs/performance.md)."""
    from . import parsing

    zone = order_import.shop.zone
    copy_name = order_import.rows_copy.name
    if copy_name and order_import.rows_copy.storage.exists(copy_name):  # else the upload is read again
        with order_import.rows_copy.open("rb") as copy:
            yield parsing.parse_rows_copy(copy, format=order_import.format, zone=zone)
        return
    with order_import.file.open("rb") as upload, tempfile.TemporaryFile() as copy:
        parsed = parsing.parse(
            upload,
            filename=order_import.original_name,
            format=order_import.format or parsing.AUTO,
            zone=zone,
            rows_copy=copy if keep_copy else None,
        )
        yield parsed
        if parsed.rows_copied:
            copy.seek(0)
            order_import.rows_copy.save(f"{Path(order_import.file.name).stem}.csv", File(copy), save=False)
            OrderImport.objects.filter(pk=order_import.pk).update(rows_copy=order_import.rows_copy.name)


# Advisory lock keys of imports: this prefix in the top bits, the import's id below (ids < 2**48).
IMPORT_LOCK_PREFIX = ord("I") << 48


@contextmanager
def _alone(order_import: OrderImport) -> Iterator[bool]:
    """Whether this process is the only one previewing or applying the import: a PostgreSQL advisory lock on
    its id, held for the whole step, across the chunks' commits. The broker delivers an unacknowledged task
    again after its visibility timeout (an hour), so a long apply can meet its own second delivery; that one
    finds the lock taken and leaves the import to the first. SQLite (development, tasks run in-process):
    always alone."""
    if connection.vendor != "postgresql":
        yield True
        return
    key = IMPORT_LOCK_PREFIX | order_import.pk
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        (taken,) = cursor.fetchone()
    try:
        yield taken
    finally:
        if taken:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
            except DatabaseError:  # the connection is gone, and the lock with it
                logger.warning("Could not release the lock of import %s", order_import.pk, exc_info=True)


def _forget_rows_copy(order_import: OrderImport) -> None:
    if order_import.rows_copy:
        order_import.rows_copy.delete(save=False)
        OrderImport.objects.filter(pk=order_import.pk).update(rows_copy="")


class _Tally:
    def __init__(self, base: dict | None = None):
        self.counts = Counter(base or {})

    def add(self, verdicts: list[Verdict]) -> None:
        self.counts.update(v.outcome for v in verdicts)

    def fields(self) -> dict:
        return {
            "orders_new": self.counts[ItemOutcome.NEW],
            "orders_updated": self.counts[ItemOutcome.UPDATE],
            "orders_unchanged": self.counts[ItemOutcome.UNCHANGED],
            "orders_rejected": self.counts[ItemOutcome.REJECTED],
        }


def _save_progress(order_import: OrderImport, rows_done: int, tally: _Tally) -> None:
    rows_done = min(rows_done, order_import.rows_total) if order_import.rows_total else rows_done
    fields = {"rows_done": rows_done, **tally.fields()}
    OrderImport.objects.filter(pk=order_import.pk).update(**fields)
    for name, value in fields.items():
        setattr(order_import, name, value)


def _finish(order_import: OrderImport, state: str, **fields) -> OrderImport:
    fields.update(state=state, finished_at=timezone.now())
    OrderImport.objects.filter(pk=order_import.pk).update(**fields)
    for name, value in fields.items():
        setattr(order_import, name, value)
    return order_import


def _fail(order_import: OrderImport, message) -> OrderImport:
    return _finish(order_import, ImportState.FAILED, error=str(message))


def _start(order_import: OrderImport, state: str, parsed) -> None:
    fields = {"format": parsed.format, "rows_total": parsed.rows_total or 0}
    OrderImport.objects.filter(pk=order_import.pk).update(**fields)
    for name, value in fields.items():
        setattr(order_import, name, value)


# --- the three doors' entry points ------------------------------------------------------------------------


def receive_file(shop: Shop, fileobj, *, name: str, size: int, format: str = "auto", by=None) -> OrderImport:
    """Keep an uploaded export for checking: refused when too large, not an export, or not ``format``.

    Only the header is read here (the whole file is read by the preview, in the background).
    """
    from . import parsing
    from .reading import open_table

    limit = settings.SHIPSHAPE["IMPORT_MAX_UPLOAD_BYTES"]
    if size > limit:
        raise ImportRefused(
            _("The file is %(size)s MB; files up to %(limit)s MB can be imported.")
            % {"size": round(size / 1_000_000, 1), "limit": round(limit / 1_000_000, 1)},
            code="file_too_large",
            http_status=413,
            max_bytes=limit,
        )
    if format not in (parsing.AUTO, *ImportFormat.values):
        raise ImportRefused(
            _("Unknown format %(format)s; use auto, shopify or tiktok.") % {"format": format},
            code="invalid_format",
            http_status=400,
        )
    try:
        fileobj.seek(0)
        detected = parsing.detect_format(open_table(fileobj, filename=name).header)
    except UnreadableFile as exc:
        raise ImportRefused(exc.message, code="unreadable_file", http_status=400) from exc
    except Exception as exc:  # anything else the readers trip over is still the file's fault
        logger.info("Upload %s could not be read", name, exc_info=True)
        raise ImportRefused(
            _("This file could not be read as CSV or XLSX."), code="unreadable_file", http_status=400
        ) from exc
    if detected is None:
        raise ImportRefused(
            _(
                "This file is not a Shopify or TikTok Shop orders export: its first row has none of their "
                "column names."
            ),
            code="unreadable_file",
            http_status=400,
        )
    if format != parsing.AUTO and detected != format:
        raise ImportRefused(
            _("This file's format is “%(detected)s”, not “%(chosen)s”.")
            % {"detected": ImportFormat(detected).label, "chosen": ImportFormat(format).label},
            code="wrong_format",
            http_status=400,
        )
    fileobj.seek(0)
    order_import = OrderImport(
        shop=shop,
        created_by=by if getattr(by, "pk", None) else None,
        original_name=str(name)[:255],
        size=size,
        format=detected,
    )
    suffix = ".xlsx" if str(name).lower().endswith(".xlsx") else ".csv"
    order_import.file.save(f"{shop.slug}-{uuid.uuid4().hex}{suffix}", File(fileobj), save=False)
    order_import.save()
    return order_import


def preview(order_import: OrderImport, *, progress: Progress | None = None) -> OrderImport:
    """Read the file and say what each order would become; writes nothing but the items and the counts.

    A file that cannot be read at all ends ``failed`` with the message in ``error``. While another process
    previews or applies the import, returns it as it is.
    """
    with _alone(order_import) as alone:
        if not alone:
            order_import.refresh_from_db()
            return order_import
        return _preview(order_import, progress=progress)


def _preview(order_import: OrderImport, *, progress: Progress | None) -> OrderImport:
    order_import.items.all().delete()
    fields = {
        "state": ImportState.PREVIEWING,
        "started_at": timezone.now(),
        "finished_at": None,
        "rows_done": 0,
        "error": "",
        **_Tally().fields(),
    }
    OrderImport.objects.filter(pk=order_import.pk).update(**fields)
    for name, value in fields.items():
        setattr(order_import, name, value)
    run = _Run(order_import)
    tally = _Tally()
    try:
        with _reading(order_import, keep_copy=True) as parsed:
            _start(order_import, ImportState.PREVIEWING, parsed)
            _refresh_statistics()
            for chunk in _chunks(parsed.orders):
                verdicts = _judge_chunk(run, chunk)
                insert_rows(OrderImportItem, [v.as_row(order_import) for v in verdicts])
                tally.add(verdicts)
                _save_progress(order_import, chunk[-1].last_row - 1, tally)
                if progress:
                    progress(order_import.rows_done, order_import.rows_total)
    except UnreadableFile as exc:
        return _fail(order_import, exc.message)
    except Exception:
        logger.exception("Preview of import %s failed", order_import.pk)
        return _fail(order_import, _("The file could not be checked because of an error on our side."))
    return _finish(order_import, ImportState.PREVIEWED, rows_done=order_import.rows_total, **tally.fields())


def unknown_status_texts(order_import: OrderImport) -> list[str]:
    """The status texts of the file that neither the built-in tables nor the shop's mappings know."""
    texts = {}
    rows = (
        order_import.items.filter(outcome=ItemOutcome.REJECTED, status="")
        .exclude(status_text="")
        .values_list("status_text", "problems")
    )
    for text, problems in rows.iterator():
        if any(p.get("code") == UNKNOWN_STATUS for p in problems or []):
            texts.setdefault(text.strip().casefold(), text.strip())
    return sorted(texts.values(), key=str.casefold)


def remember_status_mapping(shop: Shop, source: str, text: str, status: str, by=None) -> ImportStatusMapping:
    """Remember what a status text of this shop's files means (asked once, used for every later file)."""
    from .statuses import normalise_status_text

    key = normalise_status_text(text)
    if not key or source not in ImportSource.values or status not in OrderStatus.values:
        raise ImportRefused(
            _("Choose a status text, a platform and the Shipshape status it stands for."),
            code="invalid_mapping",
            http_status=400,
        )
    mapping, _created = ImportStatusMapping.objects.update_or_create(
        shop=shop,
        source=source,
        status_text=key[: ImportStatusMapping._meta.get_field("status_text").max_length],
        defaults={"status": status, "created_by": by if getattr(by, "pk", None) else None},
    )
    return mapping


def apply(order_import: OrderImport, *, by=None, progress: Progress | None = None) -> OrderImport:
    """Write the file's orders: new ones created, known ones moved forward, each whole or not at all.

    Runs once: an import that is done is returned as it is. A previewed import starts; one left applying
    (its worker died) goes on after the last committed chunk; one that another process is applying at this
    moment is returned as it is.
    """
    with _alone(order_import) as alone:
        if not alone:
            order_import.refresh_from_db()
            return order_import
        return _apply(order_import, by=by, progress=progress)


def _apply(order_import: OrderImport, *, by, progress: Progress | None) -> OrderImport:
    with transaction.atomic():
        locked = OrderImport.objects.select_for_update().select_related("shop").get(pk=order_import.pk)
        if locked.state == ImportState.DONE:
            return locked
        if locked.state == ImportState.PREVIEWED:
            locked.items.all().delete()
            locked.state, locked.started_at, locked.finished_at = ImportState.APPLYING, timezone.now(), None
            locked.rows_done = 0
            locked.save(update_fields=["state", "started_at", "finished_at", "rows_done"])
        elif locked.state != ImportState.APPLYING:
            raise ImportRefused(
                _("Check the file first: only a checked import can be applied."),
                code="import_not_previewed",
                state=locked.state,
            )
    order_import = locked
    done = order_import.items.aggregate(last=Max("last_row"))["last"] or 0
    tally = _Tally(dict(order_import.items.order_by().values_list("outcome").annotate(n=Count("id"))))
    run = _Run(order_import, by=by)
    try:
        with customers_silenced(), _reading(order_import, keep_copy=False) as parsed:
            _start(order_import, ImportState.APPLYING, parsed)
            for number, chunk in enumerate(_chunks(r for r in parsed.orders if r.last_row > done)):
                if number % ANALYZE_EVERY_CHUNKS == 0:
                    _refresh_statistics()
                with transaction.atomic():
                    verdicts = _judge_chunk(run, chunk)
                    _apply_chunk(run, verdicts)
                    insert_rows(OrderImportItem, [v.as_row(order_import) for v in verdicts])
                    tally.add(verdicts)
                    _save_progress(order_import, chunk[-1].last_row - 1, tally)
                if progress:  # after the commit: what it reports is written
                    progress(order_import.rows_done, order_import.rows_total)
    except UnreadableFile as exc:
        return _fail(order_import, exc.message)
    except Exception:
        logger.exception("Applying import %s failed", order_import.pk)
        return _fail(order_import, _("The import stopped because of an error on our side."))
    _forget_rows_copy(order_import)
    counts = dict(order_import.items.order_by().values_list("outcome").annotate(n=Count("id")))
    return _finish(
        order_import, ImportState.DONE, rows_done=order_import.rows_total, **_Tally(counts).fields()
    )


def _apply_chunk(run: _Run, verdicts: list[Verdict]) -> None:
    _create_new(run, [v for v in verdicts if v.outcome == ItemOutcome.NEW])
    for verdict in verdicts:
        if verdict.outcome != ItemOutcome.UPDATE:
            continue
        try:
            advance_imported_order(verdict.order_id, steps=verdict.steps, facts=verdict.facts, by=run.actor)
        except Exception as exc:
            verdict.reject(_reason(exc))
            continue
        verdict.applied = True
    for verdict in verdicts:
        if verdict.refs_to_add and verdict.outcome in (ItemOutcome.UPDATE, ItemOutcome.UNCHANGED):
            add_external_refs(run.shop, verdict.order_id, verdict.refs_to_add)


def _create_new(run: _Run, verdicts: list[Verdict]) -> None:
    """All the chunk's new orders in one batch; if the batch fails, each alone, rejecting the failing ones."""
    if not verdicts:
        return
    try:
        with transaction.atomic():
            order_ids = create_imported_orders(run.shop, [v.draft for v in verdicts], by=run.actor)
    except Exception:
        logger.info("A batch of import %s failed; writing its orders one by one", run.order_import.pk)
    else:
        for verdict, order_id in zip(verdicts, order_ids, strict=True):
            verdict.order_id, verdict.applied = order_id, True
        return
    for verdict in verdicts:
        try:
            with transaction.atomic():
                (order_id,) = create_imported_orders(run.shop, [verdict.draft], by=run.actor)
        except Exception as exc:
            verdict.reject(_reason(exc))
            continue
        verdict.order_id, verdict.applied = order_id, True


def _reason(exc: Exception) -> str:
    """Why an order could not be written, for the seller."""
    if isinstance(exc, ShipshapeError):
        return str(exc.message)
    if isinstance(exc, IntegrityError) and "externalorderref" in str(exc):
        return _("This order was imported at the same time by another import.")
    if isinstance(exc, IntegrityError) and "shipment_unique_tracking" in str(exc):
        return _("A tracking number of this order is already used for another parcel.")
    logger.warning("An imported order could not be written", exc_info=exc)
    first_line = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
    return _("This order could not be written: %(error)s") % {"error": first_line[:200]}
