"""The one door to the parsers: ``parse(fileobj, filename=..., format=..., zone=...)`` → ``ParsedFile``.

It identifies the file (``reading.open_table``), tells Shopify's export from TikTok Shop's by the header's
names (never by position), makes one cheap pass to count the data rows (for the progress bar; TikTok's
description row is not counted) and returns the orders as an iterator that streams the file again: memory
stays flat whatever the file's size. Anything that makes the whole file unusable raises ``UnreadableFile``
with a message for the seller; a row it cannot read only rejects its order (see ``records``).
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import tzinfo

from django.utils.translation import gettext as _

from ..models.imports import ImportFormat
from . import shopify, tiktok
from .reading import Table, normalise_header, open_rows_copy, open_table
from .records import ImportedOrder, UnreadableFile

AUTO = "auto"
PLATFORMS = {ImportFormat.SHOPIFY: shopify, ImportFormat.TIKTOK: tiktok}


@dataclass
class ParsedFile:
    format: str  # ImportFormat value: "shopify" or "tiktok"
    rows_total: int  # data rows (blank rows and TikTok's description row not counted)
    orders: Iterator[ImportedOrder]
    # Things to tell the seller about the whole file (it was read as Windows-1252, say); translated.
    notices: list[str] = field(default_factory=list)
    table: Table | None = field(default=None, repr=False, compare=False)

    @property
    def rows_copied(self) -> bool:
        """Whether reading the orders left a whole CSV copy of an XLSX sheet's rows in ``rows_copy``."""
        return self.table is not None and self.table.rows_copied


def detect_format(header: list[str]) -> str | None:
    """``"shopify"`` or ``"tiktok"`` when the header has that export's signature names, else None."""
    names = {normalise_header(name) for name in header}
    for format, platform in PLATFORMS.items():
        if all(normalise_header(name) in names for name in platform.SIGNATURE):
            return format
    return None


def parse(fileobj, *, filename: str, format: str = AUTO, zone: tzinfo, rows_copy=None) -> ParsedFile:
    """Open the export and stream its orders; ``format`` is ``"auto"``, ``"shopify"`` or ``"tiktok"``.

    ``rows_copy``: a binary file to which reading an XLSX export's orders writes its rows as CSV, for
    ``parse_rows_copy`` to read faster next time (see ``reading``)."""
    return _parse_table(open_table(fileobj, filename=filename, rows_copy=rows_copy), format=format, zone=zone)


def parse_rows_copy(fileobj, *, format: str, zone: tzinfo) -> ParsedFile:
    """The orders of an XLSX export again, from the CSV copy of its rows that reading them once made."""
    return _parse_table(open_rows_copy(fileobj), format=format, zone=zone)


def _parse_table(table: Table, *, format: str, zone: tzinfo) -> ParsedFile:
    if format != AUTO and format not in PLATFORMS:
        raise ValueError(f"Unknown import format {format!r}")
    detected = detect_format(table.header)
    if format == AUTO:
        if detected is None:
            raise UnreadableFile(_no_known_header_message(table))
        format = detected
    elif detected != format:
        raise UnreadableFile(_wrong_format_message(format, detected))
    platform = PLATFORMS[format]
    columns = platform.columns(table.header)
    if platform is tiktok:
        survey = tiktok.survey(table, columns)
        orders = tiktok.read_orders(table, columns, zone=zone, date_order=survey.date_order)
        rows_total = survey.rows_total
    else:
        last_row = table.last_row_number()
        rows_total = last_row - 1 if last_row is not None else sum(1 for _row in table.rows())
        orders = shopify.read_orders(table, columns, zone=zone)
    return ParsedFile(
        format=str(format), rows_total=rows_total, orders=orders, notices=list(table.notices), table=table
    )


def _signature(format: str) -> str:
    return ", ".join(f"“{name}”" for name in PLATFORMS[format].SIGNATURE)


def _no_known_header_message(table: Table) -> str:
    found = ", ".join(f"“{name}”" for name in table.header[:5] if name)
    return _(
        "The file's first row does not look like a Shopify or TikTok Shop orders export. A Shopify export "
        "starts with columns such as %(shopify)s; a TikTok Shop export has %(tiktok)s. This file's first row "
        "has %(found)s."
    ) % {
        "shopify": _signature(ImportFormat.SHOPIFY),
        "tiktok": _signature(ImportFormat.TIKTOK),
        "found": found or "—",
    }


def _wrong_format_message(format: str, detected: str | None) -> str:
    expected = ImportFormat(format).label
    if detected:
        return _(
            "This file's format is “%(detected)s”, not “%(expected)s”. Choose “Find out from the file” or "
            "the right format."
        ) % {
            "detected": ImportFormat(detected).label,
            "expected": expected,
        }
    return _("This file's format is not “%(expected)s”: its first row lacks the columns %(columns)s.") % {
        "expected": expected,
        "columns": _signature(format),
    }
