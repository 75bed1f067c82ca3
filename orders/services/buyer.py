"""What the buyer does from the tracking page, and the seller's answer to the buyer's requests.

An address change or a cancellation the rules settle at once is applied at once (and its request row recorded
as approved with no seller); otherwise it becomes an open ``BuyerRequest`` that the seller approves or
declines from the dashboard, and the buyer is emailed the outcome. Messages, return parcel numbers and
feedback are recorded on the order's timeline.
"""

import re
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..errors import InvalidInput
from ..models import (
    BuyerRequest,
    EventKind,
    Feedback,
    Order,
    RequestKind,
    RequestStatus,
    Return,
    ReturnStatus,
)
from ..notifications import queue_customer_email
from ..states import NOT_YET_SHIPPED, OrderStatus
from .changes import Actor, decide_request, lock_order, record_event, save_change
from .editing import change_shipping_address
from .fulfilment import cancel_order
from .modifications import approve_modification, decline_modification
from .placing import ADDRESS_FIELDS, clean_address

BUYER = Actor.buyer()
MESSAGE_MAX_LENGTH = 2000
REASON_MAX_LENGTH = 300
DECLINE_REASON_MAX_LENGTH = BuyerRequest._meta.get_field("decline_reason").max_length
FEEDBACK_COMMENT_MAX_LENGTH = 2000
# Return parcel numbers: letters, digits, spaces and dashes, as carriers print them.
RETURN_TRACKING_NUMBER = re.compile(r"^[A-Z0-9][A-Z0-9 -]{3,62}[A-Z0-9]$")
# Returns whose parcel may still be on its way back to the seller.
RETURNS_AWAITING_PARCEL = (ReturnStatus.REQUESTED, ReturnStatus.APPROVED)


def has_shipped(order: Order) -> bool:
    """Anything left the warehouse: the order moved past processed, or a first parcel of a split order."""
    return order.status not in NOT_YET_SHIPPED or order.shipments.exists()


def return_window_closes_at(order: Order):
    """When the buyer can no longer ask for a return (None: the order was never delivered)."""
    if order.delivered_at is None:
        return None
    return order.delivered_at + timedelta(days=order.shop.return_window_days)


def _current_address(order: Order) -> dict:
    return {key: getattr(order, f"ship_{key}") for key in ADDRESS_FIELDS}


def _clean_text(text: str, *, limit: int, field: str, empty: str, too_long: str) -> str:
    text = (text or "").strip()
    if not text:
        raise InvalidInput(empty, field=field, code="empty")
    if len(text) > limit:
        raise InvalidInput(too_long, field=field, code="too_long", limit=limit)
    return text


def _open_request(order: Order, kind: str) -> BuyerRequest | None:
    return (
        BuyerRequest.objects.select_for_update()
        .filter(order=order, kind=kind, status=RequestStatus.OPEN)
        .first()
    )


def _close_open_requests(order: Order, *, reason: str, exclude: BuyerRequest | None = None) -> int:
    """A cancelled order answers every other open request: they are declined, without an email of their own
    (the buyer receives the cancellation email)."""
    requests = BuyerRequest.objects.filter(order=order, status=RequestStatus.OPEN)
    if exclude is not None:
        requests = requests.exclude(pk=exclude.pk)
    return requests.update(
        status=RequestStatus.DECLINED, decline_reason=reason[:500], decided_at=timezone.now()
    )


# --- The buyer's side -------------------------------------------------------------------------------------


