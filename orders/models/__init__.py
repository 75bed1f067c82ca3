from .coupons import Coupon, CouponKind, CouponRedemption
from .events import ActorKind, EventKind, OrderEvent
from .notifications import (
    Channel,
    Notification,
    NotificationStatus,
    NotificationTemplate,
    Suppression,
    WebhookEndpoint,
)
from .order import Order, OrderLine
from .returns import Return, ReturnLine, ReturnStatus

__all__ = [
    "ActorKind",
    "Channel",
    "Coupon",
    "CouponKind",
    "CouponRedemption",
    "EventKind",
    "Notification",
    "NotificationStatus",
    "NotificationTemplate",
    "Order",
    "OrderEvent",
    "OrderLine",
    "Return",
    "ReturnLine",
    "ReturnStatus",
    "Suppression",
    "WebhookEndpoint",
]
