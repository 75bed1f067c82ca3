"""Benchmarks of the notification outbox (issue 5), on PostgreSQL and Redis.

1. Worker throughput: N queued shipping emails, one ``celery -A shop worker`` process (a thread pool by
   default) with production settings, a local SMTP server (aiosmtpd) that accepts everything. Measures emails
   per second from the first publish to the last ``sent`` mark in the database, and the worker's CPU time per
   email. ``--publish rows`` publishes one task per row (as each change does at its commit), ``--publish
   sweep`` lets the outbox sweep publish them in batches.
2. Outbox overhead on shipping: ship M processed orders with the outbox as built, then M more with the
   outbox writes switched off, and compare the time the shipping itself takes.

Run (a database of its own; the script migrates it)::

    createdb -h 127.0.0.1 -U postgres shipshape_bench_notify
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/shipshape_bench_notify \
    REDIS_URL=redis://127.0.0.1:6379/12 \
        .venv/bin/python bench/notifications.py --emails 1000 --publish sweep --skip-shipping
    # the shipping overhead only:
        .venv/bin/python bench/notifications.py --orders 10000 --skip-worker
"""

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")


def setup_django():
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def processed_orders(shop, count: int):
    """Place and process orders with mail going nowhere (in-memory backend, tasks run in-process)."""
    from django.conf import settings

    from orders.services import Actor, LineSpec, place_order, process_order
    from shop.celery import app

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    app.conf.task_always_eager = True
    orders = []
    for index in range(count):
        order = place_order(
            shop=shop,
            email=f"buyer{index}@example.net",
            address={"name": "Ada Buyer", "line1": "1 Quay", "city": "Leith", "country": "GB"},
            lines=[LineSpec(sku="SCARF", name="Scarf", quantity=1, unit_price="25.00")],
            payment_status="paid",
        )
        orders.append(process_order(order, by=Actor.system()))
    from django.core import mail

    mail.outbox = []
    return orders


def new_shop(label: str):
    from shop.models import Shop

    slug = f"{label}-{int(time.time() * 1000)}"
    return Shop.objects.create(name=slug, slug=slug, contact_email=f"hello@{slug}.example")