@transaction.atomic
def request_address_change(
    order: Order, *, address: dict, message: str = "", by: Actor = BUYER
) -> BuyerRequest:
    """The buyer proposes a new shipping address. Refused once anything has shipped. While the order is
    pending and the shop applies buyers' changes at once, it is applied now; otherwise it waits for the
    seller. A second proposal while one is open replaces the open one's address (the buyer corrects it)."""
    order = lock_order(order)
    if order.status in (OrderStatus.CANCELLED, OrderStatus.RETURNED):
        raise InvalidInput(
            _("This order is closed; its address can no longer change."),
            field="shipping_address",
            code="order_closed",
        )
    if has_shipped(order):
        raise InvalidInput(
            _("Your order has already shipped, so its address can no longer change."),
            field="shipping_address",
            code="already_shipped",
        )
    new = clean_address(address)
    if new == _current_address(order):
        raise InvalidInput(
            _("This is already the shipping address of your order."),
            field="shipping_address",
            code="unchanged",
        )
    message = (message or "").strip()[:1000]
    now = timezone.now()
    open_request = _open_request(order, RequestKind.ADDRESS_CHANGE)

    if order.status == OrderStatus.PENDING and order.shop.apply_buyer_address_changes:
        if open_request is not None:  # the new address answers an older open proposal too
            open_request.status = RequestStatus.WITHDRAWN
            open_request.decided_at = now
            open_request.save(update_fields=["status", "decided_at"])
        buyer_request = BuyerRequest.objects.create(
            shop_id=order.shop_id,
            order=order,
            kind=RequestKind.ADDRESS_CHANGE,
            status=RequestStatus.APPROVED,
            payload=new,
            message=message,
            decided_at=now,
        )
        change_shipping_address(order, address=new, by=by, event_data={"request_id": buyer_request.pk})
        return buyer_request

    if open_request is not None:
        open_request.payload = new
        open_request.message = message
        open_request.save(update_fields=["payload", "message"])
        buyer_request, replaced = open_request, True
    else:
        buyer_request = BuyerRequest.objects.create(
            shop_id=order.shop_id, order=order, kind=RequestKind.ADDRESS_CHANGE, payload=new, message=message
        )
        replaced = False
    save_change(order, [])
    record_event(
        order,
        EventKind.ADDRESS_CHANGE_REQUESTED,
        by=by,
        message=message or _("New address proposed"),
        data={"request_id": buyer_request.pk, "address": new, "replaces_earlier_proposal": replaced},
    )
    return buyer_request


@transaction.atomic
def request_cancellation(order: Order, *, reason: str, by: Actor = BUYER) -> BuyerRequest:
    """The buyer cancels. A pending order is cancelled at once (refunded if paid); a processed order with
    nothing shipped becomes a request for the seller; once anything has shipped, it is refused."""
    reason = _clean_text(
        reason,
        limit=REASON_MAX_LENGTH,
        field="reason",
        empty=_("Say why you want to cancel."),
        too_long=_("Use at most %(count)s characters for the reason.") % {"count": REASON_MAX_LENGTH},
    )
    order = lock_order(order)
    if order.status == OrderStatus.CANCELLED:
        raise InvalidInput(_("This order is already cancelled."), field="order", code="already_cancelled")
    if order.status == OrderStatus.RETURNED:
        raise InvalidInput(_("This order is closed."), field="order", code="order_closed")
    if has_shipped(order):
        if order.status == OrderStatus.DELIVERED:
            message = _(
                "Your order was delivered, so it can no longer be cancelled. "
                "You can ask to return it instead."
            )
        else:
            message = _(
                "Your order has already shipped, so it can no longer be cancelled. Once it is delivered, "
                "you can ask to return it."
            )
        raise InvalidInput(message, field="order", code="already_shipped")
    now = timezone.now()

    if order.status == OrderStatus.PENDING:
        buyer_request = BuyerRequest.objects.create(
            shop_id=order.shop_id,
            order=order,
            kind=RequestKind.CANCELLATION,
            status=RequestStatus.APPROVED,
            payload={"reason": reason},
            message=reason,
            decided_at=now,
        )
        cancel_order(order, reason=_("Cancelled by the buyer: %(reason)s") % {"reason": reason}, by=by)
        _close_open_requests(order, reason=_("The order was cancelled."), exclude=buyer_request)
        return buyer_request

    if _open_request(order, RequestKind.CANCELLATION) is not None:
        raise InvalidInput(
            _("You already asked to cancel this order; the seller will answer soon."),
            field="order",
            code="already_requested",
        )
    buyer_request = BuyerRequest.objects.create(
        shop_id=order.shop_id,
        order=order,
        kind=RequestKind.CANCELLATION,
        payload={"reason": reason},
        message=reason,
    )
    save_change(order, [])
    record_event(
        order, EventKind.CANCELLATION_REQUESTED, by=by, message=reason, data={"request_id": buyer_request.pk}
    )
    return buyer_request


@transaction.atomic
def post_buyer_message(order: Order, *, text: str, by: Actor = BUYER) -> Order:
    """A message from the buyer to the seller, kept on the timeline. The order waits for the seller's reply
    (``awaiting_reply_since``, cleared by ``message_buyer``) from the first unanswered message."""
    text = _clean_text(
        text,
        limit=MESSAGE_MAX_LENGTH,
        field="text",
        empty=_("Write your message first."),
        too_long=_("Use at most %(count)s characters for the message.") % {"count": MESSAGE_MAX_LENGTH},
    )
    order = lock_order(order)
    record_event(order, EventKind.MESSAGE_FROM_BUYER, by=by, message=text[:500], data={"text": text})
    if order.awaiting_reply_since is None:
        order.awaiting_reply_since = timezone.now()
        save_change(order, ["awaiting_reply_since"])
    return order


