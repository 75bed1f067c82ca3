"""The rendered order page, cached per token and change stamp: in this process first, then the shared cache.

The key holds everything the page depends on (see ``views.order_page``), so an entry is never stale: a
change makes a new key, and old entries simply age out. The in-process layer (a small LRU) spares the
network round trip to Redis on repeated views of the same order (a buyer refreshing while a parcel is out
for delivery); the shared layer spares the rendering to the other workers.

One thing the key cannot hold is the clock: a page that offers a form until a moment (the item change
window) is stored with ``until`` and is not served after it, from either layer.
"""

import math
import threading
import time
from collections import OrderedDict
from datetime import datetime

from django.conf import settings
from django.core.cache import cache

LOCAL_ENTRIES = 256

# key → (wall-clock second the entry stops being served, or infinity; body)
_local: OrderedDict[str, tuple[float, str]] = OrderedDict()
_lock = threading.Lock()


def get(key: str) -> str | None:
    now = time.time()
    with _lock:
        entry = _local.get(key)
        if entry is not None:
            if entry[0] > now:
                _local.move_to_end(key)
                return entry[1]
            del _local[key]
    entry = cache.get(key)
    if not isinstance(entry, tuple) or entry[0] <= now:  # missing, expired, or stored by an older release
        return None
    _remember(key, entry)
    return entry[1]


def put(key: str, body: str, *, until: datetime | None = None) -> None:
    """Keep ``body`` for the configured time, and never past ``until`` when given."""
    timeout = settings.TRACKING_PAGE_CACHE_SECONDS
    expires = math.inf if until is None else until.timestamp()
    timeout = min(timeout, math.ceil(expires - time.time())) if until is not None else timeout
    if timeout <= 0:
        return
    entry = (expires, body)
    cache.set(key, entry, timeout)
    _remember(key, entry)


def _remember(key: str, entry: tuple[float, str]) -> None:
    with _lock:
        _local[key] = entry
        _local.move_to_end(key)
        while len(_local) > LOCAL_ENTRIES:
            _local.popitem(last=False)


def clear_local() -> None:
    with _lock:
        _local.clear()
