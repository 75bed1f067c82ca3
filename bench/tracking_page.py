"""Benchmark the buyer's order page (/track/<token>/) against a bare Django view, side by side with wrk.

Target (issue 6): with 1,000,000 orders in the database, the order page serves at least 70 % of the
requests per second of a view that returns a fixed string, on the same server setup (gunicorn, same
workers), measured in one run with ``wrk`` on loopback.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/shipshape_bench_1m
    .venv/bin/python bench/tracking_page.py --workers 2 --duration 10 --rounds 3

It starts gunicorn with production settings (DEBUG=false, Redis as the cache; static files are not
measured) and the bench URLconf (bench/tracking_urls.py adds ``/bench/bare/``), picks
an order with two parcels, checks both URLs answer 200, then runs wrk on the bare view and the page in turn,
``--rounds`` times, and reports each round and the best round's ratio. A second server with the page cache
off (``TRACKING_PAGE_CACHE_SECONDS=0``) measures the uncached page in the same run.
"""

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"


def server_env(var_dir: str, cache_seconds: int) -> dict:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.tracking_settings",
            "DEBUG": "false",
            "SECRET_KEY": env.get("SECRET_KEY", "bench-" + "x" * 50),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "false",
            "VAR_DIR": var_dir,
            # Each variant its own Redis database, so the uncached server never reads the cached one's pages.
            "REDIS_URL": env.get("REDIS_URL", f"redis://127.0.0.1:6379/{14 if cache_seconds else 15}"),
            "TRACKING_PAGE_CACHE_SECONDS": str(cache_seconds),
            "LOG_LEVEL": "WARNING",
        }
    )
    return env


def pick_token(env: dict) -> tuple[str, str, int]:
    code = (
        "import django; django.setup()\n"
        "from django.db.models import Count\n"
        "from orders.models import Order\n"
        "o = (Order.objects.filter(status='shipped').annotate(n=Count('shipments')).filter(n=2)"
        ".order_by('id').values_list('public_token', 'number').first())\n"
        "print(o[0], o[1], Order.objects.count())\n"
    )
    out = subprocess.run([PYTHON, "-c", code], env=env, cwd=ROOT, check=True, capture_output=True, text=True)
    token, number, count = out.stdout.split()
    return token, number, int(count)


def start_server(env: dict, port: int, workers: int, worker_threads: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            GUNICORN,
            "shop.wsgi:application",
            f"--bind=127.0.0.1:{port}",
            f"--workers={workers}",
            f"--threads={worker_threads}",  # 1: sync workers; more: gthread
            "--log-level=warning",
        ],
        env=env,
        cwd=ROOT,
        start_new_session=True,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/bench/bare/", timeout=2).read()
            return process
        except OSError:
            time.sleep(0.3)
    stop_server(process)
    raise SystemExit("gunicorn did not start")


def stop_server(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    process.wait(timeout=20)


def check(url: str, must_contain: str) -> None:
    for _ in range(5):  # warm up: connections, templates, the page cache
        with urllib.request.urlopen(url, timeout=10) as response:
            body = response.read().decode()
            assert response.status == 200, (url, response.status)
            assert must_contain in body, (url, must_contain)


def wrk(url: str, *, duration: int, connections: int, threads: int) -> float:
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    if "Non-2xx" in out:
        raise SystemExit(f"wrk saw errors on {url}:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-threads", type=int, default=1, help="gunicorn --threads (1: sync workers)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--skip-uncached", action="store_true")
    args = parser.parse_args()
    if "DATABASE_URL" not in os.environ:
        raise SystemExit("Set DATABASE_URL to the seeded database (e.g. shipshape_bench_1m).")

    var_dir = tempfile.mkdtemp(prefix="shipshape-bench-")
    try:
        env = server_env(var_dir, cache_seconds=300)
        token, number, count = pick_token(env)
        print(f"database {os.environ['DATABASE_URL'].rsplit('/', 1)[-1]}: {count:,} orders; page of {number}")
        print(f"load average at the start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        kind = "sync" if args.worker_threads == 1 else f"gthread ({args.worker_threads} threads)"
        wrk_args = f"-t{args.threads} -c{args.connections} -d{args.duration}s"
        print(f"gunicorn {args.workers} {kind} workers; wrk {wrk_args}")
        results: dict[str, list[float]] = {"bare": [], "page (cached)": [], "page (cache off)": []}
        bare_url = f"http://127.0.0.1:{args.port}/bench/bare/"
        page_url = f"http://127.0.0.1:{args.port}/track/{token}/"
        variants = [("page (cached)", 300)] + ([] if args.skip_uncached else [("page (cache off)", 0)])
        for name, cache_seconds in variants:
            server = start_server(
                server_env(var_dir, cache_seconds), args.port, args.workers, args.worker_threads
            )
            try:
                check(bare_url, "OK")
                check(page_url, number)
                for _ in range(args.rounds):
                    for label, url in (("bare", bare_url), (name, page_url)):
                        rps = wrk(
                            url, duration=args.duration, connections=args.connections, threads=args.threads
                        )
                        results[label].append(rps)
                        print(f"  {label:<18} {rps:8.1f} req/s")
            finally:
                stop_server(server)
        bare = max(results["bare"])
        print()
        print("| view | req/s per round | best | share of the bare view's best |")
        print("|---|---|---:|---:|")
        for label, values in results.items():
            if values:
                rounds = ", ".join(f"{v:.0f}" for v in values)
                print(f"| {label} | {rounds} | {max(values):.0f} | {max(values) / bare:.0%} |")
        cached = results["page (cached)"]
        paired = [p / b for p, b in zip(cached, results["bare"][: len(cached)], strict=True)]
        print(f"\ncached page / bare, round by round: {', '.join(f'{r:.0%}' for r in paired)}")
        print(f"median {statistics.median(paired):.0%}; load average at the end {os.getloadavg()[0]:.1f}")
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
