"""Reading one cell: money, quantities, dates and countries."""

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from orders.imports.cells import (
    DAY_FIRST,
    MONTH_FIRST,
    BadValue,
    country_code,
    parse_count,
    parse_iso_time,
    parse_local_time,
    parse_money,
)

ZONE = ZoneInfo("America/Los_Angeles")


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("1400.00", Decimal("1400.00")),
        ("12", Decimal("12.00")),
        ("$1,234.50", Decimal("1234.50")),
        ("USD 12.99", Decimal("12.99")),
        ("1.234,56 €", Decimal("1234.56")),
        ("12,5", Decimal("12.50")),
        ("(5.00)", Decimal("-5.00")),
        ("-3.5", Decimal("-3.50")),
        ("£12", Decimal("12.00")),
        ("", None),
    ],
)
def test_money(text, amount):
    assert parse_money(text) == amount


@pytest.mark.parametrize("text", ["abc", "1,2,3", "12..5", "N/A"])
def test_not_money(text):
    with pytest.raises(BadValue):
        parse_money(text)


@pytest.mark.parametrize(("text", "count"), [("2", 2), ("2.0", 2), (" 3 ", 3), ("", None)])
def test_counts(text, count):
    assert parse_count(text) == count


@pytest.mark.parametrize("text", ["two", "1.5", "1e3"])
def test_not_counts(text):
    with pytest.raises(BadValue):
        parse_count(text)


@pytest.mark.parametrize(
    ("text", "order", "moment"),
    [
        ("08/03/2026 9:14:22 AM", MONTH_FIRST, datetime(2026, 8, 3, 9, 14, 22)),
        ("08/03/2026 12:05:00 AM", MONTH_FIRST, datetime(2026, 8, 3, 0, 5)),
        ("08/03/2026 12:05:00 PM", MONTH_FIRST, datetime(2026, 8, 3, 12, 5)),
        ("08/03/2026 9:14:22 PM", MONTH_FIRST, datetime(2026, 8, 3, 21, 14, 22)),
        ("25/06/2026 13:03:57", DAY_FIRST, datetime(2026, 6, 25, 13, 3, 57)),
        ("08/03/2026 13:03", DAY_FIRST, datetime(2026, 3, 8, 13, 3)),
        ("25.06.2026 13:03:57", DAY_FIRST, datetime(2026, 6, 25, 13, 3, 57)),
        ("2026-06-25 13:03:57", DAY_FIRST, datetime(2026, 6, 25, 13, 3, 57)),  # a spreadsheet's date cell
    ],
)
def test_local_times_are_read_in_the_zone(text, order, moment):
    assert parse_local_time(text, zone=ZONE, date_order=order) == moment.replace(tzinfo=ZONE)


@pytest.mark.parametrize("text", ["25/06/2026 13:03:57 PM", "31/02/2026 10:00:00", "yesterday"])
def test_bad_local_times(text):
    with pytest.raises(BadValue):
        parse_local_time(text, zone=ZONE, date_order=MONTH_FIRST)


def test_shopify_times_keep_their_offset():
    assert parse_iso_time("2021-05-13 15:15:21 +0200", zone=ZONE) == datetime(
        2021, 5, 13, 15, 15, 21, tzinfo=timezone(timedelta(hours=2))
    )
    assert parse_iso_time("2021-05-13T15:15:21-04:00", zone=ZONE).utcoffset() == timedelta(hours=-4)
    assert parse_iso_time("2021-05-13 15:15:21", zone=ZONE).tzinfo is ZONE
    assert parse_iso_time("", zone=ZONE) is None


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("United States", "US"),
        ("united  states", "US"),
        ("USA", "US"),
        ("United Kingdom", "GB"),
        ("UK", "GB"),
        ("Germany", "DE"),
        ("Indonesia", "ID"),
        ("Vietnam", "VN"),
        ("us", "US"),
        ("Atlantis", None),
        ("", None),
    ],
)
def test_country_codes(text, code):
    assert country_code(text) == code
