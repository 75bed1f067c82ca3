"""TikTok Shop Seller Center's orders export (CSV or XLSX) → ``ImportedOrder`` records, streamed.

One row per SKU line; the rows of an order are adjacent and share ``Order ID`` (18 digits, sometimes with a
trailing tab, which is stripped). The order-level columns (status, money, times, address...) repeat on every
row of the order: they are read once, from its first row, and never summed. Row 2 may be a row of field
descriptions (``Platform unique order ID.``): it is skipped and not counted.

Names drift by region; each key below lists the names seen (``State``/``Province``, ``City``/``Post Town``,
``Zipcode``/``Postcode``, ``Detail Address``/``Address Line 1``...).

Dates have no zone (they are read in the shop's zone) and come month-first (US: ``08/03/2026 9:14:22 AM``) or
day-first (``25/06/2026 13:03:57``). The order is decided once per FILE, by ``survey``: a date with AM/PM
means month-first; otherwise a first part over 12 means day-first and a second part over 12 month-first;
a file where every date could be either is read day-first (a 24-hour clock is not the US format).

Each distinct ``Tracking ID`` of an order becomes a parcel (carrier = ``Shipping Provider Name``).
``Sku Quantity of return`` becomes the line's ``returned_quantity``. Subtotal = Σ ``SKU Subtotal After
Discount``; discount = Σ unit price × quantity − subtotal; the check (a warning) is Order Amount = subtotal +
shipping + taxes (+ the small-order and buyer service fees when the file has them). The export has no
currency column and no buyer email (TikTok hides it), so neither is warned about.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import tzinfo
from decimal import Decimal

from django.utils.translation import gettext as _

from ..models.imports import ImportSource
from .cells import DAY_FIRST, RowCells, date_order_evidence, parse_local_time
from .reading import Columns, Table
from .records import ImportedLine, ImportedOrder, ImportedParcel
from .statuses import tiktok_status_text

SOURCE = ImportSource.TIKTOK.value
PLATFORM = "TikTok Shop"

COLUMNS: dict[str, tuple[str, ...]] = {
    "order_id": ("Order ID", "Order Id", "OrderID"),
    "status": ("Order Status",),
    "substatus": ("Order Substatus", "Order Sub Status"),
    "sku_id": ("SKU ID",),
    "seller_sku": ("Seller SKU",),
    "product": ("Product Name",),
    "variation": ("Variation", "SKU Variation"),
    "quantity": ("Quantity",),
    "returned": ("Sku Quantity of return", "SKU Quantity of Return", "Returned quantity"),
    "unit_price": ("SKU Unit Original Price",),
    "line_after": ("SKU Subtotal After Discount",),
    "shipping": ("Shipping Fee After Discount",),
    "taxes": ("Taxes",),
    "small_order_fee": ("Small Order Fee",),
    "buyer_service_fee": ("Buyer Service Fee",),
    "total": ("Order Amount",),
    "refunded": ("Order Refund Amount",),
    "created": ("Created Time",),
    "paid": ("Paid Time",),
    "shipped": ("Shipped Time",),
    "delivered": ("Delivered Time",),
    "cancelled": ("Cancelled Time",),
    "cancel_reason": ("Cancel Reason",),
    "tracking": ("Tracking ID", "Tracking Number"),
    "carrier": ("Shipping Provider Name", "Shipping Provider"),
    "package": ("Package ID",),
    "buyer_message": ("Buyer Message",),
    "buyer_username": ("Buyer Username",),
    "email": ("Buyer Email", "Email"),
    "recipient": ("Recipient", "Recipient Name"),
    "phone": ("Phone #", "Phone", "Phone Number"),
    "country": ("Country", "Country/Region"),
    "region": ("State", "Province", "Region"),
    "county": ("County",),
    "city": ("City", "Post Town", "Regency and City", "Town/City"),
    "district": ("Districts", "District"),
    "village": ("Villages", "Village"),
    "postal_code": ("Zipcode", "Postcode", "Zip Code", "Postal Code", "Post Code", "Zip"),
    "line1": ("Detail Address", "Address Line 1", "Street Address", "Address"),
    "line2": ("Additional address information", "Address Line 2"),
    "payment_method": ("Payment Method",),
    "seller_note": ("Seller Note",),
}
REQUIRED = ("order_id", "status", "quantity", "product")
SIGNATURE = ("Order ID", "Order Status")

DESCRIPTION_ORDER_IDS = ("platform unique order id.", "platform unique order id")
_DATE_KEYS = ("created", "paid", "shipped", "delivered", "cancelled")
_HAS_WORDS = re.compile(r"[^\W\d_]{3,}\s+[^\W\d_]", re.UNICODE)
TOLERANCE = Decimal("0.01")


def columns(header: list[str]) -> Columns:
    cols = Columns(header, COLUMNS, required=REQUIRED, platform=PLATFORM)
    # One column of each pair is enough; when both are missing, the error names the usual one.
    for keys, usual in (
        (("seller_sku", "sku_id"), "Seller SKU"),
        (("unit_price", "line_after"), "SKU Unit Original Price"),
    ):
        if not any(cols.has(key) for key in keys):
            Columns(header, {"missing": (usual,)}, required=("missing",), platform=PLATFORM)
    return cols


def is_description_row(cols: Columns, number: int, row: list[str]) -> bool:
    """Row 2 of some exports explains each column (``Platform unique order ID.``) instead of holding data."""
    if number != 2:
        return False
    order_id = cols.get(row, "order_id").casefold()
    return order_id in DESCRIPTION_ORDER_IDS or bool(_HAS_WORDS.search(order_id))


@dataclass
class Survey:
    rows_total: int
    date_order: str


def survey(table: Table, cols: Columns) -> Survey:
    """The cheap first pass: count the data rows and decide the file's date order. An XLSX sheet that
    states its size is read only until a date decides the order (the first one, in a US file)."""
    last_row = table.last_row_number()
    rows_total = description_rows = 0
    date_order = None
    date_positions = [cols.index[key] for key in _DATE_KEYS if cols.index[key] is not None]
    for number, row in table.rows():
        if is_description_row(cols, number, row):
            description_rows += 1
            continue
        rows_total += 1
        if date_order is None:
            for position in date_positions:
                if position < len(row) and row[position]:
                    date_order = date_order_evidence(row[position])
                    if date_order:
                        break
        elif last_row is not None:
            rows_total = last_row - 1 - description_rows
            break
    return Survey(rows_total=rows_total, date_order=date_order or DAY_FIRST)


def read_orders(table: Table, cols: Columns, *, zone: tzinfo, date_order: str) -> Iterator[ImportedOrder]:
    order: ImportedOrder | None = None
    state: _OrderState | None = None
    for number, row in table.rows():
        if is_description_row(cols, number, row):
            continue
        order_id = clean_order_id(cols.get(row, "order_id"))
        if order is not None and order_id != order.external_id:
            yield _finish(order, state)
            order = None
        if not order_id:
            orphan = ImportedOrder(source=SOURCE, external_id="", first_row=number, last_row=number)
            orphan.error(_("This row has no order ID."), row=number, column=cols.name("order_id"))
            yield orphan
            continue
        if order is None:
            order = ImportedOrder(source=SOURCE, external_id=order_id, first_row=number, last_row=number)
            state = _OrderState()
            _read_order_fields(RowCells(cols, row, number, order), state, zone=zone, date_order=date_order)
        cells = RowCells(cols, row, number, order)
        order.last_row = number
        _read_line(cells, state)
        _read_parcel(cells, state)
    if order is not None:
        yield _finish(order, state)


def clean_order_id(text: str) -> str:
    """Order IDs may end in a tab (it keeps spreadsheets from rounding 18 digits) or be quoted as text."""
    return text.strip().strip("'\"=").strip()


class _OrderState:
    """What the rows of one order add up to while they are read."""

    __slots__ = ("fees", "lines_after", "lines_full", "tracking_numbers")

    def __init__(self):
        self.fees = Decimal("0.00")  # small-order and buyer service fees, for the total check
        self.lines_after = Decimal("0.00")
        self.lines_full = Decimal("0.00")
        self.tracking_numbers: set[str] = set()


def _read_order_fields(cells: RowCells, state: _OrderState, *, zone: tzinfo, date_order: str) -> None:
    order, text = cells.order, cells.text
    order.status_text = tiktok_status_text(text("status"), text("substatus"))
    order.shipping_price = cells.money("shipping") or Decimal("0.00")
    order.tax = cells.money("taxes") or Decimal("0.00")
    order.total = cells.money("total")
    order.refunded_total = cells.money("refunded") or Decimal("0.00")
    fees = [cells.money(key) for key in ("small_order_fee", "buyer_service_fee")]
    state.fees = sum((fee for fee in fees if fee), Decimal("0.00"))
    order.payment_method = text("payment_method")
    times = {key: cells.moment(key, parse_local_time, zone=zone, date_order=date_order) for key in _DATE_KEYS}
    order.placed_at, order.paid_at = times["created"], times["paid"]
    order.shipped_at, order.delivered_at, order.cancelled_at = (
        times["shipped"],
        times["delivered"],
        times["cancelled"],
    )
    order.payment_status_text = "paid" if order.paid_at else ""
    order.cancel_reason = text("cancel_reason")
    order.email = text("email")
    order.buyer_name = text("recipient") or text("buyer_username")
    order.note = text("buyer_message")
    order.seller_note = text("seller_note")
    order.address = _address(cells)


def _address(cells: RowCells) -> dict:
    text = cells.text
    country = cells.country("country")
    line2 = ", ".join(part for part in (text("line2"), text("village"), text("district")) if part)
    address = {
        "name": text("recipient"),
        "line1": text("line1"),
        "line2": line2,
        "city": text("city"),
        "region": text("region") or text("county"),
        "postal_code": text("postal_code").lstrip("'").strip(),
        "country": country,
        "phone": text("phone"),
    }
    return {key: value for key, value in address.items() if value}


def _read_line(cells: RowCells, state: _OrderState) -> None:
    order, columns = cells.order, cells.columns
    quantity = cells.count("quantity")
    returned = cells.count("returned") or 0
    unit_price = cells.money("unit_price")
    after = cells.money("line_after")
    if quantity is None:
        if not order.is_rejected:
            order.error(_("The quantity is missing."), row=cells.number, column=columns.name("quantity"))
        return
    if quantity < 1:
        order.error(_("The quantity must be at least 1."), row=cells.number, column=columns.name("quantity"))
        return
    if not 0 <= returned <= quantity:
        order.error(
            _("The returned quantity %(returned)s is more than the %(quantity)s ordered.")
            % {"returned": returned, "quantity": quantity},
            row=cells.number,
            column=columns.name("returned"),
        )
        return
    if unit_price is None and after is not None:
        unit_price = (after / quantity).quantize(Decimal("0.01"))
    if unit_price is None:
        if not order.is_rejected:
            order.error(_("The price is missing."), row=cells.number, column=columns.name("unit_price"))
        return
    state.lines_full += unit_price * quantity
    state.lines_after += after if after is not None else unit_price * quantity
    order.lines.append(
        ImportedLine(
            sku=cells.text("seller_sku") or cells.text("sku_id"),
            name=cells.text("product"),
            quantity=quantity,
            unit_price=unit_price,
            variant=cells.text("variation"),
            returned_quantity=returned,
        )
    )


def _read_parcel(cells: RowCells, state: _OrderState) -> None:
    tracking_number = cells.text("tracking").replace("\t", "").strip()
    if not tracking_number or tracking_number in state.tracking_numbers:
        return
    state.tracking_numbers.add(tracking_number)
    cells.order.parcels.append(
        ImportedParcel(
            tracking_number=tracking_number,
            carrier_name=cells.text("carrier"),
            shipped_at=cells.order.shipped_at,
        )
    )


def _finish(order: ImportedOrder, state: _OrderState) -> ImportedOrder:
    if order.is_rejected:
        return order
    order.subtotal = state.lines_after
    order.discount = max(state.lines_full - state.lines_after, Decimal("0.00"))
    row = order.first_row
    expected = order.subtotal + order.shipping_price + order.tax + state.fees
    if order.total is not None and abs(order.total - expected) > TOLERANCE:
        order.warn(
            _("The order amount %(total)s is not the items plus shipping and taxes (%(expected)s).")
            % {"total": order.total, "expected": expected},
            row=row,
            column="Order Amount",
        )
    if not order.cancelled_at and not all(order.address.get(key) for key in ("line1", "city", "country")):
        order.warn(_("The order has no complete shipping address."), row=row, column="Detail Address")
    return order
