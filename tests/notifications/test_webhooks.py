"""Outbound webhooks: a second channel on the same outbox, signed like the carrier webhook."""

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from orders.models import Channel, EventKind, NotificationStatus, WebhookEndpoint
from orders.services import Actor, process_order
from orders.tasks import deliver_notification
from tests.factories import place

pytestmark = pytest.mark.django_db


class Receiver:
    """A real HTTP server on loopback that records what it is sent and answers with a chosen status."""

    def __init__(self):
        self.requests = []
        self.status = 204
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/shipshape"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.server.shutdown()


def test_every_order_event_is_posted_signed_to_the_sellers_endpoint(shop, receiver):
    endpoint = WebhookEndpoint.objects.create(shop=shop, url=receiver.url, secret="whsec_test_123")
    order = place(shop)
    order = process_order(order, by=Actor.system())
    hooks = order.notifications.filter(channel=Channel.WEBHOOK).order_by("pk")
    assert [h.template for h in hooks] == ["order.placed", "order.processed"]

    for hook in hooks:
        assert deliver_notification(hook.pk) == "sent"

    assert len(receiver.requests) == 2
    headers, body = receiver.requests[1]
    expected = hmac.new(
        b"whsec_test_123", headers["X-Shipshape-Timestamp"].encode() + b"." + body, hashlib.sha256
    )
    assert headers["X-Shipshape-Signature"] == f"sha256={expected.hexdigest()}"
    payload = json.loads(body)
    assert payload["type"] == "order.processed"
    assert payload["order"]["number"] == order.number
    assert payload["order"]["status"] == "processed"
    assert payload["shop"] == shop.slug
    assert endpoint.deliveries.filter(status=NotificationStatus.SENT).count() == 2
    # Webhook deliveries are not customer messages: they do not add "notification sent" rows to the timeline.
    assert order.events.filter(kind=EventKind.NOTIFICATION_SENT).count() == 0


def test_an_endpoint_answering_an_error_is_retried(shop, receiver):
    WebhookEndpoint.objects.create(shop=shop, url=receiver.url, secret="s3cret")
    receiver.status = 500
    order = place(shop)
    hook = order.notifications.get(channel=Channel.WEBHOOK)

    assert deliver_notification(hook.pk) == "retrying"
    hook.refresh_from_db()
    assert hook.status == NotificationStatus.QUEUED
    assert "HTTP 500" in hook.last_error


def test_inactive_endpoints_and_other_shops_get_nothing(shop, other_shop, receiver):
    WebhookEndpoint.objects.create(shop=shop, url=receiver.url, secret="a", is_active=False)
    WebhookEndpoint.objects.create(shop=other_shop, url=receiver.url, secret="b")
    order = place(shop)
    assert not order.notifications.filter(channel=Channel.WEBHOOK).exists()
