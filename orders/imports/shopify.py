"""Shopify's orders export (``orders_export_1.csv``) → ``ImportedOrder`` records, streamed.

One row per line item; the rows of an order are adjacent and share ``Name`` (``#1001``), which is the
order's external id. Only the first row carries the order-level fields (money, status, address, note...);
follow-on rows repeat ``Name``, ``Email``, ``Created at`` and the line columns. Dates carry their offset
(``2021-05-13 15:15:21 +0200``); money is ``1400.00`` with the code in ``Currency``; all-digit zips start with
an apostrophe (``'90503``) so spreadsheets keep their zeros.

The status: Shopify's export has no single status column, so ``status_text`` is built here (see
``status_text``) and mapped in ``statuses.SHOPIFY_STATUSES``.

Checks (warnings): Subtotal = Σ quantity × price − Discount Amount; Total = Subtotal + Shipping + Taxes (or
Subtotal + Shipping when the prices include the taxes); a missing shipping address (unless no line needs
shipping); a missing email. An order synced from TikTok Shop (tag ``TikTokOrderID:<id>``) also knows its
TikTok id, so a TikTok export of the same order is recognised.
"""

import re
from collections.abc import Iterator
from datetime import tzinfo
from decimal import Decimal

from django.utils.translation import gettext as _

from ..models.imports import ImportSource
from .cells import RowCells, parse_iso_time
from .reading import Columns, Table
from .records import ImportedLine, ImportedOrder

SOURCE = ImportSource.SHOPIFY.value
PLATFORM = "Shopify"

COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("Name",),
    "email": ("Email",),
    "financial_status": ("Financial Status",),
    "paid_at": ("Paid at",),
    "fulfillment_status": ("Fulfillment Status",),
    "fulfilled_at": ("Fulfilled at",),
    "currency": ("Currency",),
    "subtotal": ("Subtotal",),
    "shipping": ("Shipping",),
    "taxes": ("Taxes",),
    "total": ("Total",),
    "discount_code": ("Discount Code",),
    "discount_amount": ("Discount Amount",),
    "created_at": ("Created at",),
    "quantity": ("Lineitem quantity",),
    "line_name": ("Lineitem name",),
    "price": ("Lineitem price",),
    "sku": ("Lineitem sku",),
    "requires_shipping": ("Lineitem requires shipping",),
    "billing_name": ("Billing Name",),
    "ship_name": ("Shipping Name",),
    "ship_line1": ("Shipping Address1", "Shipping Street"),
    "ship_line2": ("Shipping Address2",),
    "ship_company": ("Shipping Company",),
    "ship_city": ("Shipping City",),
    "ship_zip": ("Shipping Zip",),
    "ship_province": ("Shipping Province",),
    "ship_province_name": ("Shipping Province Name",),
    "ship_country": ("Shipping Country",),
    "ship_phone": ("Shipping Phone",),
    "phone": ("Phone",),
    "notes": ("Notes",),
    "cancelled_at": ("Cancelled at",),
    "payment_method": ("Payment Method",),
    "refunded": ("Refunded Amount",),
    "tags": ("Tags",),
    "source": ("Source",),
}
REQUIRED = ("name", "quantity", "line_name", "price")
# The header names that say "this is a Shopify orders export".
SIGNATURE = ("Name", "Lineitem quantity")

_TIKTOK_TAG = re.compile(r"TikTokOrderID\s*:\s*([0-9A-Za-z_-]+)", re.IGNORECASE)
_MONEY_BACK = ("refunded", "voided")
TOLERANCE = Decimal("0.01")


def columns(header: list[str]) -> Columns:
    return Columns(header, COLUMNS, required=REQUIRED, platform=PLATFORM)


def status_text(*, cancelled: bool, fulfillment_status: str, financial_status: str) -> str:
    """The text ``statuses.SHOPIFY_STATUSES`` maps: ``cancelled`` when ``Cancelled at`` is set, else the
    fulfilment status (blank counts as ``unfulfilled``), with ``, refunded`` / ``, voided`` after an
    unfulfilled order whose money went back (it was called off without Shopify's cancel)."""
    if cancelled:
        return "cancelled"
    fulfillment = fulfillment_status.strip().casefold() or "unfulfilled"
    financial = financial_status.strip().casefold()
    if fulfillment == "unfulfilled" and financial in _MONEY_BACK:
        return f"{fulfillment}, {financial}"
    return fulfillment


def read_orders(table: Table, cols: Columns, *, zone: tzinfo) -> Iterator[ImportedOrder]:
    order: ImportedOrder | None = None
    needs_shipping = False
    for number, row in table.rows():
        name = cols.get(row, "name")
        if order is not None and name != order.external_id:
            yield _finish(order, needs_shipping)
            order = None
        if not name:
            orphan = ImportedOrder(source=SOURCE, external_id="", first_row=number, last_row=number)
            orphan.error(_("This row has no order name."), row=number, column=cols.name("name"))
            yield orphan
            continue
        if order is None:
            order = _start(RowCells(cols, row, number, None), name, zone=zone)
            needs_shipping = False
        cells = RowCells(cols, row, number, order)
        order.last_row = number
        line = _line(cells)
        if line is not None:
            order.lines.append(line)
        needs_shipping = needs_shipping or cells.text("requires_shipping").casefold() != "false"
    if order is not None:
        yield _finish(order, needs_shipping)


