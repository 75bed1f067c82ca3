"""The export files the import tests read: the fixtures in ``fixtures/`` and ways to reshape them."""

import csv
import io
from pathlib import Path
from zoneinfo import ZoneInfo

from orders.imports.parsing import parse
from orders.imports.samples import TIKTOK_DESCRIPTIONS

FIXTURES = Path(__file__).parent / "fixtures"
SHOPIFY_EXPORT = FIXTURES / "shopify_orders_export.csv"  # 79 columns (2025–26), LF, no BOM
SHOPIFY_OLDER_EXPORT = FIXTURES / "shopify_orders_export_older.csv"  # 71 columns, stops after "Phone"
TIKTOK_ALL_ORDERS = FIXTURES / "tiktok_all_orders.csv"  # US: BOM, CRLF, description row, tabs, AM/PM dates
TIKTOK_TO_SHIP_UK = FIXTURES / "tiktok_to_ship_uk.csv"  # UK names (Post Town, Postcode...), day-first dates
NEW_YORK = ZoneInfo("America/New_York")


def parse_bytes(data: bytes, *, filename: str = "orders.csv", format: str = "auto", zone=NEW_YORK):
    return parse(io.BytesIO(data), filename=filename, format=format, zone=zone)


def parse_all(data: bytes, **options) -> tuple:
    """(the ParsedFile, its orders as a list, keyed by external id)."""
    parsed = parse_bytes(data, **options)
    return parsed, {order.external_id: order for order in parsed.orders}


def csv_rows(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as file:
        return list(csv.reader(file))


def write_csv(rows, *, line_ending: str = "\n", encoding: str = "utf-8") -> bytes:
    text = io.StringIO(newline="")
    csv.writer(text, lineterminator=line_ending).writerows(rows)
    return text.getvalue().encode(encoding)


def xlsx_from_csv(path: Path, *, description_row: bool = True, sheet: str = "OrderSKUList") -> bytes:
    """TikTok's XLSX shape made from a CSV fixture with openpyxl: cells as text, descriptions in row 2."""
    from openpyxl import Workbook

    rows = csv_rows(path)
    workbook = Workbook()
    worksheet = workbook.active
    worksheet.title = sheet
    worksheet.append(rows[0])
    if description_row:
        worksheet.append([TIKTOK_DESCRIPTIONS.get(name, "") for name in rows[0]])
    for row in rows[1:]:
        worksheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
