"""The rendered order page, cached per token and change stamp: in this process first, then the shared cache.

The key holds everything the page depends on (see ``views.order_page``), so an entry is never stale: a
change makes a new key, and old entries simply age out. The in-process layer (a small LRU) spares the
network round trip to Redis on repeated views of the same order (a buyer refreshing while a parcel is out
for delivery); the shared layer spares the rendering to the other workers.
"""

import threading
from collections import OrderedDict

from django.conf import settings
from django.core.cache import cache

LOCAL_ENTRIES = 256

_local: OrderedDict[str, str] = OrderedDict()
_lock = threading.Lock()


def get(key: str) -> str | None:
    with _lock:
        body = _local.get(key)
        if body is not None:
            _local.move_to_end(key)
            return body
    body = cache.get(key)
    if body is not None:
        _remember(key, body)
    return body


def put(key: str, body: str) -> None:
    timeout = settings.TRACKING_PAGE_CACHE_SECONDS
    if timeout <= 0:
        return
    cache.set(key, body, timeout)
    _remember(key, body)


def _remember(key: str, body: str) -> None:
    with _lock:
        _local[key] = body
        _local.move_to_end(key)
        while len(_local) > LOCAL_ENTRIES:
            _local.popitem(last=False)


def clear_local() -> None:
    with _lock:
        _local.clear()
