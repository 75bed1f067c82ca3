"""TikTok Shop's orders export (CSV and XLSX) read into records."""

import io
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from orders.imports import cells, reading, tiktok
from orders.imports.records import ERROR, WARNING, UnreadableFile
from orders.imports.statuses import builtin_status
from orders.states import OrderStatus
from tests.imports.export_files import (
    NEW_YORK,
    TIKTOK_ALL_ORDERS,
    TIKTOK_TO_SHIP_UK,
    csv_rows,
    parse_all,
    parse_bytes,
    write_csv,
    xlsx_from_csv,
)

LONDON = ZoneInfo("Europe/London")


@pytest.fixture(scope="module")
def export():
    return parse_all(TIKTOK_ALL_ORDERS.read_bytes(), filename="All order-2026-03-16-10_03.csv")


def test_the_export_is_recognised_and_the_description_row_is_not_counted(export):
    parsed, orders = export
    assert parsed.format == "tiktok"
    assert parsed.rows_total == 12
    assert list(orders) == [f"5765123456789010{n:02d}" for n in range(1, 8)] + ["", "576512345678901008"]


def test_the_trailing_tab_is_stripped_from_order_ids(export):
    assert "576512345678901001\t" in TIKTOK_ALL_ORDERS.read_text(encoding="utf-8-sig")
    order = export[1]["576512345678901001"]
    assert (order.source, order.first_row, order.last_row) == ("tiktok", 3, 4)


def test_order_level_money_repeated_on_every_row_is_taken_once(export):
    order = export[1]["576512345678901001"]
    assert [(line.sku, line.name, line.variant, line.quantity, line.unit_price) for line in order.lines] == [
        ("TEE-ORG-BLACK", "Organic Cotton Tee", "Black / M", 2, Decimal("24.00")),
        ("MUG-12-SPECKLED", "Stoneware Mug 12oz", "Speckled", 1, Decimal("18.50")),
    ]
    assert order.shipping_price == Decimal("4.99")
    assert order.tax == Decimal("4.79")
    assert order.total == Decimal("69.63")
    assert order.subtotal == Decimal("59.85")  # Σ SKU Subtotal After Discount
    assert order.discount == Decimal("6.65")  # Σ price × quantity − that
    assert order.problems == []


def test_us_dates_are_read_month_first_in_the_shops_zone(export):
    order = export[1]["576512345678901001"]
    assert order.placed_at == datetime(2026, 3, 8, 9, 14, 22, tzinfo=NEW_YORK)
    assert order.paid_at == datetime(2026, 3, 8, 9, 14, 40, tzinfo=NEW_YORK)
    assert order.shipped_at == datetime(2026, 3, 9, 16, 30, tzinfo=NEW_YORK)
    assert order.delivered_at == datetime(2026, 3, 12, 11, 2, 13, tzinfo=NEW_YORK)
    assert order.payment_status_text == "paid"


def test_one_parcel_per_distinct_tracking_id(export):
    delivered = export[1]["576512345678901001"]
    assert [(p.tracking_number, p.carrier_name, p.shipped_at) for p in delivered.parcels] == [
        ("1Z9X4F2W0312345677", "UPS", delivered.shipped_at)
    ]
    in_transit = export[1]["576512345678901002"]
    assert [p.tracking_number for p in in_transit.parcels] == ["1Z9X4F2W0312345686", "1Z9X4F2W0312345695"]


def test_address_buyer_and_messages(export):
    order = export[1]["576512345678901001"]
    assert order.address == {
        "name": "Harper Rowan",
        "line1": "12 Alder St",
        "line2": "Apt 4",
        "city": "Cambridge",
        "region": "Massachusetts",
        "postal_code": "02139",
        "country": "US",
        "phone": "(+1)617*****23",
    }
    assert order.buyer_name == "Harper Rowan"
    assert order.note == "Gift, please\nno invoice in the box"
    assert order.email == ""  # TikTok hides it; not a warning
    assert export[1]["576512345678901003"].address["postal_code"] == "78701"


@pytest.mark.parametrize(
    ("order_id", "status_text", "status"),
    [
        ("576512345678901001", "Completed", OrderStatus.DELIVERED),
        ("576512345678901002", "Shipped / In transit", OrderStatus.SHIPPED),
        ("576512345678901003", "To ship / Awaiting shipment", OrderStatus.PENDING),
        ("576512345678901004", "Cancelled", OrderStatus.CANCELLED),
        ("576512345678901005", "Completed", OrderStatus.DELIVERED),
        ("576512345678901008", "Unpaid", OrderStatus.PENDING),
    ],
)
def test_status_texts(export, order_id, status_text, status):
    order = export[1][order_id]
    assert order.status_text == status_text
    assert builtin_status("tiktok", order.status_text) == status


def test_an_unknown_status_is_passed_on_without_a_problem(export):
    order = export[1]["576512345678901006"]
    assert order.status_text == "Zugestellt"
    assert builtin_status("tiktok", order.status_text) is None
    assert order.problems == []


def test_a_cancelled_order(export):
    order = export[1]["576512345678901004"]
    assert order.cancelled_at == datetime(2026, 3, 12, 10, 30, tzinfo=NEW_YORK)
    assert order.cancel_reason == "No longer needed"
    assert order.refunded_total == Decimal("21.59")
    assert order.parcels == []
    assert order.problems == []  # its address is hidden, which is expected once cancelled


