"""What ``parse`` accepts and refuses as a whole file: containers, encodings, headers and forced formats."""

import csv
import io
import zipfile
from collections.abc import Iterator

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from orders.imports import reading
from orders.imports.parsing import ParsedFile, detect_format, parse
from orders.imports.records import UnreadableFile
from tests.imports.export_files import (
    NEW_YORK,
    SHOPIFY_EXPORT,
    TIKTOK_ALL_ORDERS,
    csv_rows,
    parse_all,
    parse_bytes,
    write_csv,
)

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
)
PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01"
XLS = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)


def _zip_that_is_not_a_workbook() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/document.xml", "<document/>")
    return out.getvalue()


def _message(data: bytes, **options) -> str:
    with pytest.raises(UnreadableFile) as error:
        parse_bytes(data, **options)
    return str(error.value.message)


@pytest.mark.parametrize("data", [b"", b"   \r\n\n", b"\xef\xbb\xbf", b"\xef\xbb\xbf\r\n"])
def test_an_empty_file(data):
    assert _message(data) == "The file is empty."


@pytest.mark.parametrize(
    "data",
    [PNG, PDF, JPEG, bytes(range(256)) * 8, b"\x01\x02\x03\x04\x05garbage\x06\x07\x08" * 50],
    ids=["png", "pdf", "jpeg", "binary", "control-characters"],
)
def test_not_a_csv_or_xlsx(data):
    assert "not a CSV or Excel (.xlsx) file" in _message(data)


def test_an_old_xls_file():
    assert ".xls" in _message(XLS, filename="orders.xls")


def test_a_zip_that_is_not_a_workbook():
    assert "Excel file cannot be opened" in _message(_zip_that_is_not_a_workbook(), filename="orders.xlsx")


def test_a_csv_with_no_known_header():
    message = _message(b"Date,Amount,Description\n2026-01-01,10.00,Coffee\n")
    assert "does not look like a Shopify or TikTok Shop orders export" in message
    assert "“Name”, “Lineitem quantity”" in message
    assert "“Order ID”, “Order Status”" in message
    assert "“Date”, “Amount”, “Description”" in message


def test_a_header_row_that_is_blank():
    assert "does not look like" in _message(b"\n\nName,Lineitem quantity\n")


def test_a_forced_format_that_does_not_match():
    assert "This file's format is “Shopify orders export”, not “TikTok Shop orders export”" in _message(
        SHOPIFY_EXPORT.read_bytes(), format="tiktok"
    )
    message = _message(b"Date,Amount\n2026-01-01,10.00\n", format="shopify")
    assert "This file's format is not “Shopify orders export”" in message
    assert "“Name”" in message


def test_a_forced_format_that_matches():
    parsed = parse_bytes(TIKTOK_ALL_ORDERS.read_bytes(), format="tiktok")
    assert parsed.format == "tiktok"


def test_an_unknown_format_name_is_a_programming_error():
    with pytest.raises(ValueError):
        parse_bytes(SHOPIFY_EXPORT.read_bytes(), format="amazon")


def test_a_missing_required_shopify_column_is_named():
    rows = csv_rows(SHOPIFY_EXPORT)
    price = rows[0].index("Lineitem price")
    message = _message(write_csv([row[:price] + row[price + 1 :] for row in rows]))
    assert "“Lineitem price”" in message


def test_detect_format_by_names_only():
    assert detect_format([" Name ", "Email", "LINEITEM QUANTITY"]) == "shopify"
    assert detect_format(["\ufeffOrder ID\t", "Order Status", "SKU ID"]) == "tiktok"
    assert detect_format(["Order", "Status"]) is None


def test_a_windows_1252_file_is_read_with_a_notice():
    rows = csv_rows(SHOPIFY_EXPORT)
    rows[1][rows[0].index("Shipping Name")] = "Zoë Ångström"
    parsed, orders = parse_all(write_csv(rows, encoding="cp1252"))
    assert orders["#1001"].address["name"] == "Zoë Ångström"
    assert len(parsed.notices) == 1
    assert "Windows-1252" in parsed.notices[0]


def test_a_utf8_file_has_no_notice():
    rows = csv_rows(SHOPIFY_EXPORT)
    rows[1][rows[0].index("Shipping Name")] = "Zoë Ångström"
    parsed, orders = parse_all(write_csv(rows))
    assert orders["#1001"].address["name"] == "Zoë Ångström"
    assert parsed.notices == []


def test_a_semicolon_separated_file():
    rows = csv_rows(SHOPIFY_EXPORT)
    text = io.StringIO(newline="")
    csv.writer(text, delimiter=";").writerows(rows)
    _parsed, orders = parse_all(text.getvalue().encode())
    assert orders["#1001"].total is not None


def test_orders_are_streamed_and_the_uploaded_file_stays_open():
    upload = SimpleUploadedFile("All order.csv", TIKTOK_ALL_ORDERS.read_bytes(), content_type="text/csv")
    parsed = parse(upload, filename=upload.name, zone=NEW_YORK)
    assert isinstance(parsed, ParsedFile)
    assert isinstance(parsed.orders, Iterator)
    first = next(parsed.orders)
    assert first.external_id == "576512345678901001"
    assert len(list(parsed.orders)) == 8
    assert not upload.closed
    upload.seek(0)
    assert upload.read(3) == b"\xef\xbb\xbf"


def test_an_uploaded_file_on_disk(tmp_path):
    path = tmp_path / "orders_export_1.csv"
    path.write_bytes(SHOPIFY_EXPORT.read_bytes())
    with open(path, "rb") as file:
        parsed = parse(file, filename=path.name, zone=NEW_YORK)
        assert sum(1 for _order in parsed.orders) == 8
        assert not file.closed


@pytest.mark.parametrize("chunk", [1, 7, 33, 1 << 20])
def test_counting_the_rows_of_a_sheets_xml_in_chunks(monkeypatch, chunk):
    monkeypatch.setattr(reading, "XML_CHUNK_BYTES", chunk)
    xml = (
        b'<worksheet><sheetData><row r="1"><c r="A1"/></row><x:row r="2">'
        b'<c/></x:row><row r="3"/><rowBreaks/></sheetData></worksheet>'
    )
    assert reading.count_xml_rows(io.BytesIO(xml)) == 3
