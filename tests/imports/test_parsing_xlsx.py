"""XLSX sheets read as rows of text: every kind of cell, sheets with and without ``<dimension>``, and the same
export as CSV and as XLSX (openpyxl's writers and the sample writer) giving the same orders."""

import io
import time
import tracemalloc
import zipfile
from zoneinfo import ZoneInfo

import pytest

from orders.imports import reading
from orders.imports.records import UnreadableFile
from orders.imports.samples import TIKTOK_COLUMNS, write_tiktok_csv, write_tiktok_xlsx
from tests.imports.export_files import parse_all, parse_bytes, xlsx_from_csv

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE = "http://schemas.openxmlformats.org/package/2006/relationships"
SPREADSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml"
UTC = ZoneInfo("UTC")
MEGABYTE = 1024 * 1024
# Number formats 14 (a date) and 22 (a date and time) are built in; style 0 is plain.
DATE_STYLES = (
    f'<styleSheet xmlns="{MAIN}"><fonts count="1"><font><sz val="11"/></font></fonts>'
    '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" xfId="0"/><xf numFmtId="14" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="22" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
)


def xlsx_package(
    sheets: dict[str, str], *, shared_strings: list[str] | None = None, styles: str | None = None
) -> bytes:
    """A workbook written part by part: ``sheets`` maps each sheet's name to its ``<sheetData>`` and
    whatever comes before it (a ``<dimension>``, say)."""
    overrides = [("/xl/workbook.xml", f"{SPREADSHEET}.sheet.main+xml")]
    relationships = []
    workbook_sheets = []
    for index, name in enumerate(sheets, start=1):
        overrides.append((f"/xl/worksheets/sheet{index}.xml", f"{SPREADSHEET}.worksheet+xml"))
        relationships.append((f"rId{index}", "worksheet", f"worksheets/sheet{index}.xml"))
        workbook_sheets.append(f'<sheet name="{name}" sheetId="{index}" r:id="rId{index}"/>')
    if shared_strings is not None:
        overrides.append(("/xl/sharedStrings.xml", f"{SPREADSHEET}.sharedStrings+xml"))
        relationships.append(("rIdStrings", "sharedStrings", "sharedStrings.xml"))
    if styles is not None:
        overrides.append(("/xl/styles.xml", f"{SPREADSHEET}.styles+xml"))
        relationships.append(("rIdStyles", "styles", "styles.xml"))
    parts = {
        "[Content_Types].xml": (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            + "".join(f'<Override PartName="{part}" ContentType="{kind}"/>' for part, kind in overrides)
            + "</Types>"
        ),
        "_rels/.rels": (
            f'<Relationships xmlns="{PACKAGE}"><Relationship Id="rId1" '
            f'Type="{RELATIONSHIPS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'<workbook xmlns="{MAIN}" xmlns:r="{RELATIONSHIPS}"><sheets>{"".join(workbook_sheets)}</sheets>'
            "</workbook>"
        ),
        "xl/_rels/workbook.xml.rels": (
            f'<Relationships xmlns="{PACKAGE}">'
            + "".join(
                f'<Relationship Id="{id}" Type="{RELATIONSHIPS}/{kind}" Target="{target}"/>'
                for id, kind, target in relationships
            )
            + "</Relationships>"
        ),
    }
    for index, body in enumerate(sheets.values(), start=1):
        parts[f"xl/worksheets/sheet{index}.xml"] = f'<worksheet xmlns="{MAIN}">{body}</worksheet>'
    if shared_strings is not None:
        parts["xl/sharedStrings.xml"] = f'<sst xmlns="{MAIN}">{"".join(shared_strings)}</sst>'
    if styles is not None:
        parts["xl/styles.xml"] = styles
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, xml in parts.items():
            archive.writestr(name, xml)
    return out.getvalue()


def rows_of(data: bytes) -> tuple[list[str], list[tuple[int, list[str]]]]:
    table = reading.open_table(io.BytesIO(data), filename="orders.xlsx")
    return table.header, list(table.rows())


