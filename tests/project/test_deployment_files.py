"""docker-compose.yml describes the full stack from one image definition (no Docker engine runs here)."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_compose_runs_web_worker_beat_postgres_and_redis_from_one_image():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"web", "worker", "beat", "postgres", "redis"}
    for name in ("web", "worker", "beat"):
        assert services[name]["build"] == "."
        assert services[name]["image"] == "shipshape:latest"
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["REDIS_URL"].startswith("redis://redis:6379")
    assert "gunicorn shop.wsgi:application" in services["web"]["command"]
    assert services["worker"]["command"].startswith("celery -A shop worker")
    assert services["beat"]["command"].startswith("celery -A shop beat")


def test_dockerfile_installs_the_project_and_serves_with_gunicorn():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "FROM python:3.12" in dockerfile
    assert "pip install ." in dockerfile
    assert "collectstatic" in dockerfile
    assert '"gunicorn", "shop.wsgi:application"' in dockerfile
