"""Bulk shipping from a CSV file: read it, check every row against the shop's orders, ship the valid rows.

A file has a header naming three columns: the order number, the carrier (its code or its name) and the
tracking number. Headers match whatever their case, a UTF-8 BOM is tolerated, and the delimiter may be a
comma or a semicolon. The rows are checked twice: for the preview, and again when applied, since orders may
change in between. Each row ships in its own transaction through ``ship_order``, so a refused row leaves
nothing behind and never stops the others.
"""

import csv
import io
from dataclasses import asdict, dataclass

from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from orders.errors import ShipshapeError
from orders.models import Order
from orders.services import Actor, ParcelSpec, ship_order
from orders.services.checklist import checklist_refusal
from orders.states import OrderStatus
from shipping.carriers import candidate_carriers, normalise_tracking_number, recognises_numbers_of
from shipping.models import Carrier, Shipment

MAX_BYTES = 1024 * 1024
MAX_ROWS = 5000

COLUMNS = {
    "order_number": ("order number", "order", "order_number", "order no", "order #", "number"),
    "carrier": ("carrier", "carrier code", "carrier name", "carrier_code", "courier"),
    "tracking_number": ("tracking number", "tracking", "tracking_number", "tracking no", "tracking code"),
}


class ShippingFileError(Exception):
    """The file as a whole cannot be read; the message says what to fix."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class ShippingRow:
    line: int  # the line in the file, counting the header as 1
    order_number: str
    carrier: str  # as written in the file
    tracking_number: str  # as written in the file
    error: str = ""
    carrier_code: str = ""
    order_id: int | None = None
    malformed: bool = False

    @property
    def valid(self) -> bool:
        return not self.error

    def as_dict(self) -> dict:
        return asdict(self)


def read_shipping_file(data: bytes) -> list[ShippingRow]:
    """The rows of an uploaded file, each as written; raises ``ShippingFileError`` for an unreadable file."""
    if len(data) > MAX_BYTES:
        raise ShippingFileError(_("The file is larger than 1 MB; split it into smaller files."))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ShippingFileError(
            _("The file is not UTF-8 text; save it as “CSV UTF-8” and try again.")
        ) from exc
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise ShippingFileError(_("The file is empty."))
    header_line = lines[0]
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [cell.strip().lower() for cell in next(reader)]
    positions = {}
    for key, names in COLUMNS.items():
        found = [index for index, cell in enumerate(header) if cell in names]
        if not found:
            raise ShippingFileError(
                _(
                    "The header needs the columns “order number”, “carrier” and “tracking number”; "
                    "%(missing)s is missing."
                )
                % {"missing": f"“{names[0]}”"}
            )
        positions[key] = found[0]
    width = max(positions.values()) + 1
    rows = []
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue  # blank lines are not rows
        if len(rows) >= MAX_ROWS:
            raise ShippingFileError(
                _("The file has more than %(count)s rows; split it into smaller files.")
                % {"count": f"{MAX_ROWS:,}"}
            )
        line = reader.line_num
        if len(cells) < width:
            first = cells[0].strip() if cells else ""
            rows.append(
                ShippingRow(line=line, order_number=first, carrier="", tracking_number="", malformed=True)
            )
            continue
        rows.append(
            ShippingRow(
                line=line,
                order_number=cells[positions["order_number"]].strip(),
                carrier=cells[positions["carrier"]].strip(),
                tracking_number=cells[positions["tracking_number"]].strip(),
            )
        )
    if not rows:
        raise ShippingFileError(_("The file has a header but no rows."))
    return rows


def check_rows(shop, rows: list[ShippingRow]) -> list[ShippingRow]:
    """Mark each row valid or say why not. A handful of queries whatever the number of rows."""
    for row in rows:
        row.carrier_code, row.order_id = "", None
        row.error = _("This row has too few columns.") if row.malformed else ""
    carriers = list(Carrier.objects.filter(is_active=True))
    by_code = {carrier.code.lower(): carrier for carrier in carriers}
    by_name = {carrier.name.lower(): carrier for carrier in carriers}
    numbers = {row.order_number for row in rows if row.order_number}
    orders = {
        order.number.lower(): order
        for order in Order.objects.for_shop(shop)
        .filter(number__in=numbers | {n.upper() for n in numbers})
        .select_related("shop")
    }
    if len(orders) < len(numbers):  # numbers typed in another case
        orders.update(
            {
                order.number.lower(): order
                for order in Order.objects.for_shop(shop)
                .annotate(lower_number=Lower("number"))
                .filter(lower_number__in={n.lower() for n in numbers})
                .select_related("shop")
            }
        )
    tracking_numbers = {normalise_tracking_number(row.tracking_number) for row in rows}
    used = set(
        Shipment.objects.filter(shop=shop, tracking_number__in=tracking_numbers - {""}).values_list(
            "carrier_id", "tracking_number"
        )
    )
    seen_orders: set[int] = set()
    seen_numbers: set[tuple[int, str]] = set()
    for row in rows:
        if row.error:
            continue
        row.error = _row_error(row, orders, by_code, by_name, used, seen_orders, seen_numbers)
    return rows


def _row_error(row, orders, by_code, by_name, used, seen_orders, seen_numbers) -> str:
    if not row.order_number or not row.carrier or not row.tracking_number:
        return _("Fill in the order number, the carrier and the tracking number.")
    order = orders.get(row.order_number.lower())
    if order is None:
        return _("No order %(number)s in this shop.") % {"number": row.order_number}
    carrier = by_code.get(row.carrier.lower()) or by_name.get(row.carrier.lower())
    if carrier is None:
        return _("Unknown carrier “%(carrier)s”.") % {"carrier": row.carrier}
    number = normalise_tracking_number(row.tracking_number)
    if recognises_numbers_of(carrier) and not candidate_carriers(number, [carrier]):
        return _("%(number)s is not a %(carrier)s tracking number.") % {
            "number": number,
            "carrier": carrier.name,
        }
    if (carrier.pk, number) in seen_numbers:
        return _("This tracking number is already on an earlier row of the file.")
    seen_numbers.add((carrier.pk, number))
    if order.pk in seen_orders:
        return _("Order %(number)s is already on an earlier row of the file.") % {"number": order.number}
    seen_orders.add(order.pk)
    if (carrier.pk, number) in used:
        return _("Tracking number %(number)s is already used for another parcel.") % {"number": number}
    if order.status != OrderStatus.PROCESSED:
        return _("Order %(number)s cannot ship: only processed orders can ship (status: %(status)s).") % {
            "number": order.number,
            "status": order.get_status_display(),
        }
    if refusal := checklist_refusal(order):
        return refusal
    row.carrier_code = carrier.code
    row.order_id = order.pk
    return ""


@dataclass
class ApplyResult:
    shipped: list[ShippingRow]
    refused: list[ShippingRow]


def apply_rows(shop, rows: list[ShippingRow], *, user) -> ApplyResult:
    """Check the rows again, then ship each valid one in its own transaction; report every row."""
    rows = check_rows(shop, rows)
    shipped, refused = [], []
    for row in rows:
        if not row.valid:
            refused.append(row)
            continue
        try:
            ship_order(
                Order(pk=row.order_id),
                parcels=[ParcelSpec(tracking_number=row.tracking_number, carrier_code=row.carrier_code)],
                by=Actor.seller(user),
            )
        except ShipshapeError as error:
            row.error = error.message
            refused.append(row)
        else:
            shipped.append(row)
    return ApplyResult(shipped=shipped, refused=refused)
