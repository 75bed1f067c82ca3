"""Shopify's orders export read into records: grouping, money, dates, addresses, statuses and problems."""

import random
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from orders.imports.records import ERROR, WARNING
from orders.imports.statuses import builtin_status
from orders.states import OrderStatus
from tests.imports.export_files import (
    SHOPIFY_EXPORT,
    SHOPIFY_OLDER_EXPORT,
    csv_rows,
    parse_all,
    write_csv,
)

EST = timezone(timedelta(hours=-5))


@pytest.fixture(scope="module")
def export():
    return parse_all(SHOPIFY_EXPORT.read_bytes(), filename="orders_export_1.csv")


def test_the_export_is_recognised_and_its_rows_counted(export):
    parsed, orders = export
    assert parsed.format == "shopify"
    assert parsed.rows_total == 11
    assert list(orders) == ["#1001", "#1002", "#1003", "#1004", "#1005", "#1006", "#1007", "#1008"]
    assert len(csv_rows(SHOPIFY_EXPORT)[0]) == 79
    assert parsed.notices == []


def test_a_multi_line_order_takes_its_follow_on_rows_and_the_first_rows_order_fields(export):
    order = export[1]["#1001"]
    assert (order.source, order.first_row, order.last_row) == ("shopify", 2, 3)
    assert [(line.sku, line.name, line.quantity, line.unit_price) for line in order.lines] == [
        ("TEE-ORG-BLACK", "Organic Cotton Tee - Black / M", 2, Decimal("24.00")),
        ("MUG-12-SPECKLED", "Stoneware Mug 12oz - Speckled", 1, Decimal("18.50")),
    ]
    assert order.email == "avery.stroud@example.com"
    assert order.buyer_name == "Avery Stroud"
    assert (order.currency, order.subtotal, order.discount, order.coupon_code) == (
        "USD",
        Decimal("59.15"),
        Decimal("7.35"),
        "SPRING10",
    )
    assert (order.shipping_price, order.tax, order.total) == (
        Decimal("4.99"),
        Decimal("4.73"),
        Decimal("68.87"),
    )
    assert order.payment_status_text == "paid"
    assert order.payment_method == "Shopify Payments"
    assert order.problems == []


def test_dates_keep_their_offset(export):
    order = export[1]["#1001"]
    assert order.placed_at == datetime(2026, 3, 2, 10, 15, 21, tzinfo=EST)
    assert order.placed_at.utcoffset() == timedelta(hours=-5)
    assert order.paid_at == datetime(2026, 3, 2, 10, 15, 25, tzinfo=EST)
    assert order.shipped_at == datetime(2026, 3, 3, 9, 0, tzinfo=EST)
    assert order.delivered_at is None


def test_the_apostrophe_before_a_zip_is_dropped_and_the_address_is_complete(export):
    assert export[1]["#1001"].address == {
        "name": "Avery Stroud",
        "line1": "12 Alder St",
        "line2": "Apt 4",
        "city": "Cambridge",
        "region": "MA",
        "postal_code": "02139",
        "country": "US",
        "phone": "+16175550123",
    }
    assert export[1]["#1002"].address["postal_code"] == "90503"
    assert export[1]["#1008"].address["postal_code"] == "K1A 0B1"


def test_a_quoted_note_keeps_its_line_breaks(export):
    assert export[1]["#1001"].note == "Please knock twice.\nThe bell is broken,\nthanks!"


@pytest.mark.parametrize(
    ("name", "status_text", "status"),
    [
        ("#1001", "fulfilled", OrderStatus.SHIPPED),
        ("#1002", "unfulfilled", OrderStatus.PENDING),
        ("#1003", "cancelled", OrderStatus.CANCELLED),
        ("#1004", "fulfilled", OrderStatus.SHIPPED),
        ("#1005", "partial", OrderStatus.PROCESSED),
        ("#1007", "unfulfilled, refunded", OrderStatus.CANCELLED),
        ("#1008", "fulfilled", OrderStatus.SHIPPED),
    ],
)
def test_the_status_text_is_built_from_the_columns(export, name, status_text, status):
    order = export[1][name]
    assert order.status_text == status_text
    assert builtin_status("shopify", order.status_text) == status


