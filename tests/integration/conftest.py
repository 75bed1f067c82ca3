"""Real parts for the integration tests: an SMTP server on loopback and a Celery worker on the real Redis."""

import os
import socket
import subprocess
import sys
import threading
import time
from email import message_from_bytes
from pathlib import Path

import pytest
import redis
from aiosmtpd.controller import Controller
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/11")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpSink:
    """Collects every message an SMTP client hands over."""

    def __init__(self):
        self.messages = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 60) -> list:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.messages) >= count:
                    break
            time.sleep(0.1)
        with self._lock:
            return list(self.messages)


@pytest.fixture
def smtp_sink():
    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    sink.url = f"smtp://127.0.0.1:{controller.port}"
    yield sink
    controller.stop()


@pytest.fixture
def redis_broker():
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        pytest.fail(f"Redis is not running at {REDIS_URL}: start it (see README) - {exc}")
    client.flushdb()
    yield REDIS_URL
    client.flushdb()


@pytest.fixture
def celery_publishing(redis_broker):
    """Make this process publish tasks to the real Redis instead of running them in-process."""
    from shop.celery import app

    saved = {key: app.conf[key] for key in ("broker_url", "task_always_eager")}
    app.conf.update(broker_url=redis_broker, task_always_eager=False)
    reset_connections(app)
    yield app
    app.conf.update(saved)
    reset_connections(app)


def reset_connections(app) -> None:
    """Drop the cached broker connections so the next publish uses the current ``broker_url``."""
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None


def worker_environment(broker_url: str, email_url: str) -> dict:
    database = connection.settings_dict
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "EMAIL_", "REDIS_", "CELERY_"))
    }
    env.update(
        DATABASE_URL=f"postgres://{database['USER'] or 'postgres'}@{database['HOST'] or '127.0.0.1'}:"
        f"{database['PORT'] or 5432}/{database['NAME']}",
        DATABASE_POOL="false",
        REDIS_URL=broker_url,
        EMAIL_URL=email_url,
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture
def celery_worker(transactional_db, smtp_sink, celery_publishing):
    """A real `celery -A shop worker` process, reading the test database and sending to the SMTP sink."""
    if connection.vendor != "postgresql":
        pytest.fail("The integration tests need PostgreSQL (DATABASE_URL)")
    log_path = ROOT / "var" / "test-worker.log"
    log_path.parent.mkdir(exist_ok=True)
    log = open(log_path, "w")  # noqa: SIM115 - closed in teardown
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "shop",
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"test-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=worker_environment(celery_publishing.conf.broker_url, smtp_sink.url),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while "ready." not in log_path.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("The Celery worker did not start:\n" + log_path.read_text()[-3000:])
        time.sleep(0.2)
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()
