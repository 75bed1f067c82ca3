"""Every change to an order goes through these functions. See docs/architecture.md."""

from .buyer import (
    approve_request,
    decline_request,
    leave_feedback,
    post_buyer_message,
    request_address_change,
    request_cancellation,
    set_return_tracking_number,
)
from .changes import Actor, lock_order
from .checklist import missing_checklist_steps, update_checklist
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
from .modifications import (
    LinesChange,
    ModificationPolicy,
    approve_modification,
    decline_modification,
    modification_policy,
    request_modification,
    seller_modify_lines,
)
from .placing import LineSpec, place_order
from .returns import approve_return, receive_return, refund_return, reject_return, request_return

__all__ = [
    "Actor",
    "LineSpec",
    "LinesChange",
    "ModificationPolicy",
    "ParcelSpec",
    "add_note",
    "approve_modification",
    "approve_request",
    "approve_return",
    "cancel_order",
    "change_shipping_address",
    "decline_modification",
    "decline_request",
    "deliver_order",
    "deliver_shipment",
    "leave_feedback",
    "lock_order",
    "mark_paid",
    "message_buyer",
    "missing_checklist_steps",
    "modification_policy",
    "modify_lines",
    "place_order",
    "post_buyer_message",
    "process_order",
    "quote_coupon",
    "receive_return",
    "refund_return",
    "reject_return",
    "request_address_change",
    "request_cancellation",
    "request_modification",
    "request_return",
    "return_to_sender",
    "seller_modify_lines",
    "set_return_tracking_number",
    "ship_order",
    "update_checklist",
]
