from .coupons import Coupon, CouponKind, CouponRedemption
from .events import ActorKind, EventKind, OrderEvent
from .notifications import Channel, Notification, NotificationStatus
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
    "Order",
    "OrderEvent",
    "OrderLine",
    "Return",
    "ReturnLine",
    "ReturnStatus",
]
