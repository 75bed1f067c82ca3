"""Finding an order by number and email (or postcode) without telling anyone which numbers exist.

Two rules make a wrong pair indistinguishable from a number that does not exist:

* the same database work on every path: one query for the orders that carry the number (zero, one or several
  shops may share a prefix), then a constant-time comparison against every candidate, or against a dummy
  when there is none;
* the same answer: the view redirects every miss to the same URL (see ``views.lookup``).

Rate limits are fixed-window counters in the cache, per client address and per order number, counted for
every attempt whether or not the number exists (so the limit itself discloses nothing).
"""

import hashlib
import hmac
import math
import re
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from . import selectors

# Compared against when no order carries the number, so a miss costs what a hit costs.
_DUMMY = selectors.LookupCandidate(token="", email="nobody@invalid.example", postcode="#")


def normalise_number(number: str) -> str:
    return re.sub(r"\s+", "", number or "").upper()


def normalise_postcode(postcode: str) -> str:
    """Postcodes match without spaces or dashes and in capitals: "po1 3ax" is "PO1-3AX"."""
    return re.sub(r"[\s-]+", "", postcode or "").upper()


def prefix_of(number: str) -> str:
    """Order numbers are ``<shop prefix>-<n>`` (orders.services.placing.next_order_number)."""
    return number.rpartition("-")[0]


def find_order_token(number: str, email_or_postcode: str) -> str | None:
    """The public token of the order with this number whose email or shipping postcode matches, else None."""
    number = normalise_number(number)
    secret = email_or_postcode.strip()
    email = secret.lower().encode()
    postcode = normalise_postcode(secret).encode()
    by_email = "@" in secret
    found = None
    for candidate in selectors.lookup_candidates(number, prefix_of(number)) or [_DUMMY]:
        # Both comparisons on every candidate: the work does not depend on which one the buyer typed.
        email_matches = hmac.compare_digest(candidate.email.lower().encode(), email)
        postcode_matches = hmac.compare_digest(normalise_postcode(candidate.postcode).encode(), postcode)
        matches = email_matches if by_email else (postcode_matches and bool(candidate.postcode))
        if matches and found is None and candidate.token:
            found = candidate.token
    return found


# --- Rate limits -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limit:
    scope: str
    limit: int
    window: int


def client_address(request) -> str:
    """The client's address: REMOTE_ADDR, or behind ``TRUSTED_PROXY_COUNT`` proxies of ours (each appending to
    X-Forwarded-For) the entry the outermost one added. Entries a client wrote itself are never trusted."""
    proxies = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    forwarded = [
        part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()
    ]
    if proxies > 0 and forwarded:
        return forwarded[-min(proxies, len(forwarded))]
    return request.META.get("REMOTE_ADDR", "")


def _counter_key(scope: str, key: str, bucket: int) -> str:
    # Hashed: order numbers and email addresses never sit in the cache in clear.
    digest = hashlib.sha256(f"{scope}:{key}".encode()).hexdigest()[:32]
    return f"tracking:rate:{scope}:{bucket}:{digest}"


# The rate limits' clock (tests set it to stay inside one window).
clock = time.time


def count_attempt(limits: list[tuple[Limit, str]], *, now: float | None = None) -> int:
    """Count one attempt against each (limit, key); return 0, or the seconds to wait when any is exceeded."""
    now = clock() if now is None else now
    wait = 0
    for limit, key in limits:
        bucket = int(now // limit.window)
        cache_key = _counter_key(limit.scope, key, bucket)
        if cache.add(cache_key, 1, timeout=limit.window + 1):
            count = 1
        else:
            try:
                count = cache.incr(cache_key)
            except ValueError:  # expired between add and incr
                cache.add(cache_key, 1, timeout=limit.window + 1)
                count = 1
        if count > limit.limit:
            wait = max(wait, math.ceil((bucket + 1) * limit.window - now))
    return wait


def minutes(seconds: int) -> int:
    return max(1, math.ceil(seconds / 60))


def lookup_limits(request, number: str) -> list[tuple[Limit, str]]:
    window = settings.TRACKING_LOOKUP_WINDOW_SECONDS
    return [
        (
            Limit("lookup-address", settings.TRACKING_LOOKUP_LIMIT_PER_ADDRESS, window),
            client_address(request),
        ),
        (Limit("lookup-order", settings.TRACKING_LOOKUP_LIMIT_PER_ORDER, window), normalise_number(number)),
    ]


def history_limits(request, email: str) -> list[tuple[Limit, str]]:
    window = settings.TRACKING_LOOKUP_WINDOW_SECONDS
    return [
        (
            Limit("history-address", settings.TRACKING_HISTORY_LIMIT_PER_ADDRESS, window),
            client_address(request),
        ),
        (Limit("history-email", settings.TRACKING_HISTORY_LIMIT_PER_EMAIL, window), email.strip().lower()),
    ]