def inline(reference: str, text: str) -> str:
    return f'<c r="{reference}" t="inlineStr"><is><t>{text}</t></is></c>'


# Cells ------------------------------------------------------------------------------------------------


def test_shared_strings_plain_and_rich():
    strings = [
        "<si><t>Order ID</t></si>",
        "<si><t>Product Name</t></si>",
        "<si><r><rPr><b/></rPr><t>Zip </t></r><r><t>Hoodie</t></r></si>",  # rich text: runs joined
        '<si><t xml:space="preserve"> Mug &amp; Co </t></si>',
        '<si><t>\u6771\u4eac</t><rPh sb="0" eb="2"><t>\u30c8\u30a6\u30ad\u30e7\u30a6</t></rPh></si>',
        "<si><t>line one_x000D_\nline two, snake_x005F_x0041_case</t></si>",
        "<si><t/></si>",
    ]
    sheet = (
        '<dimension ref="A1:B5"/><sheetData>'
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
        '<row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2" t="s"><v>3</v></c></row>'
        '<row r="3"><c r="A3" t="s"><v>4</v></c><c r="B3" t="s"><v>5</v></c></row>'
        '<row r="4"><c r="A4" t="s"><v>6</v></c><c r="B4" t="s"><v>1</v></c></row>'
        "</sheetData>"
    )
    header, rows = rows_of(xlsx_package({"Sheet1": sheet}, shared_strings=strings))
    assert header == ["Order ID", "Product Name"]
    assert rows == [
        (2, ["Zip Hoodie", " Mug & Co "]),
        (3, ["\u6771\u4eac", "line one\r\nline two, snake_x0041_case"]),  # the phonetic hint is left out
        (4, ["", "Product Name"]),
    ]


def test_inline_strings_plain_and_rich():
    sheet = (
        "<sheetData>"
        f'<row r="1">{inline("A1", "Order ID")}{inline("B1", "Buyer Message")}</row>'
        '<row r="2"><c r="A2" t="inlineStr"><is><r><t>5765</t></r><r><rPr><i/></rPr><t>12</t></r></is></c>'
        '<c r="B2" t="inlineStr"><is><t xml:space="preserve">Side door,\nplease &lt;3 </t></is></c></row>'
        '<row r="3"><c r="A3" t="inlineStr"><is><t>a_x0009_b</t></is></c><c r="B3" t="inlineStr"/></row>'
        "</sheetData>"
    )
    header, rows = rows_of(xlsx_package({"Sheet1": sheet}))
    assert header == ["Order ID", "Buyer Message"]
    assert rows == [(2, ["576512", "Side door,\nplease <3 "]), (3, ["a\tb", ""])]


def test_numbers_booleans_formulas_errors_and_dates():
    sheet = (
        "<sheetData>"
        f'<row r="1">{"".join(inline(f"{letter}1", letter) for letter in "ABCDEFGHIJ")}</row>'
        '<row r="2"><c r="A2"><v>3</v></c><c r="B2" t="n"><v>18.5</v></c><c r="C2"><v>2.0</v></c>'
        '<c r="D2"><v>1E3</v></c><c r="E2"><v>576512345678901001</v></c><c r="F2" t="b"><v>1</v></c>'
        '<c r="G2" t="b"><v>0</v></c><c r="H2" t="str"><f>A2&amp;"x"</f><v>3x</v></c>'
        '<c r="I2" t="e"><f>1/0</f><v>#DIV/0!</v></c><c r="J2" t="d"><v>2026-03-08T09:14:22</v></c></row>'
        '<row r="3"><c r="A3" s="1"><v>46089</v></c><c r="B3" s="2"><v>46089.3849768519</v></c>'
        '<c r="C3" s="0"><v>46089</v></c><c r="D3" s="1"/></row>'
        "</sheetData>"
    )
    _header, rows = rows_of(xlsx_package({"Sheet1": sheet}, styles=DATE_STYLES))
    assert rows == [
        (
            2,
            [
                "3",
                "18.5",
                "2",
                "1000",
                "576512345678901001",
                "TRUE",
                "FALSE",
                "3x",
                "#DIV/0!",
                "2026-03-08 09:14:22",
            ],
        ),
        (3, ["2026-03-08 00:00:00", "2026-03-08 09:14:22", "46089", ""]),
    ]