@transaction.atomic
def set_return_tracking_number(
    return_request: Return, *, order: Order, tracking_number: str, by: Actor = BUYER
) -> Return:
    """The buyer enters the tracking number of the parcel sending the items back. Only for a return of this
    order that is still waiting for its parcel (requested or approved)."""
    number = " ".join((tracking_number or "").upper().split())
    if not number:
        raise InvalidInput(
            _("Enter the tracking number of your return parcel."), field="tracking_number", code="empty"
        )
    if not RETURN_TRACKING_NUMBER.match(number):
        raise InvalidInput(
            _("A tracking number has 5 to 64 letters, digits, spaces or dashes."),
            field="tracking_number",
            code="invalid",
        )
    order = lock_order(order)
    return_request = Return.objects.select_for_update().filter(order=order, pk=return_request.pk).first()
    if return_request is None:
        raise InvalidInput(_("That return is not part of this order."), field="return", code="unknown_return")
    if return_request.status not in RETURNS_AWAITING_PARCEL:
        raise InvalidInput(
            _("The tracking number of this return can no longer change (status: %(status)s).")
            % {"status": return_request.get_status_display()},
            field="tracking_number",
            code="return_closed",
        )
    return_request.return_tracking_number = number
    return_request.save(update_fields=["return_tracking_number"])
    save_change(order, [])
    # The timeline has no kind of its own for this yet: a note from the buyer (the seller's timeline only).
    record_event(
        order,
        EventKind.NOTE,
        by=by,
        message=_("Return parcel tracking number: %(number)s") % {"number": number},
        data={"return_id": return_request.pk, "return_tracking_number": number},
    )
    return return_request


@transaction.atomic
def leave_feedback(order: Order, *, rating: int, comment: str = "", by: Actor = BUYER) -> Feedback:
    """The buyer rates the order from 1 to 5 with a comment: only after delivery, once per order."""
    try:
        rating = int(rating)
    except (TypeError, ValueError):
        rating = 0
    if not 1 <= rating <= 5:
        raise InvalidInput(_("Choose a rating from 1 to 5."), field="rating", code="invalid_rating")
    comment = (comment or "").strip()
    if len(comment) > FEEDBACK_COMMENT_MAX_LENGTH:
        raise InvalidInput(
            _("Use at most %(count)s characters for the comment.") % {"count": FEEDBACK_COMMENT_MAX_LENGTH},
            field="comment",
            code="too_long",
        )
    order = lock_order(order)
    if order.delivered_at is None or order.status not in (OrderStatus.DELIVERED, OrderStatus.RETURNED):
        raise InvalidInput(
            _("You can leave feedback once your order is delivered."), field="order", code="not_delivered"
        )
    if Feedback.objects.filter(order=order).exists():
        raise InvalidInput(
            _("You already left feedback for this order. Thank you!"), field="order", code="already_left"
        )
    feedback = Feedback.objects.create(shop_id=order.shop_id, order=order, rating=rating, comment=comment)
    record_event(
        order,
        EventKind.FEEDBACK_LEFT,
        by=by,
        message=f"{rating}/5" + (f": {comment}" if comment else ""),
        data={"feedback_id": feedback.pk, "rating": rating, "comment": comment},
    )
    return feedback


# --- The seller's answer ----------------------------------------------------------------------------------


def _lock_request(shop, request_id: int, expected_version: int | None) -> tuple[Order, BuyerRequest]:
    """The order row first, then the request (the lock order every service keeps). A request of another
    shop raises ``BuyerRequest.DoesNotExist``, as a missing one does."""
    order_id = BuyerRequest.objects.filter(shop=shop).values_list("order_id", flat=True).get(pk=request_id)
    order = lock_order(order_id, expected_version=expected_version)
    buyer_request = BuyerRequest.objects.select_for_update().get(pk=request_id, shop=shop)
    if buyer_request.status != RequestStatus.OPEN:
        raise InvalidInput(
            _("This request was already answered (%(status)s).")
            % {"status": buyer_request.get_status_display().lower()},
            field="request",
            code="already_decided",
        )
    return order, buyer_request


def _is_modification(shop, request_id: int) -> bool:
    """Item changes have their own rules (orders/services/modifications.py); this door hands them over."""
    kind = BuyerRequest.objects.filter(shop=shop).values_list("kind", flat=True).get(pk=request_id)
    return kind == RequestKind.MODIFICATION


REFUSAL_TEMPLATES = {
    RequestKind.ADDRESS_CHANGE: "address_change_refused",
    RequestKind.CANCELLATION: "cancellation_refused",
}


