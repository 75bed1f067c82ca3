"""Benchmark the demo order generator (``shop.demo_data``) on a fresh shop.

Run as ``DATABASE_URL=... .venv/bin/python bench/seed_orders.py --orders 100000``.

Creates a fresh shop (slug ``bench-<time>``) in the database DATABASE_URL points to, writes the orders with
``shop.demo_data.generate_orders`` (COPY on PostgreSQL, bulk_create elsewhere) and prints the time taken,
orders per second and rows per second. Use a database of its own, for example::

    createdb -h 127.0.0.1 -U postgres shipshape_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/shipshape_bench .venv/bin/python manage.py migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/shipshape_bench .venv/bin/python bench/seed_orders.py
"""

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--no-copy", action="store_true", help="use bulk_create even on PostgreSQL")
    parser.add_argument("--no-notifications", action="store_true", help="skip the sent-email rows and events")
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection

    from shipping.carriers import DEFAULT_CARRIERS
    from shipping.models import Carrier
    from shop.demo_data import generate_orders
    from shop.models import Shop

    for data in DEFAULT_CARRIERS:
        Carrier.objects.get_or_create(code=data["code"], defaults=data)
    slug = f"bench-{int(time.time())}"
    shop = Shop.objects.create(name=f"Benchmark {slug}", slug=slug, contact_email=f"hello@{slug}.example")
    use_copy = connection.vendor == "postgresql" and not args.no_copy
    print(
        f"database: {connection.vendor} {connection.settings_dict['NAME']}; shop {slug}; "
        f"{'COPY' if use_copy else 'bulk_create'}; batch {args.batch_size}"
    )

    started = time.perf_counter()
    cpu_started = time.process_time()

    def progress(done: int) -> None:
        elapsed = time.perf_counter() - started
        print(f"  {done:>9} orders  {elapsed:7.1f} s  {done / elapsed:8.0f} orders/s", flush=True)

    result = generate_orders(
        shop,
        args.orders,
        use_copy=use_copy,
        batch_size=args.batch_size,
        notifications=not args.no_notifications,
        progress=progress,
    )
    for label, count in sorted(result.rows.items()):
        print(f"  {label:<28} {count:>10}")
    print(
        f"{result.orders} orders, {result.total_rows} rows in {result.seconds:.1f} s: "
        f"{result.orders / result.seconds:.0f} orders/s, {result.total_rows / result.seconds:.0f} rows/s"
    )
    cpu = time.process_time() - cpu_started
    print(f"CPU time of this process (building rows; the database works in parallel): {cpu:.1f} s")
    print(
        f"load average now: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (other work slows the figures)"
    )
    print(f"extrapolated to 1,000,000 orders: {1_000_000 / (result.orders / result.seconds) / 60:.1f} min")


if __name__ == "__main__":
    main()