def test_missing_cells_are_blanks_and_missing_rows_keep_their_numbers():
    sheet = (
        "<sheetData>"
        f'<row r="1">{inline("A1", "Order ID")}{inline("B1", "Quantity")}{inline("C1", "Note")}</row>'
        f'<row r="2">{inline("C2", "only C")}</row>'
        f'<row r="3"><c r="A3"/><c r="B3" s="0"/></row>'  # empty cells: a blank row
        f'<row r="5">{inline("A5", "A")}<c r="AB5"><v>7</v></c></row>'  # row 4 is not in the file
        f"<row>{inline('B6', 'no row number')}</row>"
        f"<row><c><v>1</v></c><c><v>2</v></c></row>"  # cells without references: one after the other
        "</sheetData>"
    )
    _header, rows = rows_of(xlsx_package({"Sheet1": sheet}))
    assert rows == [
        (2, ["", "", "only C"]),
        (5, ["A"] + [""] * 26 + ["7"]),
        (6, ["", "no row number"]),
        (7, ["1", "2"]),
    ]


def test_a_blank_first_row_means_there_is_no_header():
    sheet = (
        f'<sheetData><row r="2">{inline("A2", "Order ID")}{inline("B2", "Order Status")}</row></sheetData>'
    )
    with pytest.raises(UnreadableFile) as error:
        parse_bytes(xlsx_package({"Sheet1": sheet}), filename="orders.xlsx")
    assert "does not look like" in str(error.value.message)


def test_the_orders_sheet_is_found_by_name_else_the_first_sheet_is_read():
    summary = f'<sheetData><row r="1">{inline("A1", "Summary")}</row></sheetData>'
    orders = f'<sheetData><row r="1">{inline("A1", "Order ID")}</row></sheetData>'
    assert rows_of(xlsx_package({"Summary": summary, "OrderSKUList": orders}))[0] == ["Order ID"]
    assert rows_of(xlsx_package({"Summary": summary, "Orders": orders}))[0] == ["Summary"]


@pytest.mark.parametrize(
    "sheet",
    [
        '<sheetData><row r="1"><c r="A1" t="s"><v>7</v></c></row></sheetData>',  # no such shared string
        f'<sheetData><row r="1">{inline("A1", "Order ID")}</row><row r="2"><c r="A2"><v>1</v></sheetData>',
    ],
    ids=["shared-string-out-of-range", "broken-xml"],
)
def test_a_damaged_sheet_is_refused_with_a_message(sheet):
    data = xlsx_package({"Sheet1": sheet}, shared_strings=["<si><t>Order ID</t></si>"])
    with pytest.raises(UnreadableFile) as error:
        table = reading.open_table(io.BytesIO(data))
        list(table.rows())
    assert "Excel file cannot be opened" in str(error.value.message)


# Sizes ------------------------------------------------------------------------------------------------


def test_a_stated_dimension_gives_the_last_row_without_reading_the_rows(monkeypatch):
    sheet = (
        f'<dimension ref="A1:B40"/><sheetData><row r="1">{inline("A1", "Order ID")}</row>'
        f'<row r="2">{inline("A2", "1")}</row></sheetData>'
    )
    table = reading.open_table(io.BytesIO(xlsx_package({"Sheet1": sheet})))
    monkeypatch.setattr(reading, "count_xml_rows", lambda xml: pytest.fail("the rows were counted"))
    assert table.last_row_number() == 40


