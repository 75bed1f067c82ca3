"""Orders as CSV: one row per order, written as it is read (a streamed response holds one chunk at a time).

Cells a spreadsheet would run as a formula (starting with = + - @, or a tab or carriage return) are
prefixed with an apostrophe: a buyer's name like ``=HYPERLINK(...)`` stays text when the seller opens it.
"""

import csv
from collections.abc import Iterable, Iterator
from datetime import UTC

from django.http import StreamingHttpResponse
from django.utils.translation import gettext as _

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def defuse(value) -> str:
    """The cell as text, made inert if a spreadsheet would read it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def header() -> list[str]:
    return [
        _("Order number"),
        _("Placed (UTC)"),
        _("Status"),
        _("Payment status"),
        _("Customer email"),
        _("Customer name"),
        _("Items"),
        _("Subtotal"),
        _("Discount"),
        _("Shipping"),
        _("Total"),
        _("Currency"),
        _("Carriers"),
        _("Tracking numbers"),
        _("Ship-to city"),
        _("Ship-to country"),
    ]


def order_row(order: dict) -> list:
    """One order's cells, from an export row (``dashboard.selectors.orders.export_rows``)."""
    carriers = list(dict.fromkeys(carrier for carrier, _tracking in order["parcels"]))
    tracking = [number for _carrier, number in order["parcels"] if number]
    return [
        order["number"],
        order["placed_at"].astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        order["status"],
        order["payment_status"],
        order["email"],
        order["customer__name"] or order["ship_name"],
        order["item_count"] or 0,
        order["subtotal"],
        order["discount"],
        order["shipping_price"],
        order["total"],
        order["currency"],
        " ".join(carriers),
        " ".join(tracking),
        order["ship_city"],
        order["ship_country"],
    ]


class _Echo:
    """A file-like object whose ``write`` hands back the line: csv.writer then yields one line at a time."""

    def write(self, value: str) -> str:
        return value


def csv_lines(orders: Iterable[dict], *, rows_per_chunk: int = 200) -> Iterator[str]:
    """The CSV text in chunks of a few hundred rows (one tiny write per row would be slow to send)."""
    writer = csv.writer(_Echo())
    # A byte-order mark first, so spreadsheets read the file as UTF-8.
    buffer = ["\ufeff", writer.writerow([defuse(cell) for cell in header()])]
    for order in orders:
        buffer.append(writer.writerow([defuse(cell) for cell in order_row(order)]))
        if len(buffer) >= rows_per_chunk:
            yield "".join(buffer)
            buffer = []
    if buffer:
        yield "".join(buffer)


def csv_response(orders: Iterable[dict], filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_lines(orders), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