def test_a_cancelled_order_has_its_cancellation_time(export):
    order = export[1]["#1003"]
    assert order.cancelled_at == datetime(2026, 3, 2, 14, 0, tzinfo=EST)
    assert order.payment_status_text == "voided"
    assert order.problems == []


def test_an_order_synced_from_tiktok_knows_its_tiktok_id(export):
    order = export[1]["#1004"]
    assert order.also_known_as == [("tiktok", "576123456789012345")]
    assert order.address["country"] == "US"  # written "United States" in the file
    assert export[1]["#1001"].also_known_as == []


def test_totals_that_do_not_add_up_are_a_warning(export):
    order = export[1]["#1005"]
    assert not order.is_rejected
    assert [(p.level, p.row, p.column) for p in order.problems] == [(WARNING, 7, "Total")]
    assert "50.00" in order.problems[0].message


def test_a_broken_row_rejects_its_order_with_the_row_and_column_and_the_file_goes_on(export):
    order = export[1]["#1006"]
    assert order.is_rejected
    assert [(p.level, p.row, p.column) for p in order.problems] == [(ERROR, 10, "Lineitem quantity")]
    assert "“two”" in order.problems[0].message
    assert not export[1]["#1007"].is_rejected


def test_missing_email_and_address_are_warnings(export):
    order = export[1]["#1007"]
    assert not order.is_rejected
    assert {p.column for p in order.problems} == {"Email", "Shipping Address1"}
    assert all(p.level == WARNING for p in order.problems)
    assert order.lines[0].sku == ""
    assert order.refunded_total == Decimal("25.00")


def test_other_currencies_and_partial_refunds(export):
    order = export[1]["#1008"]
    assert (order.currency, order.total, order.refunded_total) == ("CAD", Decimal("89.97"), Decimal("23.00"))
    assert order.payment_status_text == "partially_refunded"
    assert order.address["country"] == "CA"


def test_an_older_shorter_export_reads_the_same(export):
    parsed, orders = parse_all(SHOPIFY_OLDER_EXPORT.read_bytes())
    assert len(csv_rows(SHOPIFY_OLDER_EXPORT)[0]) == 71
    assert parsed.format == "shopify"
    assert orders["#1001"] == export[1]["#1001"]
    assert orders["#1002"] == export[1]["#1002"]


@pytest.mark.parametrize(
    ("line_ending", "encoding"),
    [("\r\n", "utf-8"), ("\r\n", "utf-8-sig"), ("\n", "utf-8-sig"), ("\r", "utf-8"), ("\n", "utf-16")],
)
def test_any_line_ending_and_byte_order_mark(export, line_ending, encoding):
    data = write_csv(csv_rows(SHOPIFY_EXPORT), line_ending=line_ending, encoding=encoding)
    parsed, orders = parse_all(data)
    assert parsed.rows_total == 11
    assert orders == export[1]


def test_columns_are_found_by_name_in_any_order_with_extra_columns_and_spaces(export):
    rows = csv_rows(SHOPIFY_EXPORT)
    order = list(range(len(rows[0])))
    random.Random(8).shuffle(order)
    header = [f"  {rows[0][i]} " for i in order] + ["Something New"]
    shuffled = [header] + [[row[i] for i in order] + ["x"] for row in rows[1:]]
    parsed, orders = parse_all(write_csv(shuffled))
    assert parsed.format == "shopify"
    assert orders == export[1]


def test_a_row_without_a_name_is_rejected_on_its_own():
    rows = csv_rows(SHOPIFY_OLDER_EXPORT)
    rows[3][rows[0].index("Name")] = ""
    _parsed, orders = parse_all(write_csv(rows))
    orphan = orders[""]
    assert orphan.is_rejected
    assert [(p.row, p.column) for p in orphan.problems] == [(4, "Name")]
    assert [line.sku for line in orders["#1001"].lines] == ["TEE-ORG-BLACK", "MUG-12-SPECKLED"]
