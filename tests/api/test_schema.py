"""The OpenAPI schema validates, is served, and its docs work without a CDN."""

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_the_schema_validates_without_warnings(tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    text = target.read_text()
    assert "/api/v1/orders/{number}/ship/" in text
    assert "/api/v1/shops/{slug}/carriers/{code}/events/" in text


def test_the_schema_is_served_and_names_the_contract(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    order = schema["components"]["schemas"]["OrderOutput"]["properties"]
    for name in (
        "number",
        "status",
        "payment_status",
        "version",
        "currency",
        "subtotal",
        "discount",
        "shipping_price",
        "total",
        "customer",
        "shipping_address",
        "lines",
        "shipments",
        "returns",
        "events",
        "tracking_url",
        "placed_at",
    ):
        assert name in order
    assert schema["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"


def test_the_docs_page_uses_local_static_files(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "cdn.jsdelivr.net" not in html and "unpkg.com" not in html
    assert "/static/drf_spectacular_sidecar/" in html
