"""Benchmark the API's order list: median time and query count of the reads integrations make most.

Run against a seeded database (its own, not the one you work in), for example::

    createdb -h 127.0.0.1 -U postgres shipshape_bench
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/shipshape_bench
    .venv/bin/python manage.py migrate
    .venv/bin/python manage.py seed_demo --orders 1000000
    .venv/bin/python bench/api_orders.py --shop demo --repeat 30

Each case is requested ``--repeat`` times through Django's test client in this process (no HTTP server, so
the figures are the application's and the database's time, not the network's), after two warm-up requests.
It prints the median, the 90th percentile and the number of SQL queries. ``--rounds N`` measures every case
N times over, one round after the other, and keeps each case's best round (the lowest median): on a machine
shared with other work, the round least disturbed by it. Results go to docs/performance.md.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
os.environ.setdefault("API_RATE_LIMIT", "1000000/minute")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shop", default="demo", help="slug of the shop to read (default: demo)")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--limit", type=int, default=25, help="page size")
    parser.add_argument("--deep-page", type=int, default=100, help="the page reached by following cursors")
    parser.add_argument("--rounds", type=int, default=1, help="measure each case this often, keep the best")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from orders.models import Order
    from shipping.models import Shipment
    from shop.models import ApiKey, Shop

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    shop = Shop.objects.get(slug=args.shop)
    api_key, raw_key = ApiKey.issue(shop=shop, name="bench")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    total = Order.objects.filter(shop=shop).count()
    sample = Order.objects.filter(shop=shop).order_by("-placed_at", "-id")[total // 2 : total // 2 + 1].get()
    parcel = Shipment.objects.filter(shop=shop).exclude(tracking_number="").order_by("-id").first()
    print(f"{connection.vendor} {connection.settings_dict['NAME']}: shop {shop.slug} holds {total} orders")
    print(f"load average at the start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")

    base = f"/api/v1/orders/?limit={args.limit}"
    cursor = None
    for _ in range(args.deep_page - 1):
        page = client.get(base + (f"&cursor={cursor}" if cursor else "")).json()
        cursor = page["next_cursor"]
        if cursor is None:
            break
    cases = {
        "first page": base,
        "status filter (processed)": f"{base}&status=processed",
        # The heaviest page: every order with parcels, scans and a long timeline, some with returns.
        "status filter (delivered)": f"{base}&status=delivered",
        "exact order number": f"{base}&q={sample.number}",
        "exact email": f"{base}&q={sample.email}",
        "exact tracking number": f"{base}&q={parcel.tracking_number}" if parcel else None,
        "name (recipient)": f"{base}&q={quote(sample.ship_name)}",
        "name, no match": f"{base}&q=Zebedee",
        f"page {args.deep_page} by cursor": f"{base}&cursor={cursor}" if cursor else None,
        "order detail": f"/api/v1/orders/{sample.number}/",
    }
    cases = {name: url for name, url in cases.items() if url is not None}

    def measure(url: str) -> tuple[list[float], int, int]:
        for _ in range(2):
            client.get(url)
        timings = []
        for _ in range(args.repeat):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get(url)
                timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.content[:300]
        body = response.json()
        return timings, len(queries), len(body["results"]) if "results" in body else 1

    best: dict[str, tuple[list[float], int, int]] = {}
    for _ in range(args.rounds):
        for name, url in cases.items():
            measured = measure(url)
            if name not in best or statistics.median(measured[0]) < statistics.median(best[name][0]):
                best[name] = measured
    rounds = f" (best of {args.rounds} rounds)" if args.rounds > 1 else ""
    print(f"{'case':<28} {'median ms':>10} {'p90 ms':>8} {'queries':>8} {'rows':>5}{rounds}")
    for name, (timings, queries, rows) in best.items():
        p90 = statistics.quantiles(timings, n=10)[-1]
        print(f"{name:<28} {statistics.median(timings):>10.1f} {p90:>8.1f} {queries:>8} {rows:>5}")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    api_key.delete()


if __name__ == "__main__":
    main()
