"""A big export is parsed row by row: memory stays flat whatever the file's size (not a timed test: the
rate is printed for docs/performance.md, never asserted)."""

import time
import tracemalloc
from zoneinfo import ZoneInfo

import pytest

from orders.imports.parsing import parse
from orders.imports.samples import write_shopify_csv, write_tiktok_csv, write_tiktok_xlsx

UTC = ZoneInfo("UTC")
MEGABYTE = 1024 * 1024


def _parse_everything(path) -> tuple[int, int]:
    with open(path, "rb") as file:
        parsed = parse(file, filename=path.name, zone=UTC)
        orders = sum(1 for _order in parsed.orders)
    return parsed.rows_total, orders


def _peak_while_parsing(path) -> int:
    tracemalloc.start()
    try:
        _parse_everything(path)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("writer", "filename"), [(write_shopify_csv, "orders_export_1.csv"), (write_tiktok_csv, "All order.csv")]
)
def test_a_100000_row_csv_is_parsed_in_flat_memory(tmp_path, writer, filename):
    path = tmp_path / filename
    summary = writer(path, rows=100_000, seed=11)
    started = time.perf_counter()
    rows, orders = _parse_everything(path)
    elapsed = time.perf_counter() - started
    assert (rows, orders) == (100_000, summary.orders)
    print(
        f"\n{filename}: {rows} rows, {orders} orders, {path.stat().st_size / MEGABYTE:.0f} MB "
        f"parsed in {elapsed:.1f} s ({rows / elapsed:,.0f} rows/s)"
    )
    peak = _peak_while_parsing(path)
    print(f"{filename}: peak traced memory {peak / MEGABYTE:.1f} MB")
    assert peak < 30 * MEGABYTE


@pytest.mark.slow
def test_an_xlsx_is_read_in_flat_memory(tmp_path):
    small, big = tmp_path / "small.xlsx", tmp_path / "big.xlsx"
    write_tiktok_xlsx(small, rows=200, seed=11)
    write_tiktok_xlsx(big, rows=2_000, seed=11)
    started = time.perf_counter()
    rows, _orders = _parse_everything(big)
    elapsed = time.perf_counter() - started
    print(f"\nXLSX: {rows} rows parsed in {elapsed:.1f} s ({rows / elapsed:,.0f} rows/s)")
    small_peak, big_peak = _peak_while_parsing(small), _peak_while_parsing(big)
    print(
        f"XLSX: peak traced memory {small_peak / MEGABYTE:.1f} MB (200 rows), "
        f"{big_peak / MEGABYTE:.1f} MB (2,000)"
    )
    assert big_peak < small_peak + 2 * MEGABYTE  # ten times the rows, about the same memory