def test_returned_quantities(export):
    order = export[1]["576512345678901005"]
    assert [(line.quantity, line.returned_quantity) for line in order.lines] == [(2, 1)]
    assert order.refunded_total == Decimal("25.92")


def test_an_unpaid_order(export):
    order = export[1]["576512345678901008"]
    assert order.paid_at is None
    assert order.payment_status_text == ""


def test_a_broken_row_rejects_its_order_and_the_file_goes_on(export):
    order = export[1]["576512345678901007"]
    assert order.is_rejected
    assert [(p.level, p.row, p.column) for p in order.problems] == [(ERROR, 11, "Quantity")]
    assert "“x”" in order.problems[0].message
    assert (order.first_row, order.last_row) == (11, 12)
    orphan = export[1][""]
    assert orphan.is_rejected
    assert [(p.row, p.column) for p in orphan.problems] == [(13, "Order ID")]
    assert not export[1]["576512345678901008"].is_rejected


def test_totals_that_do_not_add_up_are_a_warning():
    rows = csv_rows(TIKTOK_ALL_ORDERS)
    amount = rows[0].index("Order Amount")
    for row in rows[2:4]:  # both rows of the first order repeat it
        row[amount] = "99.00"
    _parsed, orders = parse_all(write_csv(rows))
    order = orders["576512345678901001"]
    assert order.total == Decimal("99.00")
    assert [(p.level, p.column) for p in order.problems] == [(WARNING, "Order Amount")]


@pytest.fixture(scope="module")
def uk_xlsx():
    return parse_all(xlsx_from_csv(TIKTOK_TO_SHIP_UK), filename="To Ship order-2026-07-04.xlsx", zone=LONDON)


def test_an_xlsx_export_with_its_description_row(uk_xlsx):
    parsed, orders = uk_xlsx
    assert parsed.format == "tiktok"
    assert parsed.rows_total == 3
    assert list(orders) == ["577100000000002001", "577100000000002002"]
    assert (orders["577100000000002001"].first_row, orders["577100000000002001"].last_row) == (3, 4)


def test_day_first_dates_are_decided_for_the_whole_file(uk_xlsx):
    orders = uk_xlsx[1]
    assert orders["577100000000002001"].placed_at == datetime(2026, 6, 25, 13, 3, 57, tzinfo=LONDON)
    # 03/07 alone could be either; the file's 25/06 makes it the 3rd of July.
    assert orders["577100000000002002"].placed_at == datetime(2026, 7, 3, 9, 15, tzinfo=LONDON)


def test_regional_column_names(uk_xlsx):
    assert uk_xlsx[1]["577100000000002001"].address == {
        "name": "Quinn Stroud",
        "line1": "10 Downing Lane",
        "line2": "Flat 2",
        "city": "London",
        "region": "Greater London",
        "postal_code": "SW1A 1AA",
        "country": "GB",
        "phone": "(+44)7700*****1",
    }
    order = uk_xlsx[1]["577100000000002001"]
    assert builtin_status("tiktok", order.status_text) == OrderStatus.PROCESSED  # awaiting collection
    assert order.problems == []


def test_the_same_export_as_csv_and_as_xlsx_without_description_row_reads_the_same():
    _parsed, from_csv = parse_all(TIKTOK_TO_SHIP_UK.read_bytes(), zone=LONDON)
    data = xlsx_from_csv(TIKTOK_TO_SHIP_UK, description_row=False, sheet="Sheet1")
    parsed, from_xlsx = parse_all(data, filename="orders.xlsx", zone=LONDON)
    assert parsed.rows_total == 3
    assert from_xlsx["577100000000002001"].first_row == 2
    assert from_csv == from_xlsx


@pytest.mark.parametrize(
    ("dates", "order"),
    [
        (["08/03/2026 9:14:22 AM"], cells.MONTH_FIRST),
        (["03/04/2026 10:00:00", "25/06/2026 13:03:57"], cells.DAY_FIRST),
        (["03/04/2026 10:00:00", "06/25/2026 13:03:57"], cells.MONTH_FIRST),
        (["03/04/2026 10:00:00"], cells.DAY_FIRST),  # could be either: a 24-hour clock is not the US format
    ],
)
def test_the_date_order_rule(dates, order):
    rows = csv_rows(TIKTOK_TO_SHIP_UK)[:2]
    created = rows[0].index("Created Time")
    for column in ("Paid Time", "RTS Time"):
        rows[1][rows[0].index(column)] = ""
    rows[1][created] = dates[0]
    for extra in dates[1:]:
        rows.append(list(rows[1]))
        rows[-1][created] = extra
    table = reading.open_table(io.BytesIO(write_csv(rows)))
    assert tiktok.survey(table, tiktok.columns(table.header)).date_order == order


def test_a_missing_required_column_is_named():
    rows = csv_rows(TIKTOK_TO_SHIP_UK)
    quantity = rows[0].index("Quantity")
    rows = [row[:quantity] + row[quantity + 1 :] for row in rows]
    with pytest.raises(UnreadableFile) as error:
        parse_bytes(write_csv(rows))
    assert "“Quantity”" in error.value.message