def tracking_numbers():
    counter = int(time.time() * 1000) % 10**9
    while True:
        counter += 1
        yield f"1Z{counter:016d}"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux), to give a figure that load does not skew."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def worker_throughput(
    emails: int, pool: str, concurrency: int, publish: str, profile: str = ""
) -> tuple[float, float]:
    """Emails per second, and the worker's CPU milliseconds per email."""
    import logging

    import redis
    from aiosmtpd.controller import Controller
    from django.conf import settings
    from django.db import connection

    from orders.models import Notification, NotificationStatus
    from orders.services import Actor, ParcelSpec, ship_order
    from shop.celery import app

    class Sink:
        count = 0

        async def handle_DATA(self, server, session, envelope):
            Sink.count += 1
            return "250 OK"

    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # the sink logs every SMTP line at INFO
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()

    shop = new_shop("throughput")
    orders = processed_orders(shop, emails)
    numbers = tracking_numbers()
    app.conf.task_always_eager = False
    for order in orders:  # published to Redis; no worker is running yet
        ship_order(order, parcels=[ParcelSpec(tracking_number=next(numbers))], by=Actor.system())
    redis.Redis.from_url(settings.REDIS_URL).delete("celery")  # start from an empty queue
    queued = Notification.objects.filter(shop=shop, status=NotificationStatus.QUEUED)
    assert queued.count() == emails

    database = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        "EMAIL_URL": f"smtp://127.0.0.1:{port}",
        # Production settings, as a deployed worker runs.
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "localhost",
    }
    log = open(ROOT / "var" / "bench-worker.log", "w")  # noqa: SIM115
    worker = subprocess.Popen(
        [
            sys.executable,
            *(["-m", "cProfile", "-o", profile] if profile else []),
            "-m",
            "celery",
            "-A",
            "shop",
            "worker",
            f"--pool={pool}",
            f"--concurrency={concurrency}",
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    time.sleep(6)  # let the worker connect
    from orders.notifications import enqueue_deliveries, enqueue_delivery
    from orders.tasks import DELIVERY_BATCH_SIZE

    ids = list(queued.values_list("pk", flat=True))
    cpu_before = cpu_seconds(worker.pid)
    started = time.perf_counter()
    if publish == "rows":  # one task per row, as each change publishes at its commit
        for notification_id in ids:
            enqueue_delivery(notification_id)
    else:  # as the sweep publishes: one task per batch of rows (only this run's rows)
        for start in range(0, len(ids), DELIVERY_BATCH_SIZE):
            enqueue_deliveries(ids[start : start + DELIVERY_BATCH_SIZE])
    while queued.exists():
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    cpu = cpu_seconds(worker.pid) - cpu_before
    worker.terminate()
    worker.wait(timeout=30)
    controller.stop()
    assert Sink.count == emails, f"the SMTP server got {Sink.count} emails, expected {emails}"
    return emails / elapsed, cpu / emails * 1000


def shipping_overhead(count: int, rounds: int) -> tuple[float, float]:
    """Median seconds to ship ``count`` orders with the outbox, and with its writes switched off."""
    import orders.notifications as notifications
    import orders.services.fulfilment as fulfilment
    from orders.services import Actor, ParcelSpec, ship_order
    from shop.celery import app

    numbers = tracking_numbers()

    def ship(batch) -> float:
        app.conf.task_always_eager = False  # publish to Redis, as in production; no worker consumes
        started = time.perf_counter()
        for order in batch:
            ship_order(order, parcels=[ParcelSpec(tracking_number=next(numbers))], by=Actor.system())
        return time.perf_counter() - started

    real_email, real_webhooks = fulfilment.queue_customer_email, notifications.queue_webhooks
    with_outbox, without_outbox = [], []
    for _ in range(rounds):
        with_outbox.append(ship(processed_orders(new_shop("ship-outbox"), count)))
        batch = processed_orders(new_shop("ship-bare"), count)
        fulfilment.queue_customer_email = lambda *args, **kwargs: None
        notifications.queue_webhooks = lambda *args, **kwargs: []
        try:
            without_outbox.append(ship(batch))
        finally:
            fulfilment.queue_customer_email, notifications.queue_webhooks = real_email, real_webhooks
    return statistics.median(with_outbox), statistics.median(without_outbox)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=3000)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--pool", default="threads", help="the worker's pool: threads (one process) or solo")
    parser.add_argument("--concurrency", type=int, default=8, help="threads in the one worker process")
    parser.add_argument(
        "--publish",
        choices=["rows", "sweep"],
        default="rows",
        help="rows: one task per row, as each commit publishes; sweep: one task per batch, as the sweep does",
    )
    parser.add_argument("--skip-shipping", action="store_true", help="measure the worker only")
    parser.add_argument("--skip-worker", action="store_true", help="measure the shipping overhead only")
    parser.add_argument("--profile-worker", default="", metavar="FILE", help="run the worker under cProfile")
    args = parser.parse_args()
    setup_django()
    from django.conf import settings

    if not settings.REDIS_URL:
        sys.exit("Set REDIS_URL (and DATABASE_URL to a PostgreSQL database of its own).")
    (ROOT / "var").mkdir(exist_ok=True)
    if not args.skip_worker:
        rate, cpu_ms = worker_throughput(
            args.emails, args.pool, args.concurrency, args.publish, args.profile_worker
        )
        print(
            f"worker throughput: {args.emails} emails published per {args.publish.rstrip('s')}, "
            f"one worker process (--pool={args.pool} --concurrency={args.concurrency}): {rate:.0f} emails/s, "
            f"worker CPU {cpu_ms:.1f} ms per email; load average {os.getloadavg()[0]:.1f}"
        )
    if args.skip_shipping:
        return
    with_outbox, without_outbox = shipping_overhead(args.orders, args.rounds)
    overhead = (with_outbox / without_outbox - 1) * 100
    print(
        f"shipping {args.orders} orders: {with_outbox:.1f} s with the outbox, {without_outbox:.1f} s without "
        f"({args.orders / with_outbox:.0f} vs {args.orders / without_outbox:.0f} orders/s): "
        f"{overhead:+.1f} %; load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
