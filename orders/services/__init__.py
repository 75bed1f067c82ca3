"""Every change to an order goes through these functions. See docs/architecture.md."""

from .changes import Actor, lock_order
from .coupons import quote_coupon
from .editing import add_note, change_shipping_address, message_buyer, modify_lines
from .fulfilment import (
    ParcelSpec,
    cancel_order,
    deliver_order,
    deliver_shipment,
    mark_paid,
    process_order,
    return_to_sender,
    ship_order,
)
from .placing import LineSpec, place_order
from .returns import approve_return, receive_return, refund_return, reject_return, request_return

__all__ = [
    "Actor",
    "LineSpec",
    "ParcelSpec",
    "add_note",
    "approve_return",
    "cancel_order",
    "change_shipping_address",
    "deliver_order",
    "deliver_shipment",
    "lock_order",
    "mark_paid",
    "message_buyer",
    "modify_lines",
    "place_order",
    "process_order",
    "quote_coupon",
    "receive_return",
    "refund_return",
    "reject_return",
    "request_return",
    "return_to_sender",
    "ship_order",
]
