from .coupons import Coupon, CouponKind, CouponRedemption
from .events import ActorKind, EventKind, OrderEvent
from .imports import (
    ExternalOrderRef,
    ImportFormat,
    ImportSource,
    ImportState,
    ImportStatusMapping,
    ItemOutcome,
    OrderImport,
    OrderImportItem,
)
from .notifications import (
    Channel,
    Notification,
    NotificationStatus,
    NotificationTemplate,
    Suppression,
    WebhookEndpoint,
)
from .order import Order, OrderLine
from .requests import BuyerRequest, Feedback, RequestKind, RequestStatus
from .returns import Return, ReturnLine, ReturnStatus

__all__ = [
    "ActorKind",
    "BuyerRequest",
    "Channel",
    "Coupon",
    "CouponKind",
    "CouponRedemption",
    "EventKind",
    "ExternalOrderRef",
    "Feedback",
    "ImportFormat",
    "ImportSource",
    "ImportState",
    "ImportStatusMapping",
    "ItemOutcome",
    "Notification",
    "NotificationStatus",
    "NotificationTemplate",
    "Order",
    "OrderEvent",
    "OrderImport",
    "OrderImportItem",
    "OrderLine",
    "RequestKind",
    "RequestStatus",
    "Return",
    "ReturnLine",
    "ReturnStatus",
    "Suppression",
    "WebhookEndpoint",
]
