"""Idempotency-Key: a retried create returns the first order, never a second one."""

import threading

import pytest
from django.db import connection

from orders.models import Order
from shop.models import IdempotencyRecord
from tests.factories import ShopFactory, place

from .conftest import CheckedClient, client_for, openapi_schema
from .payloads import order_payload
from .test_auth_and_errors import assert_error

pytestmark = pytest.mark.django_db


def test_a_retry_returns_the_first_answer(shop, api):
    first = api.post("/api/v1/orders/", order_payload(), format="json", HTTP_IDEMPOTENCY_KEY="cart-42")
    retry = api.post("/api/v1/orders/", order_payload(), format="json", HTTP_IDEMPOTENCY_KEY="cart-42")
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert Order.objects.filter(shop=shop).count() == 1


def test_the_same_key_with_another_body_is_422(shop, api):
    api.post("/api/v1/orders/", order_payload(), format="json", HTTP_IDEMPOTENCY_KEY="cart-43")
    other = order_payload(shipping_price="9.00")
    response = api.post("/api/v1/orders/", other, format="json", HTTP_IDEMPOTENCY_KEY="cart-43")
    assert_error(response, 422, "idempotency_key_reused")
    assert Order.objects.filter(shop=shop).count() == 1


def test_without_a_key_each_post_is_a_new_order(shop, api):
    api.post("/api/v1/orders/", order_payload(), format="json")
    api.post("/api/v1/orders/", order_payload(), format="json")
    assert Order.objects.filter(shop=shop).count() == 2


def test_a_refused_request_frees_its_key(shop, api):
    bad = order_payload(coupon_code="NOPE")
    assert api.post("/api/v1/orders/", bad, format="json", HTTP_IDEMPOTENCY_KEY="k1").status_code == 422
    assert not IdempotencyRecord.objects.exists()
    assert (
        api.post("/api/v1/orders/", order_payload(), format="json", HTTP_IDEMPOTENCY_KEY="k1").status_code
        == 201
    )


def test_one_shops_key_never_replays_another_shops_answer(shop, api, other_shop, other_api):
    mine = api.post("/api/v1/orders/", order_payload(), format="json", HTTP_IDEMPOTENCY_KEY="same-key")
    theirs = other_api.post(
        "/api/v1/orders/", order_payload(), format="json", HTTP_IDEMPOTENCY_KEY="same-key"
    )
    assert theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs
    assert mine.status_code == 201
    assert Order.objects.filter(shop=other_shop, number=theirs.json()["number"]).exists()
    assert Order.objects.filter(shop=other_shop).count() == 1
    assert Order.objects.filter(shop=shop).count() == 1


def test_transitions_accept_a_key_too(shop, api):
    order = place(shop)
    url = f"/api/v1/orders/{order.number}/cancel/"
    first = api.post(url, {"reason": "Out of stock"}, format="json", HTTP_IDEMPOTENCY_KEY="cancel-1")
    retry = api.post(url, {"reason": "Out of stock"}, format="json", HTTP_IDEMPOTENCY_KEY="cancel-1")
    assert first.status_code == retry.status_code == 200
    assert retry.json() == first.json()
    assert order.events.filter(kind="cancelled").count() == 1


def test_a_key_that_is_too_long_is_400(api):
    response = api.post("/api/v1/orders/", order_payload(), format="json", HTTP_IDEMPOTENCY_KEY="k" * 300)
    assert_error(response, 400, "invalid_idempotency_key")


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_retries_create_one_order():
    shop = ShopFactory(slug="busy-shop")
    raw_key = client_for(shop).raw_key
    openapi_schema()  # built once, before the threads
    barrier = threading.Barrier(50)
    responses, errors = [], []

    def send():
        client = CheckedClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
        try:
            barrier.wait(timeout=30)
            responses.append(
                client.post("/api/v1/orders/", order_payload(), format="json", HTTP_IDEMPOTENCY_KEY="storm-1")
            )
        except Exception as exc:  # reported below, with the thread's error
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(responses) == 50
    assert Order.objects.filter(shop=shop).count() == 1
    created = [r for r in responses if r.status_code == 201]
    in_progress = [r for r in responses if r.status_code == 409]
    assert len(created) + len(in_progress) == 50
    assert created, "at least the first request answers with the order"
    assert all(r.json() == created[0].json() for r in created)
    assert all(r.json()["error"]["code"] == "idempotency_in_progress" for r in in_progress)


def test_keys_older_than_the_retention_period_are_forgotten(settings):
    from datetime import timedelta

    from django.utils import timezone

    from shop.tasks import purge_idempotency_records

    shop = ShopFactory()
    record = {"shop": shop, "fingerprint": "f", "method": "POST", "path": "/api/v1/orders/"}
    old = IdempotencyRecord.objects.create(key="old", **record)
    recent = IdempotencyRecord.objects.create(key="recent", **record)
    IdempotencyRecord.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(hours=settings.SHIPSHAPE["IDEMPOTENCY_KEY_RETENTION_HOURS"] + 1)
    )

    assert purge_idempotency_records() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == [recent.key]