@pytest.mark.parametrize("dimension", ["", '<dimension ref="A1"/>'], ids=["none", "bare-A1"])
def test_a_sheet_without_a_dimension_is_counted_once(monkeypatch, dimension):
    rows = "".join(f'<row r="{number}">{inline(f"A{number}", str(number))}</row>' for number in range(1, 8))
    table = reading.open_table(
        io.BytesIO(xlsx_package({"Sheet1": f"{dimension}<sheetData>{rows}</sheetData>"}))
    )
    counted = []
    count_xml_rows = reading.count_xml_rows
    monkeypatch.setattr(reading, "count_xml_rows", lambda xml: counted.append(1) or count_xml_rows(xml))
    assert [table.last_row_number() for _ in range(3)] == [7, 7, 7]
    assert counted == [1]


def test_an_openpyxl_write_only_file_has_no_dimension_and_is_counted_once(monkeypatch):
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("OrderSKUList")
    for row in _csv_rows_of_sample(orders=40, description_row=True):
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    with zipfile.ZipFile(out) as archive:
        assert b"<dimension" not in archive.read("xl/worksheets/sheet1.xml")
    calls = []
    count_xml_rows = reading.count_xml_rows
    monkeypatch.setattr(reading, "count_xml_rows", lambda xml: calls.append(1) or count_xml_rows(xml))
    parsed, orders = parse_all(out.getvalue(), filename="To Ship order.xlsx", zone=UTC)
    assert len(orders) == 40
    assert parsed.rows_total == sum(len(order.lines) for order in orders.values())
    assert calls == [1]


# The same export as CSV and as XLSX -----------------------------------------------------------------------


def _csv_rows_of_sample(**options) -> list[list[str]]:
    import csv

    out = io.StringIO()
    write_tiktok_csv(out, seed=9, bom=False, tab_after_ids=False, **options)
    return list(csv.reader(io.StringIO(out.getvalue())))


def test_the_sample_xlsx_is_shaped_like_seller_centers():
    out = io.BytesIO()
    summary = write_tiktok_xlsx(out, orders=50, seed=9)
    with zipfile.ZipFile(out) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml")
        strings = archive.read("xl/sharedStrings.xml")
    last_column = reading._column_position("BE") + 1
    assert last_column == len(TIKTOK_COLUMNS)
    assert f'<dimension ref="A1:BE{summary.rows + 2}"/>'.encode() in sheet[:400]
    assert b't="s"' in sheet and b't="inlineStr"' in sheet
    assert b"<si><t>Order Status</t></si>" in strings and b"<si><t>Organic Cotton Tee</t></si>" in strings


def test_the_sample_xlsx_is_the_same_bytes_for_the_same_seed():
    first, second, other = io.BytesIO(), io.BytesIO(), io.BytesIO()
    write_tiktok_xlsx(first, orders=30, seed=5)
    write_tiktok_xlsx(second, orders=30, seed=5)
    write_tiktok_xlsx(other, orders=30, seed=6)
    assert first.getvalue() == second.getvalue() != other.getvalue()


def test_the_same_orders_from_csv_from_openpyxl_and_from_the_sample_xlsx(tmp_path):
    csv_file = io.BytesIO()
    write_tiktok_csv(csv_file, orders=150, seed=9, tab_after_ids=False)
    # openpyxl's ordinary writer (inline strings, a <dimension>), descriptions added in row 2
    plain_csv = tmp_path / "All order.csv"
    write_tiktok_csv(plain_csv, orders=150, seed=9, tab_after_ids=False, description_row=False)
    sample_xlsx = io.BytesIO()
    write_tiktok_xlsx(sample_xlsx, orders=150, seed=9)

    from_csv = parse_all(csv_file.getvalue(), zone=UTC)
    from_openpyxl = parse_all(xlsx_from_csv(plain_csv), filename="To Ship order.xlsx", zone=UTC)
    from_sample = parse_all(sample_xlsx.getvalue(), filename="To Ship order.xlsx", zone=UTC)

    assert len(from_csv[1]) == 150
    assert from_csv[1] == from_openpyxl[1] == from_sample[1]
    assert from_csv[0].rows_total == from_openpyxl[0].rows_total == from_sample[0].rows_total
    first = next(iter(from_sample[1].values()))
    assert first.first_row == 3  # row 2 holds the descriptions, and is not an order
    assert not [problem for order in from_sample[1].values() for problem in order.problems]


