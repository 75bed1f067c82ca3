"""Sign-in lockout: too many failed attempts lock the account and the client's address out for a while.

Two counters live in the shared cache (Redis in production, so every web process sees the same numbers): one
per account (the email as typed, lower-cased) and one per client address, both hashed so the cache holds
neither in clear. ``SIGNIN_MAX_FAILURES`` failures within ``SIGNIN_LOCKOUT_SECONDS`` lock that account or that
address for ``SIGNIN_LOCKOUT_SECONDS``. An attempt is counted before its password is checked and refused once
over the limit, the same way whether or not the account exists. A successful sign-in clears the account's
counter but only takes its own attempt off the address's: one valid account must not reset the counter of an
address that is guessing other accounts.

The client address is ``REMOTE_ADDR``. ``X-Forwarded-For`` is trusted only as far as
``TRUSTED_PROXY_COUNT`` says proxies of ours stand in front of the app: with n of them, the client is
the n-th hop from the right (the right-most one our proxies did not add), so an address a client forges at the
left of the header is never used.
"""

import contextlib
import hashlib
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

PREFIX = "signin"


@dataclass(frozen=True)
class Lockout:
    seconds_left: int

    @property
    def minutes_left(self) -> int:
        return max(1, math.ceil(self.seconds_left / 60))


def max_failures() -> int:
    return settings.SIGNIN_MAX_FAILURES


def lockout_seconds() -> int:
    return settings.SIGNIN_LOCKOUT_SECONDS


def client_address(request) -> str:
    """The address the request came from, not fooled by an ``X-Forwarded-For`` the client wrote itself."""
    remote = request.META.get("REMOTE_ADDR", "") or "unknown"
    trusted = settings.TRUSTED_PROXY_COUNT
    if trusted <= 0:
        return remote
    forwarded = [
        hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()
    ]
    # REMOTE_ADDR is our nearest proxy; each of our proxies appended the address it saw to the header.
    hops = [*forwarded, remote]
    return hops[-(trusted + 1)] if len(hops) > trusted else hops[0]


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _account_key(email: str) -> str:
    return f"{PREFIX}:account:{_digest(email.strip().lower())}"


def _address_key(address: str) -> str:
    return f"{PREFIX}:address:{_digest(address)}"


def _subjects(request, email: str) -> list[str]:
    keys = [_address_key(client_address(request))]
    if email.strip():
        keys.append(_account_key(email))
    return keys


def _lock(key: str) -> Lockout:
    window = lockout_seconds()
    cache.add(f"{key}:locked-until", time.time() + window, timeout=window)  # never extends a running lockout
    return Lockout(seconds_left=window)


def lockout_for(request, email: str) -> Lockout | None:
    """The lockout that applies to signing in as ``email`` from this request's address, if any."""
    now = time.time()
    locks = cache.get_many([f"{key}:locked-until" for key in _subjects(request, email)])
    until = max(locks.values(), default=None)
    if until is None or until <= now:
        return None
    return Lockout(seconds_left=math.ceil(until - now))


def begin_attempt(request, email: str) -> Lockout | None:
    """Count this attempt before its password is checked; return the lockout that refuses it, if any.

    Counting first means that guesses sent in parallel cannot all slip in before the first of them fails:
    only ``SIGNIN_MAX_FAILURES`` attempts per window ever reach the password check.
    """
    if lockout := lockout_for(request, email):
        return lockout
    window = lockout_seconds()
    refused = None
    for key in _subjects(request, email):
        count_key = f"{key}:attempts"
        cache.add(count_key, 0, timeout=window)
        try:
            attempts = cache.incr(count_key)
        except ValueError:  # expired between add() and incr()
            cache.add(count_key, 1, timeout=window)
            attempts = 1
        if attempts > max_failures():
            refused = _lock(key)
    return refused


def record_failure(request, email: str) -> Lockout | None:
    """The attempt failed: it stays counted. Return the lockout it started, if it was the last one allowed."""
    started = None
    keys = _subjects(request, email)
    counts = cache.get_many([f"{key}:attempts" for key in keys])
    for key in keys:
        if counts.get(f"{key}:attempts", 0) >= max_failures():
            started = _lock(key)
    return started


def record_success(request, email: str) -> None:
    """The attempt signed in: the account starts afresh; the address gets back the attempt it was charged."""
    clear_account(email)
    with contextlib.suppress(ValueError):  # the window ended meanwhile
        cache.decr(f"{_address_key(client_address(request))}:attempts")


def clear_account(email: str) -> None:
    """Forget the attempts against an account (after it signed in, or its owner chose a new password)."""
    key = _account_key(email)
    cache.delete_many([f"{key}:attempts", f"{key}:locked-until"])
