"""One error shape for every failure: ``{"error": {"code", "message", "details"}}``.

Domain errors (``ShipshapeError``) carry their own code and HTTP status; DRF's own failures (validation,
authentication, throttling, parsing) and Django's 404 are reshaped here, so integrations parse one thing.
"""

from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig, TooManyFieldsSent
from django.db.models import ProtectedError
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from orders.errors import IllegalTransition, ShipshapeError, TransitionBlocked


class ApiError(ShipshapeError):
    """An API-level refusal that is not a domain rule (a reused idempotency key, a missing version...)."""

    def __init__(self, message: str, *, code: str, http_status: int, details: dict | None = None):
        self.code = code
        self.http_status = http_status
        super().__init__(message, details=details)


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": str(message), "details": details or {}}}


def _domain_details(exc: ShipshapeError) -> dict:
    details = dict(exc.details)
    # The API contract names the order's state "status" and the legal next states "allowed".
    if isinstance(exc, IllegalTransition):
        details.update(status=str(exc.current), allowed=[str(s) for s in exc.allowed])
    elif isinstance(exc, TransitionBlocked):
        details.update(status=str(exc.current))
    return details


def api_exception_handler(exc, context):
    if isinstance(exc, ShipshapeError):
        set_rollback()
        return Response(error_body(exc.code, exc.message, _domain_details(exc)), status=exc.http_status)
    if isinstance(exc, ObjectDoesNotExist):
        exc = Http404()
    if isinstance(exc, RequestDataTooBig):
        return Response(
            error_body("request_too_large", _("The request body is too large.")),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, TooManyFieldsSent):
        return Response(error_body("too_many_fields", _("The request has too many fields.")), status=400)
    if isinstance(exc, ProtectedError):
        set_rollback()
        return Response(
            error_body(
                "in_use", _("This is still used by orders and cannot be deleted; deactivate it instead.")
            ),
            status=status.HTTP_409_CONFLICT,
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, Http404):
        response.data = error_body("not_found", _("Not found."))
    elif isinstance(exc, exceptions.ValidationError):
        response.data = error_body(
            "invalid", _("Some fields are not valid; see details.fields."), {"fields": exc.detail}
        )
    elif isinstance(exc, exceptions.Throttled):
        response.data = error_body(
            "throttled",
            _("Too many requests; retry after %(seconds)s seconds.")
            % {"seconds": exc.wait and int(exc.wait + 1)},
            {"retry_after": int(exc.wait + 1) if exc.wait is not None else None},
        )
    elif isinstance(exc, exceptions.APIException):
        code = exc.get_codes()
        response.data = error_body(code if isinstance(code, str) else exc.default_code, exc.detail)
    return response


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable, e.g. illegal_transition, not_found, invalid.")
    message = serializers.CharField(help_text="A sentence for people, in the request's language.")
    details = serializers.DictField(
        help_text="Facts about the failure. illegal_transition: status and allowed; invalid: fields."
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


def error_responses(*codes: int) -> dict:
    """The error responses an operation documents, always in the one error shape."""
    descriptions = {
        400: "The request is malformed or a field is not valid.",
        401: "No API key, or a revoked or unknown one.",
        404: "Not found (or not this shop's).",
        409: "A refused move, a stale version or a request still in progress.",
        413: "The body is too large.",
        415: "Send JSON.",
        422: "A rule refused the input, or an Idempotency-Key was reused with another body.",
        428: "The order's version is required.",
        429: "Too many requests; see Retry-After.",
    }
    return {code: OpenApiResponse(ErrorSerializer, description=descriptions[code]) for code in codes}
