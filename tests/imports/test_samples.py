"""The synthetic exports the benchmark, the browser test and the demo data import."""

import io
import random

import pytest

from orders.imports.samples import (
    sample_orders,
    ups_check_digit,
    ups_tracking_number,
    write_shopify_csv,
    write_tiktok_csv,
    write_tiktok_xlsx,
)
from orders.imports.statuses import builtin_status
from orders.states import OrderStatus
from tests.imports.export_files import parse_bytes

WRITERS = [
    (write_shopify_csv, "orders_export_1.csv", "shopify"),
    (write_tiktok_csv, "All order.csv", "tiktok"),
    (write_tiktok_xlsx, "To Ship order.xlsx", "tiktok"),
]


def _written(writer, **options) -> bytes:
    out = io.BytesIO()
    writer(out, **options)
    return out.getvalue()


def test_ups_check_digit_of_the_published_example():
    assert ups_check_digit("999AA1012345678") == 4  # 1Z999AA10123456784


def test_ups_tracking_numbers_have_their_check_digit():
    rng = random.Random(4)
    for _ in range(20):
        number = ups_tracking_number(rng)
        assert len(number) == 18 and number.startswith("1Z")
        assert int(number[-1]) == ups_check_digit(number[2:-1])


@pytest.mark.parametrize(("writer", "filename", "format"), WRITERS)
def test_the_same_seed_writes_the_same_file(writer, filename, format):
    if filename.endswith(".xlsx"):  # the zip carries a timestamp; compare what it reads as
        first = [
            o.external_id for o in parse_bytes(_written(writer, orders=30, seed=5), filename=filename).orders
        ]
        second = [
            o.external_id for o in parse_bytes(_written(writer, orders=30, seed=5), filename=filename).orders
        ]
        assert first == second
    else:
        assert _written(writer, orders=30, seed=5) == _written(writer, orders=30, seed=5)
        assert _written(writer, orders=30, seed=5) != _written(writer, orders=30, seed=6)


@pytest.mark.parametrize(("writer", "filename", "format"), WRITERS)
def test_samples_parse_cleanly_in_every_state(writer, filename, format):
    out = io.BytesIO()
    summary = writer(out, orders=300, seed=2)
    parsed = parse_bytes(out.getvalue(), filename=filename)
    orders = list(parsed.orders)
    assert parsed.format == format
    assert (parsed.rows_total, len(orders)) == (summary.rows, summary.orders) == (summary.rows, 300)
    assert [problem for order in orders for problem in order.problems] == []
    statuses = {builtin_status(format, order.status_text) for order in orders}
    expected = {OrderStatus.PENDING, OrderStatus.PROCESSED, OrderStatus.SHIPPED, OrderStatus.CANCELLED}
    if format == "tiktok":  # Shopify's export has no "delivered"
        expected.add(OrderStatus.DELIVERED)
    assert statuses == expected
    assert any(len(order.lines) > 1 for order in orders)
    shipped = [order for order in orders if builtin_status(format, order.status_text) == OrderStatus.SHIPPED]
    if format == "tiktok":
        assert all(order.parcels for order in shipped)
        assert any(line.returned_quantity for order in orders for line in order.lines)
    else:
        assert any(order.also_known_as for order in orders)


def test_rows_asks_for_an_exact_number_of_rows(tmp_path):
    path = tmp_path / "orders.csv"
    summary = write_shopify_csv(path, rows=250, seed=3)
    assert summary.rows == 250
    assert parse_bytes(path.read_bytes()).rows_total == 250
    assert sum(len(order.lines) for order in sample_orders(orders=0, rows=250, seed=3)) == 250


def test_writing_to_a_text_stream():
    out = io.StringIO()
    write_tiktok_csv(out, orders=3, seed=1, bom=False, description_row=False)
    assert out.getvalue().startswith("Order ID,Order Status")