def test_the_description_row_is_skipped_and_not_counted():
    with_descriptions, without = io.BytesIO(), io.BytesIO()
    summary = write_tiktok_xlsx(with_descriptions, orders=20, seed=3)
    write_tiktok_xlsx(without, orders=20, seed=3, description_row=False)
    parsed, orders = parse_all(with_descriptions.getvalue(), filename="To Ship order.xlsx", zone=UTC)
    plain, plain_orders = parse_all(without.getvalue(), filename="To Ship order.xlsx", zone=UTC)
    assert parsed.rows_total == plain.rows_total == summary.rows
    assert [order.first_row for order in orders.values()] == [
        order.first_row + 1 for order in plain_orders.values()
    ]
    assert "" not in orders and len(orders) == 20


# The CSV copy of a sheet's rows ------------------------------------------------------------------------

TRICKY_STRINGS = [
    "<si><t>Order ID</t></si>",
    "<si><t>Buyer Message</t></si>",
    "<si><r><rPr><b/></rPr><t>Zip </t></r><r><t>Hoodie</t></r></si>",
    '<si><t>line one_x000D_\nline two, "quoted"; =SUM(A1)</t></si>',
    "<si><t>nul _x0000_ and tab _x0009_ inside</t></si>",
]
TRICKY_SHEET = (
    '<dimension ref="A1:D9"/><sheetData>'
    '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c>'
    '<c r="C1" t="s"><v>1</v></c><c r="D1" t="s"><v>1</v></c></row>'
    '<row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2" t="s"><v>3</v></c></row>'
    f'<row r="3">{inline("A3", "+44 20")}{inline("D3", "-5")}</row>'
    '<row r="4"><c r="A4"/><c r="B4" s="0"/></row>'  # a blank row
    '<row r="6"><c r="A6" s="2"><v>46089.3849768519</v></c><c r="B6" t="s"><v>4</v></c>'  # row 5 missing
    '<c r="C6"><v>576512345678901001</v></c><c r="D6" t="b"><v>1</v></c></row>'
    f'<row r="9">{inline("A9", "@last")}{inline("B9", "")}{inline("C9", "caf\u00e9 \u6771\u4eac")}</row>'
    "</sheetData>"
)


def copied(data: bytes) -> tuple[reading.Table, bytes]:
    """The table of an XLSX read once to the end with a copy of its rows, and that copy."""
    copy = io.BytesIO()
    table = reading.open_table(io.BytesIO(data), filename="orders.xlsx", rows_copy=copy)
    assert table.kind == reading.XLSX
    for _row in table.rows():
        pass
    return table, copy.getvalue()


def test_the_copy_of_a_sheets_rows_reads_back_as_the_same_texts_with_the_same_numbers():
    data = xlsx_package({"Sheet1": TRICKY_SHEET}, shared_strings=TRICKY_STRINGS, styles=DATE_STYLES)
    table, copy = copied(data)

    assert table.rows_copied
    assert copy.startswith(b"\xef\xbb\xbf")  # UTF-8 with a byte order mark
    again = reading.open_rows_copy(io.BytesIO(copy))
    assert again.kind == reading.CSV
    assert again.header == table.header == ["Order ID", "Buyer Message", "Buyer Message", "Buyer Message"]
    assert (
        list(again.rows())
        == rows_of(data)[1]
        == [
            (2, ["Zip Hoodie", 'line one\r\nline two, "quoted"; =SUM(A1)']),
            (
                3,
                ["+44 20", "", "", "-5"],
            ),  # written as they are: the copy is read by the import, not a person
            (6, ["2026-03-08 09:14:22", "nul \x00 and tab \t inside", "576512345678901001", "TRUE"]),
            (9, ["@last", "", "caf\u00e9 \u6771\u4eac"]),
        ]
    )


