"""API keys, the one error shape, and the refusals that must never be a 500."""

import pytest
from django.core.management import call_command
from django.utils import timezone

from shop.models import ApiKey, hash_api_key

from .conftest import CheckedClient, client_for
from .payloads import order_payload

pytestmark = pytest.mark.django_db


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)
    return body["error"]


def test_no_key_is_401_with_a_bearer_challenge(anonymous):
    response = anonymous.get("/api/v1/orders/")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_unknown_and_revoked_keys_are_refused(shop, api):
    stranger = CheckedClient()
    stranger.credentials(HTTP_AUTHORIZATION="Bearer ss_deadbeef_not-a-real-key")
    assert_error(stranger.get("/api/v1/orders/"), 401, "authentication_failed")

    assert api.get("/api/v1/orders/").status_code == 200
    ApiKey.objects.filter(shop=shop).update(revoked_at=timezone.now())
    assert_error(api.get("/api/v1/orders/"), 401, "authentication_failed")


def test_keys_are_stored_hashed_and_record_their_last_use(shop, api):
    key = ApiKey.objects.get(shop=shop)
    assert key.key_hash == hash_api_key(api.raw_key)
    assert api.raw_key not in {key.key_hash, key.prefix}
    assert api.raw_key.startswith(key.prefix)
    assert key.last_used_at is None
    api.get("/api/v1/orders/")
    key.refresh_from_db()
    assert key.last_used_at is not None


def test_create_api_key_command_prints_a_working_key(shop, capsys):
    call_command("create_api_key", "--shop", shop.slug, "--name", "storefront")
    raw_key = capsys.readouterr().out.strip()
    key = ApiKey.objects.get(shop=shop, name="storefront")
    assert key.key_hash == hash_api_key(raw_key)
    client = CheckedClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    assert client.get("/api/v1/orders/").status_code == 200


def test_session_auth_serves_the_sellers_shop(shop, owner, other_shop):
    client = CheckedClient()
    client.force_login(owner)
    response = client.get("/api/v1/orders/")
    assert response.status_code == 200
    assert client.get("/api/v1/orders/", HTTP_X_SHIPSHAPE_SHOP=other_shop.slug).status_code == 404


def test_unknown_path_is_a_json_404(api):
    assert_error(api.get("/api/v1/nothing-here/"), 404, "not_found")
    assert_error(api.get("/api/v1/orders/SS-999999/"), 404, "not_found")
    assert_error(api.get("/api/v1/returns/99999999999999999999999/"), 404, "not_found")
    assert_error(api.get("/api/v1/returns/%0A%F0%9F%93%A6/"), 404, "not_found")
    assert_error(api.delete("/api/v1/orders/"), 405, "method_not_allowed")


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        ('{"customer": ', "application/json", 400, "parse_error"),
        ("customer=ada", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        ("[1, 2, 3]", "application/json", 400, "invalid"),
    ],
)
def test_malformed_bodies_are_clear_4xx(api, body, content_type, status, code):
    assert_error(api.post("/api/v1/orders/", body, content_type=content_type), status, code)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"lines": [{"sku": "A", "name": "A", "quantity": -1, "unit_price": "1.00"}]}, "lines"),
        ({"lines": [{"sku": "A", "name": "A", "quantity": "two", "unit_price": "1.00"}]}, "lines"),
        ({"lines": [{"sku": "A", "name": "A", "quantity": 1, "unit_price": "-1.00"}]}, "lines"),
        ({"lines": [{"sku": "A", "name": "A", "quantity": 1, "unit_price": "1.001"}]}, "lines"),
        ({"lines": []}, "lines"),
        ({"lines": [{"sku": "A", "name": "A", "quantity": 100000, "unit_price": "99999999.99"}]}, "lines"),
        ({"shipping_price": "-5"}, "shipping_price"),
        ({"payment_status": "refunded"}, "payment_status"),
        ({"favourite_colour": "blue"}, "favourite_colour"),
        ({"customer": {"email": "not-an-email"}}, "customer"),
        ({"customer": {"email": "a@b.example", "nickname": "x"}}, "customer"),
        (
            {"shipping_address": {"name": "A\x00", "line1": "x", "city": "y", "country": "GB"}},
            "shipping_address",
        ),
    ],
)
def test_bad_fields_are_400_naming_the_field(api, change, field):
    error = assert_error(api.post("/api/v1/orders/", order_payload(**change), format="json"), 400, "invalid")
    assert field in error["details"]["fields"]


def test_a_rule_of_the_domain_is_a_422(api):
    response = api.post(
        "/api/v1/orders/",
        order_payload(shipping_address={"name": "A", "line1": "x", "city": "y", "country": "G1"}),
        format="json",
    )
    error = assert_error(response, 422, "invalid")
    assert error["details"]["field"] == "shipping_address.country"


def test_huge_body_is_413(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    payload = order_payload(note="x" * 20_000)
    assert_error(api.post("/api/v1/orders/", payload, format="json"), 413, "request_too_large")


def test_rate_limit_is_429_with_retry_after(shop, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "api_key": "3/minute",
        },
    }
    client = client_for(shop)
    for _ in range(3):
        assert client.get("/api/v1/orders/").status_code == 200
    response = client.get("/api/v1/orders/")
    assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0
    # Another key of the same shop has its own allowance.
    assert client_for(shop).get("/api/v1/orders/").status_code == 200


def test_the_browsable_api_renders_for_a_signed_in_seller(shop, owner, client):
    client.force_login(owner)
    response = client.get("/api/v1/orders/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert "text/html" in response["Content-Type"]
