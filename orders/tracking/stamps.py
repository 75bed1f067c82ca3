"""The order page's change stamp, cached so that a repeated view is served without the database.

``selectors.page_stamp`` reads what the page depends on (version, latest timeline event, latest scan) and
keeps it in two layers:

* the shared cache (Redis in production) for ``STAMP_SECONDS``. Every change to an order goes through
  ``record_event`` or ``record_scan``, and both forget the stamp there at once and again when their
  transaction commits; the timeout bounds the one window a forget cannot close (a view that read the stamp
  just before a change committed and stored it just after);
* this process's memory for ``LOCAL_SECONDS`` (one second), a micro-cache that spares the network round
  trip on a burst of views of one order. Another worker process cannot clear it, so a change reaches a page
  served by another worker at most that second later.
"""

import hashlib
import threading
import time
from collections import OrderedDict

from django.core.cache import cache
from django.db import transaction

STAMP_SECONDS = 30
LOCAL_SECONDS = 1.0
LOCAL_ENTRIES = 1024

_local: OrderedDict[str, tuple[float, tuple]] = OrderedDict()
_lock = threading.Lock()


def _key(token: str) -> str:
    return "tracking:stamp:" + hashlib.sha256(token.encode()).hexdigest()[:32]


def get(token: str) -> tuple | None:
    now = time.monotonic()
    with _lock:
        entry = _local.get(token)
        if entry is not None and entry[0] > now:
            return entry[1]
    row = cache.get(_key(token))
    if row is not None:
        _remember(token, row, now)
    return row


def put(token: str, row: tuple) -> None:
    row = tuple(row)
    cache.set(_key(token), row, STAMP_SECONDS)
    _remember(token, row, time.monotonic())


def _remember(token: str, row: tuple, now: float) -> None:
    with _lock:
        _local[token] = (now + LOCAL_SECONDS, row)
        _local.move_to_end(token)
        while len(_local) > LOCAL_ENTRIES:
            _local.popitem(last=False)


def _forget(token: str) -> None:
    with _lock:
        _local.pop(token, None)
    cache.delete(_key(token))


def forget_after_commit(token: str) -> None:
    """Called by the services for every change to the order holding ``token``: forgotten now, and again
    once the change commits (a view between the two may have stored the stamp as it was before)."""
    _forget(token)
    transaction.on_commit(lambda: _forget(token))


def clear_local() -> None:
    with _lock:
        _local.clear()
