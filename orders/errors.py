"""One error hierarchy for every domain rule. Each error carries the facts a caller needs to explain it.

The API maps ``ShipshapeError.http_status`` and ``as_dict()`` to ``{"error": {...}}``; the dashboard and
admin show ``message``.
"""

from django.utils.translation import gettext as _


class ShipshapeError(Exception):
    code = "error"
    http_status = 400

    def __init__(self, message: str, *, details: dict | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "details": self.details}


class IllegalTransition(ShipshapeError):
    """The move is not in the state machine's table."""

    code = "illegal_transition"
    http_status = 409

    def __init__(self, *, current: str, target: str, allowed: list[str]):
        from .states import OrderStatus

        self.current, self.target, self.allowed = current, target, list(allowed)
        labels = ", ".join(str(OrderStatus(s).label) for s in allowed) or _("none, this order is closed")
        super().__init__(
            _("An order that is %(current)s cannot become %(target)s. Allowed next: %(allowed)s.")
            % {
                "current": OrderStatus(current).label.lower(),
                "target": OrderStatus(target).label.lower(),
                "allowed": labels,
            },
            details={
                "current_status": str(current),
                "requested_status": str(target),
                "allowed_statuses": [str(s) for s in self.allowed],
            },
        )


class TransitionBlocked(ShipshapeError):
    """The move is in the table, but a requirement is not met yet (not paid, items not shipped...)."""

    code = "transition_blocked"
    http_status = 409

    def __init__(self, *, current: str, target: str, reason: str):
        self.current, self.target, self.reason = current, target, reason
        super().__init__(
            reason,
            details={"current_status": str(current), "requested_status": str(target), "reason": reason},
        )


class StaleVersion(ShipshapeError):
    code = "stale_version"
    http_status = 409

    def __init__(self, *, expected: int, actual: int):
        super().__init__(
            _("This order changed since you opened it. Reload it and try again."),
            details={"expected_version": expected, "current_version": actual},
        )


class InvalidInput(ShipshapeError):
    """Input that breaks a rule; ``field`` names what to fix."""

    code = "invalid"
    http_status = 422

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None, **details):
        if code:
            self.code = code
        self.field = field
        super().__init__(message, details={"field": field, **details} if field else details)


class OrderNotPending(InvalidInput):
    """The items of an order change only while it is pending: a conflict with the order's state (409, like
    an illegal move), naming its status."""

    http_status = 409

    def __init__(self, status: str):
        super().__init__(
            _("Items can only change while the order is pending."),
            field="lines",
            code="not_pending",
            status=status,
        )


class CouponRejected(InvalidInput):
    def __init__(self, message: str, *, reason: str, coupon_code: str):
        super().__init__(message, field="coupon_code", code=f"coupon_{reason}", coupon_code=coupon_code)
        self.reason = reason
