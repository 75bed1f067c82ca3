"""Real parts for the integration tests: SMTP servers on loopback, Redis servers, Celery worker processes.

Nothing here is a mock: the worker is ``celery -A shop worker`` in a subprocess reading the test database,
the broker is a real redis-server (a private one per test when the test stops and restarts it), and mail
goes over SMTP to an aiosmtpd server that can be told to be slow or to refuse.
"""

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from email import message_from_bytes
from pathlib import Path

import kombu.pools
import pytest
import redis
from aiosmtpd.controller import Controller
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
SHARED_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/11")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


class SmtpSink:
    """An SMTP server's handler that keeps every message it accepts.

    ``refuse_until`` makes it answer 451 (try later) until that time; addresses in ``bounce`` get 550;
    ``hold_rcpt`` makes RCPT wait (before any message data is sent) until ``release()``.
    """

    def __init__(self):
        self.messages = []
        self.refused = 0
        self.refuse_until = 0.0
        self.bounce: set[str] = set()
        self.hold_rcpt = False
        self.rcpt_waiting = threading.Event()
        self._release = threading.Event()
        self._lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.bounce:
            return "550 5.1.1 No such mailbox here"
        if time.monotonic() < self.refuse_until:
            self.refused += 1
            return "451 4.3.0 Try again later"
        if self.hold_rcpt:
            self.rcpt_waiting.set()
            while not self._release.is_set():
                await asyncio.sleep(0.05)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"

    def release(self):
        self.hold_rcpt = False
        self._release.set()

    def count(self, predicate=lambda message: True) -> int:
        with self._lock:
            return sum(1 for message in self.messages if predicate(message))

    def wait_for(self, count: int, timeout: float = 60, predicate=lambda message: True) -> list:
        wait_until(lambda: self.count(predicate) >= count, timeout)
        with self._lock:
            return [message for message in self.messages if predicate(message)]

    def clear(self):
        with self._lock:
            self.messages.clear()


@pytest.fixture
def smtp_sink():
    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    sink.url = f"smtp://127.0.0.1:{controller.port}"
    yield sink
    sink.release()
    controller.stop()


class RedisServer:
    """A private redis-server that a test may stop and start again (it keeps nothing on disk)."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed (apt-get install redis-server)")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        if not wait_until(lambda: self._pings(client), timeout=10):
            pytest.fail("The private redis-server did not start")

    @staticmethod
    def _pings(client) -> bool:
        try:
            return client.ping()
        except redis.ConnectionError:
            return False

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def client(self):
        return redis.Redis.from_url(self.url)


@pytest.fixture
def private_redis():
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def shared_redis():
    client = redis.Redis.from_url(SHARED_REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        pytest.fail(f"Redis is not running at {SHARED_REDIS_URL}: start it (see README) - {exc}")
    client.flushdb()
    yield SHARED_REDIS_URL
    client.flushdb()


def reset_connections(app) -> None:
    """Drop every cached broker connection so the next publish uses the current ``broker_url``.

    kombu keeps connection and producer pools in a process-wide registry keyed by broker; closing one
    without clearing the registry would leave a closed pool behind for the next user of that broker.
    """
    kombu.pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


class Publishing:
    """This test process publishes tasks to a real broker instead of running them in-process."""

    def __init__(self, app):
        self.app = app
        self.saved = {key: app.conf[key] for key in ("broker_url", "task_always_eager")}

    def use(self, broker_url: str):
        from orders.notifications import publish_breaker

        self.app.conf.update(broker_url=broker_url, task_always_eager=False)
        reset_connections(self.app)
        publish_breaker.reset()

    def restore(self):
        from orders.notifications import publish_breaker

        self.app.conf.update(self.saved)
        reset_connections(self.app)
        publish_breaker.reset()


@pytest.fixture
def publishing():
    from shop.celery import app

    state = Publishing(app)
    yield state
    state.restore()


class Worker:
    """``celery -A shop worker`` in a subprocess, on the test database."""

    def __init__(
        self,
        broker_url: str,
        email_url: str,
        extra_env: dict | None = None,
        pool: tuple[str, ...] = ("solo",),
    ):
        self.pool = pool  # ("solo",) or ("threads", concurrency)
        database = connection.settings_dict
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DATABASE_", "EMAIL_", "REDIS_", "CELERY_"))
        }
        env.update(
            DATABASE_URL=f"postgres://{database['USER'] or 'postgres'}@{database['HOST'] or '127.0.0.1'}:"
            f"{database['PORT'] or 5432}/{database['NAME']}",
            DATABASE_POOL="false",
            REDIS_URL=broker_url,
            EMAIL_URL=email_url,
            PYTHONUNBUFFERED="1",
            **(extra_env or {}),
        )
        self.env = env
        self.process = None
        self.log_path = ROOT / "var" / f"test-worker-{os.getpid()}.log"
        self.log_path.parent.mkdir(exist_ok=True)
        self.starts = 0

    def start(self):
        self.starts += 1
        self.log = open(self.log_path, "a")  # noqa: SIM115 - closed in stop()
        self.log.write(f"\n--- start {self.starts} ---\n")
        self.log.flush()
        offset = self.log_path.stat().st_size
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "shop",
                "worker",
                f"--pool={self.pool[0]}",
                *([f"--concurrency={self.pool[1]}"] if len(self.pool) > 1 else []),
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"test-{os.getpid()}-{self.starts}@%h",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

        def ready() -> bool:
            with open(self.log_path) as log:
                log.seek(offset)
                return " ready." in log.read()

        if not wait_until(ready, timeout=60, interval=0.2):
            self.kill()
            pytest.fail("The Celery worker did not start:\n" + self.log_path.read_text()[-3000:])

    def kill(self):
        """SIGKILL: no warm shutdown, no acknowledgement of the task in hand."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=20)
        self.log.close()

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if not self.log.closed:
            self.log.close()


@pytest.fixture
def start_worker(transactional_db, smtp_sink):
    """Start workers on a given broker; every worker started is stopped at the end of the test."""
    if connection.vendor != "postgresql":
        pytest.fail("The integration tests need PostgreSQL (DATABASE_URL)")
    workers = []

    def start(broker_url: str, pool: tuple[str, ...] = ("solo",), **extra_env) -> Worker:
        worker = Worker(broker_url, smtp_sink.url, {k: str(v) for k, v in extra_env.items()}, pool)
        worker.start()
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()
