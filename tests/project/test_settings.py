"""Settings come from the environment: embedded defaults, or a refusal in production without secrets."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "k" * 20 + "-a-long-random-production-secret-value-1234567890",
    "ALLOWED_HOSTS": "shop.example.com",
    "DATABASE_URL": "sqlite:////tmp/shipshape-settings-test.sqlite3",
}


# Variables the settings read, and Playwright's async-safety switch (which `check --deploy` rightly refuses).
SETTING_VARIABLES = ("DATABASE_", "REDIS_", "EMAIL_", "DEBUG", "SECRET_", "ALLOWED_", "DJANGO_ALLOW_ASYNC")


def environment(**env) -> dict:
    """This process's environment without any setting variable, plus ``env``."""
    return {k: v for k, v in os.environ.items() if not k.startswith(SETTING_VARIABLES)} | env


def run_python(code: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=environment(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )


SHOW = """
import django, json, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
django.setup()
from django.conf import settings as s
print(json.dumps({"engine": s.DATABASES["default"]["ENGINE"], "name": str(s.DATABASES["default"]["NAME"]),
  "eager": s.CELERY_TASK_ALWAYS_EAGER, "broker": s.CELERY_BROKER_URL, "email": s.EMAIL_BACKEND,
  "cache": s.CACHES["default"]["BACKEND"], "pool": s.DATABASES["default"].get("OPTIONS", {}).get("pool")}))
"""


def test_nothing_set_means_sqlite_eager_tasks_and_mail_to_files():
    result = run_python(SHOW, {})
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout.strip().splitlines()[-1])
    assert shown["engine"] == "django.db.backends.sqlite3"
    assert shown["name"].endswith("var/db.sqlite3")
    assert shown["eager"] is True
    assert shown["email"] == "django.core.mail.backends.filebased.EmailBackend"


def test_urls_switch_to_postgresql_redis_and_smtp():
    result = run_python(
        SHOW,
        {
            "DATABASE_URL": "postgres://shop:pw@db.internal:5432/shipshape",
            "REDIS_URL": "redis://cache.internal:6379/0",
            "EMAIL_URL": "smtp://127.0.0.1:2525",
        },
    )
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout.strip().splitlines()[-1])
    assert shown["engine"] == "django.db.backends.postgresql"
    assert shown["pool"]["max_size"] >= 2
    assert shown["eager"] is False
    assert shown["broker"] == "redis://cache.internal:6379/0"
    assert shown["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert shown["email"] == "django.core.mail.backends.smtp.EmailBackend"


def test_production_refuses_to_start_without_a_secret_key():
    env = {**PRODUCTION, "SECRET_KEY": ""}
    result = run_python(SHOW, env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts():
    env = {**PRODUCTION, "ALLOWED_HOSTS": ""}
    result = run_python(SHOW, env)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS must list" in result.stderr


def test_production_settings_pass_the_deployment_checklist():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=environment(**PRODUCTION),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


HEADERS = """
import django, json, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
django.setup()
from django.test import Client
from django.test.utils import override_settings, setup_test_environment
setup_test_environment()
# No collectstatic here: plain static storage instead of the manifest the image builds.
storages = {"default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
shown = {}
with override_settings(STORAGES=storages):
    client = Client(HTTP_HOST="shop.example.com")
    plain = client.get("/dashboard/login/")
    shown["plain"] = {"status": plain.status_code, "location": plain.get("Location")}
    for path in ("/dashboard/login/", "/healthz"):
        r = client.get(path, HTTP_X_FORWARDED_PROTO="https")
        shown[path] = {"status": r.status_code, **{k: v for k, v in r.headers.items()}}
        shown[path]["secure_cookies"] = {name: bool(c["secure"]) for name, c in r.cookies.items()}
print(json.dumps(shown))
"""


def test_production_pages_send_hsts_nosniff_and_a_policy_that_forbids_framing():
    result = run_python(HEADERS, PRODUCTION)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout.strip().splitlines()[-1])

    assert shown["plain"]["status"] == 301
    assert shown["plain"]["location"] == "https://shop.example.com/dashboard/login/"
    for path in ("/dashboard/login/", "/healthz"):
        headers = shown[path]
        assert headers["status"] == 200, (path, headers)
        assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains", path
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["X-Frame-Options"] == "DENY", path
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], path
        script_src = next(
            d for d in headers["Content-Security-Policy"].split("; ") if d.startswith("script-src ")
        )
        assert "unsafe-inline" not in script_src and "unsafe-eval" not in script_src, path
    assert shown["/dashboard/login/"]["secure_cookies"] == {"csrftoken": True}
