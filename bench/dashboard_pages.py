"""Benchmark the dashboard's pages server side: the order list (first page, tabs, searches, a deep page), the
home page, and the CSV export of 100,000 orders (time and peak memory).

Run against a seeded database (its own, not the one you work in), for example::

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/shipshape_bench_1m
    .venv/bin/python bench/dashboard_pages.py --shop bench-1795644265 --repeat 40

Each page is requested ``--repeat`` times through Django's test client in this process (no HTTP server: the
figures are the application's and the database's time, not the network's) after two warm-up requests, signed
in as a member of the shop (``bench-dashboard@example.com``, created as the shop's owner if missing). It
prints the median and 95th percentile render time, the number of SQL queries and the median time spent in
SQL. The export is streamed to nowhere; its peak Python memory is traced with ``tracemalloc`` at two sizes
to show it does not grow with the number of orders. Results go to docs/performance.md.
"""

import argparse
import os
import resource
import statistics
import sys
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shop", required=True, help="slug of the shop to read")
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--deep-page", type=int, default=50, help="the page reached by following 'Next'")
    parser.add_argument("--export", type=int, default=100_000, help="orders in the export (0 skips it)")
    parser.add_argument("--only", default="", help="run only the cases whose name contains this")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import NoReverseMatch, reverse
    from django.utils import timezone

    from orders.models import Coupon, Order
    from shipping.models import Shipment
    from shop.models import Membership, Role, Shop, User

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    shop = Shop.objects.get(slug=args.shop)
    user, _created = User.objects.get_or_create(
        email="bench-dashboard@example.com", defaults={"full_name": "Bench Seller"}
    )
    Membership.objects.get_or_create(user=user, shop=shop, defaults={"role": Role.OWNER})
    client = Client()
    client.force_login(user)
    session = client.session
    session["dashboard_shop_id"] = shop.pk
    session.save()

    total = Order.objects.filter(shop=shop).count()
    everything = Order.objects.count()
    middle = Order.objects.filter(shop=shop).order_by("-placed_at", "-id")[total // 2 : total // 2 + 1].get()
    parcel = Shipment.objects.filter(shop=shop).exclude(tracking_number="").order_by("-id").first()
    sku = middle.lines.values_list("sku", flat=True).first()
    carrier = parcel.carrier.code if parcel else ""
    coupon = Coupon.objects.filter(shop=shop).values_list("code", flat=True).first() or ""
    week_ago = (timezone.localdate() - timedelta(days=7)).isoformat()
    print(
        f"{connection.vendor} {connection.settings_dict['NAME']}: {everything:,} orders, "
        f"shop {shop.slug} holds {total:,}"
    )

    orders_url = reverse("dashboard:orders")
    # Follow "Next" to a deep page, as a seller would (keyset cursors: no OFFSET).
    deep_url = orders_url
    for _ in range(args.deep_page - 1):
        response = client.get(deep_url)
        marker = b'rel="next" href="'
        start = response.content.find(marker)
        if start < 0:
            break
        end = response.content.find(b'"', start + len(marker))
        deep_url = response.content[start + len(marker) : end].decode().replace("&amp;", "&")

    cases = [
        ("orders: first page", orders_url),
        ("orders: tab to process", f"{orders_url}?status=pending"),
        ("orders: tab to ship", f"{orders_url}?status=processed"),
        ("orders: tab delivered", f"{orders_url}?status=delivered"),
        (f"orders: page {args.deep_page} (keyset)", deep_url),
        ("orders: search order number", f"{orders_url}?q={middle.number}"),
        ("orders: search 3 pasted numbers", f"{orders_url}?q={middle.number}+{middle.number[:-1]}1+x-1"),
        ("orders: search email", f"{orders_url}?q={middle.email}"),
        ("orders: search tracking number", f"{orders_url}?q={parcel.tracking_number}" if parcel else ""),
        ("orders: search SKU", f"{orders_url}?q={sku}"),
        ("orders: search name", f"{orders_url}?q=smith"),
        ("orders: search name, no match", f"{orders_url}?q=Zyxwvut"),
        ("orders: search unknown SKU", f"{orders_url}?q=NOPE-123"),
        ("orders: late", f"{orders_url}?late=1"),
        ("orders: delayed in transit", f"{orders_url}?delayed=1"),
        ("orders: open return", f"{orders_url}?open_return=1"),
        ("orders: awaiting reply", f"{orders_url}?awaiting_reply=1"),
        ("orders: carrier", f"{orders_url}?carrier={carrier}" if carrier else ""),
        ("orders: coupon", f"{orders_url}?coupon={coupon}" if coupon else ""),
        ("orders: paid, last 7 days", f"{orders_url}?payment_status=paid&from={week_ago}"),
        ("orders: sort total high", f"{orders_url}?sort=total_high"),
    ]
    try:
        cases.append(("home", reverse("dashboard:home")))
    except NoReverseMatch:
        print("home: skipped, dashboard:home does not resolve yet")

    print(f"{'case':38} {'median':>9} {'p95':>9} {'queries':>8} {'SQL median':>11}")
    for name, url in cases:
        if not url or (args.only and args.only not in name):
            continue
        for _ in range(2):
            warm = client.get(url)
        if warm.status_code != 200:
            print(f"{name:38} HTTP {warm.status_code}: skipped")
            continue
        timings, sql_times, queries = [], [], 0
        for _ in range(args.repeat):
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                response = client.get(url)
                timings.append((time.perf_counter() - started) * 1000)
            queries = len(captured)
            sql_times.append(sum(float(q["time"]) for q in captured.captured_queries) * 1000)
            assert response.status_code == 200, (name, response.status_code)
        print(
            f"{name:38} {statistics.median(timings):7.1f}ms {percentile(timings, 0.95):7.1f}ms "
            f"{queries:8d} {statistics.median(sql_times):9.1f}ms"
        )

    if args.export:
        export(client, shop, args.export)


def export(client, shop, size: int) -> None:
    """Stream an export of about ``size`` orders (a date range) and a tenth of it; compare peak memory."""
    from django.urls import reverse

    from orders.models import Order

    def since_for(n: int) -> str:
        boundary = Order.objects.filter(shop=shop).order_by("-placed_at", "-id")[n - 1 : n].get()
        return boundary.placed_at.date().isoformat()

    def run(n: int, *, traced: bool) -> tuple[int, int, float, int]:
        url = f"{reverse('dashboard:orders_export')}?from={since_for(n)}&confirmed=1"
        if traced:
            tracemalloc.start()
        started = time.perf_counter()
        response = client.get(url)
        rows = size_bytes = 0
        for chunk in response.streaming_content:
            size_bytes += len(chunk)
            rows += chunk.count(b"\n")
        elapsed = time.perf_counter() - started
        peak = 0
        if traced:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        return rows - 1, size_bytes, elapsed, peak

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rows, size_bytes, elapsed, _peak = run(size, traced=False)
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"export: {rows:,} orders, {size_bytes / 1e6:.1f} MB of CSV in {elapsed:.1f} s "
        f"({rows / elapsed:,.0f} orders/s); process peak RSS "
        f"{rss_before / 1024:.0f} → {rss_after / 1024:.0f} MB"
    )
    for n in (size // 10, size):
        rows, _bytes, elapsed, peak = run(n, traced=True)
        print(
            f"export traced: {rows:,} orders, peak Python memory {peak / 1e6:.1f} MB ({elapsed:.1f} s traced)"
        )


if __name__ == "__main__":
    main()