def test_a_pass_stopped_early_leaves_no_copy_and_the_next_whole_pass_makes_it():
    data = xlsx_package({"Sheet1": TRICKY_SHEET}, shared_strings=TRICKY_STRINGS, styles=DATE_STYLES)
    copy = io.BytesIO()
    table = reading.open_table(io.BytesIO(data), filename="orders.xlsx", rows_copy=copy)
    rows = table.rows()
    next(rows)
    rows.close()  # as the survey does once a date has decided the file's date order
    assert not table.rows_copied

    whole = list(table.rows())

    assert table.rows_copied
    assert list(reading.open_rows_copy(io.BytesIO(copy.getvalue())).rows()) == whole
    assert copy.getvalue() == copied(data)[1]  # the stopped pass left nothing behind
    list(table.rows())  # later passes read the sheet without writing it again
    assert copy.getvalue() == copied(data)[1]


def test_a_csv_file_is_never_copied():
    copy = io.BytesIO()
    table = reading.open_table(io.BytesIO(b"Order ID,Quantity\n1,2\n"), filename="orders.csv", rows_copy=copy)
    assert list(table.rows()) == [(2, ["1", "2"])]
    assert not table.rows_copied and copy.getvalue() == b""


def test_a_damaged_sheet_leaves_no_whole_copy():
    data = xlsx_package(
        {"Sheet1": f'<sheetData><row r="1">{inline("A1", "Order ID")}</row><row r="2"><c r="A2"><v>1</v>'}
    )
    copy = io.BytesIO()
    table = reading.open_table(io.BytesIO(data), filename="orders.xlsx", rows_copy=copy)
    with pytest.raises(UnreadableFile):
        list(table.rows())
    assert not table.rows_copied


def test_the_orders_read_from_the_copy_are_the_orders_of_the_sheet():
    from orders.imports.parsing import parse, parse_rows_copy

    sample = io.BytesIO()
    write_tiktok_xlsx(sample, orders=150, seed=9)
    copy = io.BytesIO()
    parsed = parse(io.BytesIO(sample.getvalue()), filename="To Ship order.xlsx", zone=UTC, rows_copy=copy)
    from_sheet = list(parsed.orders)
    assert parsed.rows_copied

    again = parse_rows_copy(io.BytesIO(copy.getvalue()), format="tiktok", zone=UTC)
    from_copy = list(again.orders)

    assert len(from_copy) == 150
    assert from_copy == from_sheet
    assert again.rows_total == parsed.rows_total


# Memory -----------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_100000_row_xlsx_is_parsed_in_flat_memory(tmp_path):
    path = tmp_path / "To Ship order.xlsx"
    summary = write_tiktok_xlsx(path, rows=100_000, seed=11)
    started = time.perf_counter()
    with open(path, "rb") as file:
        parsed = parse_all_from(file)
    elapsed = time.perf_counter() - started
    assert parsed == (100_000, summary.orders)
    print(
        f"\nXLSX: 100,000 rows, {summary.orders} orders, {path.stat().st_size / MEGABYTE:.0f} MB "
        f"parsed in {elapsed:.1f} s ({100_000 / elapsed:,.0f} rows/s)"
    )
    tracemalloc.start()
    try:
        with open(path, "rb") as file:
            parse_all_from(file)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    print(f"XLSX: peak traced memory {peak / MEGABYTE:.1f} MB")
    assert peak < 10 * MEGABYTE


def parse_all_from(file) -> tuple[int, int]:
    from orders.imports.parsing import parse

    parsed = parse(file, filename="To Ship order.xlsx", zone=UTC)
    return parsed.rows_total, sum(1 for _order in parsed.orders)