def _refuse(order: Order, buyer_request: BuyerRequest, *, reason: str, by: Actor) -> BuyerRequest:
    decide_request(buyer_request, RequestStatus.DECLINED, by=by, reason=reason)
    save_change(order, [])
    event = record_event(
        order,
        EventKind.REQUEST_DECLINED,
        by=by,
        message=reason,
        data={"request_id": buyer_request.pk, "kind": buyer_request.kind, "reason": reason},
    )
    queue_customer_email(
        order,
        event,
        REFUSAL_TEMPLATES[buyer_request.kind],
        context={"reason": reason, "request_id": buyer_request.pk},
    )
    return buyer_request


@transaction.atomic
def approve_request(
    request_id: int,
    *,
    shop,
    by: Actor,
    expected_version: int | None = None,
    drop_coupon_if_invalid: bool = False,
) -> BuyerRequest:
    """The seller accepts the buyer's request: the address changes, or the order is cancelled (refunded if
    paid), or the items change, and the buyer is emailed. If the order shipped (for item changes: was
    processed) in the meantime the request cannot be granted any more: it is declined with that reason, and
    the buyer is told; the returned request says which happened. ``drop_coupon_if_invalid`` applies to item
    changes only (see ``approve_modification``)."""
    if _is_modification(shop, request_id):
        return approve_modification(
            request_id,
            shop=shop,
            by=by,
            expected_version=expected_version,
            drop_coupon_if_invalid=drop_coupon_if_invalid,
        )
    order, buyer_request = _lock_request(shop, request_id, expected_version)
    if order.status == OrderStatus.CANCELLED and buyer_request.kind == RequestKind.CANCELLATION:
        # Cancelled meanwhile (by the seller): granted, and the buyer already has the cancellation email.
        decide_request(buyer_request, RequestStatus.APPROVED, by=by)
        save_change(order, [])
        record_event(
            order,
            EventKind.REQUEST_APPROVED,
            by=by,
            message=_("Cancellation approved"),
            data={"request_id": buyer_request.pk, "kind": buyer_request.kind},
        )
        return buyer_request
    if refusal := _no_longer_possible(order, buyer_request.kind):
        return _refuse(order, buyer_request, reason=refusal, by=by)
    decide_request(buyer_request, RequestStatus.APPROVED, by=by)
    data = {"request_id": buyer_request.pk, "kind": buyer_request.kind}
    if buyer_request.kind == RequestKind.ADDRESS_CHANGE:
        event = record_event(
            order, EventKind.REQUEST_APPROVED, by=by, message=_("Address change approved"), data=data
        )
        if clean_address(buyer_request.payload) == _current_address(order):
            # Already the address (the seller typed it in by hand): nothing to change, the buyer is told.
            save_change(order, [])
            queue_customer_email(order, event, "address_change_accepted", context=data)
        else:
            change_shipping_address(
                order,
                address=buyer_request.payload,
                by=by,
                notification="address_change_accepted",
                event_data={"request_id": buyer_request.pk},
            )
        return buyer_request
    record_event(order, EventKind.REQUEST_APPROVED, by=by, message=_("Cancellation approved"), data=data)
    reason = buyer_request.payload.get("reason") or buyer_request.message
    cancel_order(order, reason=_("Cancelled at the buyer's request: %(reason)s") % {"reason": reason}, by=by)
    _close_open_requests(order, reason=_("The order was cancelled."), exclude=buyer_request)
    return buyer_request


def _no_longer_possible(order: Order, kind: str) -> str:
    """Why a request can no longer be granted as the order stands now ("" when it still can)."""
    if order.status == OrderStatus.CANCELLED:
        return _("The order was cancelled.")
    if order.status == OrderStatus.RETURNED:
        return _("The order is closed.")
    if has_shipped(order):
        if kind == RequestKind.ADDRESS_CHANGE:
            return _("The order had already shipped, so the address could no longer change.")
        return _("The order had already shipped, so it could no longer be cancelled.")
    return ""


@transaction.atomic
def decline_request(
    request_id: int, *, shop, reason: str, by: Actor, expected_version: int | None = None
) -> BuyerRequest:
    """The seller refuses the buyer's request, saying why; the buyer is emailed the reason."""
    if _is_modification(shop, request_id):
        return decline_modification(
            request_id, shop=shop, reason=reason, by=by, expected_version=expected_version
        )
    reason = _clean_text(
        reason,
        limit=DECLINE_REASON_MAX_LENGTH,
        field="reason",
        empty=_("Say why the request is declined; the buyer will read it."),
        too_long=_("Use at most %(count)s characters for the reason.") % {"count": DECLINE_REASON_MAX_LENGTH},
    )
    order, buyer_request = _lock_request(shop, request_id, expected_version)
    return _refuse(order, buyer_request, reason=reason, by=by)
