"""Outbound webhooks: the order event as JSON, signed with the endpoint's secret.

The signature is the carrier webhook's scheme (``shop.webhook_signing``).
"""

import json
import time
import urllib.error
import urllib.request

from shop.webhook_signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature_for

from ..models import Notification

TIMEOUT_SECONDS = 10


def post_webhook(notification: Notification) -> str:
    """POST the payload; any answer but 2xx is a failure to retry. Returns the response's request id."""
    endpoint = notification.webhook_endpoint
    body = json.dumps(notification.context, separators=(",", ":"), sort_keys=True).encode()
    timestamp = str(int(time.time()))
    request = urllib.request.Request(
        endpoint.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "Shipshape-Webhooks/1",
            "X-Shipshape-Event": notification.template,
            "X-Shipshape-Delivery": str(notification.pk),
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: signature_for(endpoint.secret, timestamp, body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return response.headers.get("X-Request-Id", "")
    except urllib.error.HTTPError as exc:
        raise RuntimeError(f"HTTP {exc.code} from {endpoint.url}") from exc