def _start(cells: RowCells, name: str, *, zone: tzinfo) -> ImportedOrder:
    order = ImportedOrder(source=SOURCE, external_id=name, first_row=cells.number, last_row=cells.number)
    cells.order = order
    text = cells.text
    financial = text("financial_status")
    cancelled_at = cells.moment("cancelled_at", parse_iso_time, zone=zone)
    order.status_text = status_text(
        cancelled=bool(text("cancelled_at")),
        fulfillment_status=text("fulfillment_status"),
        financial_status=financial,
    )
    for tag in text("tags").split(","):
        match = _TIKTOK_TAG.search(tag)
        if match:
            order.also_known_as.append((ImportSource.TIKTOK.value, match[1]))
    order.email = text("email")
    order.currency = text("currency").upper()
    order.subtotal = cells.money("subtotal")
    order.discount = cells.money("discount_amount") or Decimal("0.00")
    order.shipping_price = cells.money("shipping") or Decimal("0.00")
    order.tax = cells.money("taxes") or Decimal("0.00")
    order.total = cells.money("total")
    order.refunded_total = cells.money("refunded") or Decimal("0.00")
    order.coupon_code = text("discount_code")
    order.payment_status_text = financial
    order.payment_method = text("payment_method")
    order.placed_at = cells.moment("created_at", parse_iso_time, zone=zone)
    order.paid_at = cells.moment("paid_at", parse_iso_time, zone=zone)
    if order.status_text in ("fulfilled", "partial"):
        order.shipped_at = cells.moment("fulfilled_at", parse_iso_time, zone=zone)
    order.cancelled_at = cancelled_at
    order.note = text("notes").replace("\r\n", "\n").replace("\r", "\n")
    order.buyer_name = text("billing_name") or text("ship_name")
    order.address = _address(cells)
    return order


def _address(cells: RowCells) -> dict:
    text = cells.text
    country = cells.country("ship_country")
    line1 = text("ship_line1")
    company = text("ship_company")
    address = {
        "name": text("ship_name"),
        "line1": line1,
        "line2": ", ".join(part for part in (text("ship_line2"), company) if part),
        "city": text("ship_city"),
        "region": text("ship_province") or text("ship_province_name"),
        "postal_code": text("ship_zip").lstrip("'").strip(),
        "country": country,
        "phone": text("ship_phone") or text("phone"),
    }
    return {key: value for key, value in address.items() if value}


def _line(cells: RowCells) -> ImportedLine | None:
    quantity = cells.count("quantity")
    price = cells.money("price")
    if quantity is not None and quantity < 1:
        cells.order.error(
            _("The quantity must be at least 1."), row=cells.number, column=cells.columns.name("quantity")
        )
        return None
    if quantity is None or price is None:
        if cells.order.is_rejected:
            return None
        if quantity is None:
            message, key = _("The quantity is missing."), "quantity"
        else:
            message, key = _("The price is missing."), "price"
        cells.order.error(message, row=cells.number, column=cells.columns.name(key))
        return None
    return ImportedLine(
        sku=cells.text("sku"), name=cells.text("line_name"), quantity=quantity, unit_price=price
    )


def _finish(order: ImportedOrder, needs_shipping: bool) -> ImportedOrder:
    if order.is_rejected:
        return order
    row = order.first_row
    lines_total = sum((line.unit_price * line.quantity for line in order.lines), Decimal("0.00"))
    if order.subtotal is not None and abs(lines_total - order.discount - order.subtotal) > TOLERANCE:
        order.warn(
            _("The subtotal %(subtotal)s is not the items (%(items)s) less the discount (%(discount)s).")
            % {"subtotal": order.subtotal, "items": lines_total, "discount": order.discount},
            row=row,
            column="Subtotal",
        )
    if order.total is not None and order.subtotal is not None:
        with_taxes = order.subtotal + order.shipping_price + order.tax
        taxes_included = order.subtotal + order.shipping_price
        if abs(order.total - with_taxes) > TOLERANCE and abs(order.total - taxes_included) > TOLERANCE:
            order.warn(
                _("The total %(total)s is not the subtotal plus shipping and taxes (%(expected)s).")
                % {"total": order.total, "expected": with_taxes},
                row=row,
                column="Total",
            )
    if (
        needs_shipping
        and not order.cancelled_at
        and not all(order.address.get(key) for key in ("line1", "city", "country"))
    ):
        order.warn(_("The order has no complete shipping address."), row=row, column="Shipping Address1")
    if not order.email:
        order.warn(
            _("The order has no email address: the buyer cannot be told about it."), row=row, column="Email"
        )
    return order
