"""Benchmark of the order importer (issue 8): a 100,000-row file previewed and applied on PostgreSQL.

Writes synthetic exports with ``orders.imports.samples`` into a temporary directory (a TikTok Shop XLSX, a
TikTok Shop CSV and a Shopify CSV, ``--rows`` line rows each), then for each: keeps it as an upload, previews
it, applies it (in this process, as the Celery task does), and applies the same file again (everything
unchanged). Prints the seconds, orders per second and the process's peak memory (resident set size) after
each step.

Run (a scratch database of its own; the script creates it if needed and migrates it)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/shipshape_bench_imports \\
        .venv/bin/python bench/imports.py --rows 100000
    # one platform only, smaller:
        .venv/bin/python bench/imports.py --rows 20000 --formats tiktok
"""

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/shipshape_bench_imports")


def create_database() -> None:
    """Create the scratch database named in DATABASE_URL if it does not exist yet."""
    from urllib.parse import urlparse

    import psycopg

    url = urlparse(os.environ["DATABASE_URL"])
    name = url.path.lstrip("/")
    admin = url._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')


def setup_django():
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def peak_memory_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def new_shop(label: str):
    from shop.models import Shop

    slug = f"{label}-{int(time.time() * 1000)}"
    return Shop.objects.create(name=slug, slug=slug, contact_email=f"hello@{slug}.example")


def timed(label: str, step, orders_of):
    started = time.perf_counter()
    result = step()
    seconds = time.perf_counter() - started
    orders = orders_of(result)
    print(
        f"  {label:<22} {seconds:7.1f} s  {orders / seconds:8.0f} orders/s  "
        f"peak memory {peak_memory_mb():6.0f} MB",
        flush=True,
    )
    return result, seconds


def bench_file(path: Path, label: str) -> dict:
    from orders.imports import applying

    shop = new_shop(label)
    with open(path, "rb") as upload:
        order_import = applying.receive_file(shop, upload, name=path.name, size=path.stat().st_size)

    def orders(i):
        return i.orders_new + i.orders_updated + i.orders_unchanged + i.orders_rejected

    order_import, preview_s = timed("preview", lambda: applying.preview(order_import), orders)
    print(
        f"  {order_import.rows_total} rows, {orders(order_import)} orders: {order_import.orders_new} new, "
        f"{order_import.orders_rejected} rejected"
    )
    order_import, apply_s = timed("apply", lambda: applying.apply(order_import), orders)
    print(
        f"  applied: {order_import.orders_new} created, {order_import.orders_rejected} rejected, "
        f"state {order_import.state} {order_import.error}"
    )
    with open(path, "rb") as upload:
        again = applying.receive_file(shop, upload, name=path.name, size=path.stat().st_size)
    again, again_s = timed("same file again", lambda: applying.apply(applying.preview(again)), orders)
    print(
        f"  again: {again.orders_unchanged} unchanged, {again.orders_new} new, {again.orders_updated} updated"
    )
    return {"preview": preview_s, "apply": apply_s, "again": again_s, "orders": orders(order_import)}


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--formats", default="tiktok-xlsx,tiktok,shopify", help="any of tiktok-xlsx, tiktok, shopify"
    )
    args = parser.parse_args()
    create_database()
    setup_django()
    from django.conf import settings

    from orders.imports import samples

    with tempfile.TemporaryDirectory() as directory:
        settings.MEDIA_ROOT = Path(directory) / "media"
        files = {
            "tiktok": ("All order.csv", samples.write_tiktok_csv),
            "tiktok-xlsx": ("To Ship order.xlsx", samples.write_tiktok_xlsx),
            "shopify": ("orders_export_1.csv", samples.write_shopify_csv),
        }
        for fmt in args.formats.split(","):
            name, writer = files[fmt]
            path = Path(directory) / name
            started = time.perf_counter()
            summary = writer(path, rows=args.rows, seed=8)
            print(
                f"{fmt}: {summary.rows} rows, {summary.orders} orders, "
                f"{path.stat().st_size / 1e6:.1f} MB (written in {time.perf_counter() - started:.1f} s)"
            )
            figures = bench_file(path, fmt)
            total = figures["preview"] + figures["apply"]
            print(f"  preview + apply: {total:.1f} s for {args.rows} rows\n", flush=True)


if __name__ == "__main__":
    main()
