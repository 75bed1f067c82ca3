"""``Idempotency-Key``: a retried write returns the first answer instead of writing twice.

The record is inserted (and committed) before the write runs; the unique constraint on (shop, key) makes a
concurrent retry fail that insert and answer 409 "in progress" instead of running the write again. The write
and the stored answer commit together, so a stored answer always matches what was written.
"""

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from shop.models import IdempotencyRecord, IdempotencyStatus, Shop

from .errors import ApiError

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
# A record still "in progress" after this long belongs to a request that died; a retry may take it over.
ABANDONED_AFTER = timedelta(minutes=5)


def fingerprint(request) -> str:
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _claim(shop: Shop, key: str, request, print_: str) -> IdempotencyRecord | Response:
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(
                shop=shop, key=key, fingerprint=print_, method=request.method, path=request.path[:500]
            )
    except IntegrityError:
        pass
    existing = IdempotencyRecord.objects.filter(shop=shop, key=key).first()
    if existing is None:  # deleted meanwhile by a failed first attempt: claim again
        return _claim(shop, key, request, print_)
    if existing.fingerprint != print_:
        raise ApiError(
            _("This Idempotency-Key was already used with a different request."),
            code="idempotency_key_reused",
            http_status=422,
        )
    if existing.status == IdempotencyStatus.IN_PROGRESS:
        if (
            existing.created_at < timezone.now() - ABANDONED_AFTER
            and IdempotencyRecord.objects.filter(
                pk=existing.pk, status=IdempotencyStatus.IN_PROGRESS
            ).delete()[0]
        ):
            return _claim(shop, key, request, print_)
        raise ApiError(
            _("A request with this Idempotency-Key is still in progress; retry in a moment."),
            code="idempotency_in_progress",
            http_status=409,
        )
    return Response(
        existing.response_body, status=existing.response_status, headers={"Idempotent-Replayed": "true"}
    )


def run_idempotently(request, shop: Shop, write: Callable[[], Response]) -> Response:
    """Run ``write`` once per (shop, Idempotency-Key); replay its answer to retries with the same body."""
    key = request.headers.get(HEADER)
    if key is None:
        return write()
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ApiError(
            _("An Idempotency-Key is 1 to 255 printable characters."),
            code="invalid_idempotency_key",
            http_status=400,
        )
    claimed = _claim(shop, key, request, fingerprint(request))
    if isinstance(claimed, Response):
        return claimed
    try:
        with transaction.atomic():
            response = write()
            body = json.loads(JSONRenderer().render(response.data) or b"null")
            IdempotencyRecord.objects.filter(pk=claimed.pk).update(
                status=IdempotencyStatus.DONE,
                response_status=response.status_code,
                response_body=body,
                completed_at=timezone.now(),
            )
    except BaseException:
        # Nothing was written: free the key so a corrected retry can run.
        IdempotencyRecord.objects.filter(pk=claimed.pk).delete()
        raise
    return response
