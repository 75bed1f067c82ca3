"""The one signature scheme of Shipshape's webhooks, inbound (carriers) and outbound (sellers' endpoints).

``X-Shipshape-Timestamp: <unix seconds>`` and
``X-Shipshape-Signature: sha256=<hex of HMAC-SHA256(secret, timestamp + "." + raw body)>``.
"""

import hashlib
import hmac

TIMESTAMP_HEADER = "X-Shipshape-Timestamp"
SIGNATURE_HEADER = "X-Shipshape-Signature"


def signature_for(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"
