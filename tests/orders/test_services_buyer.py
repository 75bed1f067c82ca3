"""What the buyer does from the tracking page, and the seller's answer to the buyer's requests."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from orders.errors import InvalidInput, StaleVersion
from orders.models import (
    BuyerRequest,
    EventKind,
    Feedback,
    Notification,
    OrderEvent,
    RequestKind,
    RequestStatus,
    ReturnStatus,
)
from orders.notifications.email import render_message
from orders.services import (
    Actor,
    ParcelSpec,
    approve_request,
    approve_return,
    cancel_order,
    decline_request,
    leave_feedback,
    message_buyer,
    post_buyer_message,
    reject_return,
    request_address_change,
    request_cancellation,
    request_modification,
    request_return,
    set_return_tracking_number,
    ship_order,
)
from orders.states import OrderStatus, PaymentStatus
from tests.factories import ADDRESS, SELLER, UserFactory, order_in, tracking_number

BUYER = Actor.buyer()
NEW_ADDRESS = {
    "name": "Ada Buyer",
    "line1": "3 Quay Lane",
    "city": "Bristol",
    "postal_code": "BS1 4DJ",
    "country": "gb",
}


@pytest.fixture
def seller(shop):
    return Actor.seller(UserFactory())


def emails(order, template=None):
    rows = Notification.objects.filter(order=order, channel="email")
    return list(rows.filter(template=template) if template else rows)


def events(order, kind):
    return list(OrderEvent.objects.filter(order=order, kind=kind))


def unchanged(order):
    """What a refusal must leave as it was."""
    order.refresh_from_db()
    return (
        order.status,
        order.version,
        order.ship_line1,
        OrderEvent.objects.filter(order=order).count(),
        Notification.objects.filter(order=order).count(),
        BuyerRequest.objects.filter(order=order).count(),
    )


# --- Address change ---------------------------------------------------------------------------------------


def test_an_address_change_waits_for_the_seller_by_default(shop):
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    version = order.version
    buyer_request = request_address_change(order, address=NEW_ADDRESS, message="New flat", by=BUYER)
    order.refresh_from_db()
    assert buyer_request.status == RequestStatus.OPEN
    assert buyer_request.kind == RequestKind.ADDRESS_CHANGE
    assert buyer_request.payload["line1"] == "3 Quay Lane" and buyer_request.payload["country"] == "GB"
    assert buyer_request.message == "New flat"
    assert order.ship_line1 == ADDRESS["line1"]  # not applied yet
    assert order.version == version + 1
    [event] = events(order, EventKind.ADDRESS_CHANGE_REQUESTED)
    assert event.actor_kind == "buyer" and event.data["request_id"] == buyer_request.pk
    assert not emails(order, "address_changed")


def test_a_pending_order_takes_the_address_at_once_when_the_shop_allows(shop):
    shop.apply_buyer_address_changes = True
    shop.save()
    order = order_in(OrderStatus.PENDING, shop=shop)
    buyer_request = request_address_change(order, address=NEW_ADDRESS, by=BUYER)
    order.refresh_from_db()
    assert order.ship_line1 == "3 Quay Lane"
    assert buyer_request.status == RequestStatus.APPROVED
    assert buyer_request.decided_by is None and buyer_request.decided_at is not None
    [event] = events(order, EventKind.ADDRESS_CHANGED)
    assert event.actor_kind == "buyer" and event.data["request_id"] == buyer_request.pk
    assert len(emails(order, "address_changed")) == 1
    assert not events(order, EventKind.ADDRESS_CHANGE_REQUESTED)


def test_a_processed_order_waits_even_when_the_shop_applies_changes_while_pending(shop):
    shop.apply_buyer_address_changes = True
    shop.save()
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    assert request_address_change(order, address=NEW_ADDRESS, by=BUYER).status == RequestStatus.OPEN


def test_a_second_proposal_replaces_the_open_one(shop):
    order = order_in(OrderStatus.PENDING, shop=shop)
    first = request_address_change(order, address=NEW_ADDRESS, by=BUYER)
    second = request_address_change(order, address={**NEW_ADDRESS, "line1": "4 Quay Lane"}, by=BUYER)
    assert second.pk == first.pk
    assert BuyerRequest.objects.filter(order=order).count() == 1
    assert BuyerRequest.objects.get().payload["line1"] == "4 Quay Lane"
    assert [
        e.data["replaces_earlier_proposal"] for e in events(order, EventKind.ADDRESS_CHANGE_REQUESTED)
    ] == [
        False,
        True,
    ]


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (OrderStatus.SHIPPED, "already_shipped"),
        (OrderStatus.DELIVERED, "already_shipped"),
        (OrderStatus.CANCELLED, "order_closed"),
    ],
)
def test_an_address_change_is_refused_once_shipped_or_closed(shop, status, code):
    order = order_in(status, shop=shop)
    before = unchanged(order)
    with pytest.raises(InvalidInput) as refused:
        request_address_change(order, address=NEW_ADDRESS, by=BUYER)
    assert refused.value.code == code
    assert unchanged(order) == before


def test_an_address_change_is_refused_once_a_first_parcel_left(shop):
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    line = order.lines.first()
    ship_order(
        order,
        parcels=[ParcelSpec(tracking_number=tracking_number(), lines={line.pk: 1})],
        by=SELLER,
    )
    with pytest.raises(InvalidInput, match="already shipped"):
        request_address_change(order, address=NEW_ADDRESS, by=BUYER)


def test_an_address_change_checks_the_address(shop):
    order = order_in(OrderStatus.PENDING, shop=shop)
    with pytest.raises(InvalidInput) as missing:
        request_address_change(order, address={**NEW_ADDRESS, "city": " "}, by=BUYER)
    assert missing.value.field == "shipping_address.city"
    with pytest.raises(InvalidInput) as same:
        request_address_change(order, address=ADDRESS, by=BUYER)
    assert same.value.code == "unchanged"


# --- Cancellation -----------------------------------------------------------------------------------------


def test_a_pending_order_is_cancelled_at_once_and_refunded(shop):
    order = order_in(OrderStatus.PENDING, shop=shop)
    buyer_request = request_cancellation(order, reason="Ordered twice", by=BUYER)
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert order.payment_status == PaymentStatus.REFUNDED
    assert "Ordered twice" in order.cancel_reason
    assert buyer_request.status == RequestStatus.APPROVED and buyer_request.decided_by is None
    [event] = events(order, EventKind.CANCELLED)
    assert event.actor_kind == "buyer"
    assert len(emails(order, "order_cancelled")) == 1


def test_a_processed_order_becomes_a_cancellation_request(shop):
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    buyer_request = request_cancellation(order, reason="Found it cheaper", by=BUYER)
    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSED
    assert buyer_request.status == RequestStatus.OPEN and buyer_request.kind == RequestKind.CANCELLATION
    [event] = events(order, EventKind.CANCELLATION_REQUESTED)
    assert event.message == "Found it cheaper" and event.actor_kind == "buyer"
    assert not emails(order, "order_cancelled")
    with pytest.raises(InvalidInput) as again:
        request_cancellation(order, reason="Please", by=BUYER)
    assert again.value.code == "already_requested"


@pytest.mark.parametrize("status", [OrderStatus.SHIPPED, OrderStatus.DELIVERED])
def test_cancelling_after_shipping_is_refused_with_the_way_out(shop, status):
    order = order_in(status, shop=shop)
    before = unchanged(order)
    with pytest.raises(InvalidInput) as refused:
        request_cancellation(order, reason="Changed my mind", by=BUYER)
    assert refused.value.code == "already_shipped"
    assert "return" in refused.value.message
    assert unchanged(order) == before


def test_cancelling_needs_a_reason_and_a_short_one(shop):
    order = order_in(OrderStatus.PENDING, shop=shop)
    with pytest.raises(InvalidInput) as empty:
        request_cancellation(order, reason="  ", by=BUYER)
    assert empty.value.code == "empty"
    with pytest.raises(InvalidInput) as too_long:
        request_cancellation(order, reason="x" * 301, by=BUYER)
    assert too_long.value.code == "too_long"


# --- The seller's answer ----------------------------------------------------------------------------------


def test_approving_an_address_change_applies_it_and_emails_the_buyer_once(shop, seller):
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    buyer_request = request_address_change(order, address=NEW_ADDRESS, by=BUYER)
    decided = approve_request(buyer_request.pk, shop=shop, by=seller)
    order.refresh_from_db()
    assert decided.status == RequestStatus.APPROVED and decided.decided_by == seller.user
    assert order.ship_line1 == "3 Quay Lane"
    assert len(events(order, EventKind.REQUEST_APPROVED)) == 1
    assert len(events(order, EventKind.ADDRESS_CHANGED)) == 1
    assert len(emails(order, "address_change_accepted")) == 1
    assert not emails(order, "address_changed")  # one email, not two


def test_approving_an_address_change_after_the_order_shipped_declines_it(shop, seller):
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    buyer_request = request_address_change(order, address=NEW_ADDRESS, by=BUYER)
    ship_order(order, parcels=[ParcelSpec(tracking_number=tracking_number())], by=SELLER)
    decided = approve_request(buyer_request.pk, shop=shop, by=seller)
    order.refresh_from_db()
    assert decided.status == RequestStatus.DECLINED
    assert "already shipped" in decided.decline_reason
    assert order.ship_line1 == ADDRESS["line1"]
    assert len(events(order, EventKind.REQUEST_DECLINED)) == 1
    [refusal] = emails(order, "address_change_refused")
    assert "already shipped" in refusal.context["reason"]


def test_approving_a_cancellation_cancels_and_refunds(shop, seller):
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    cancellation = request_cancellation(order, reason="Too slow", by=BUYER)
    address = request_address_change(order, address=NEW_ADDRESS, by=BUYER)
    approve_request(cancellation.pk, shop=shop, by=seller)
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED and order.payment_status == PaymentStatus.REFUNDED
    assert len(emails(order, "order_cancelled")) == 1
    assert not emails(order, "cancellation_refused")
    address.refresh_from_db()
    assert address.status == RequestStatus.DECLINED  # the other open request is answered by the cancellation


def test_approving_a_cancellation_after_the_order_shipped_declines_it(shop, seller):
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    cancellation = request_cancellation(order, reason="Too slow", by=BUYER)
    ship_order(order, parcels=[ParcelSpec(tracking_number=tracking_number())], by=SELLER)
    decided = approve_request(cancellation.pk, shop=shop, by=seller)
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED
    assert decided.status == RequestStatus.DECLINED
    assert len(emails(order, "cancellation_refused")) == 1


def test_a_cancellation_request_on_an_order_the_seller_cancelled_meanwhile_is_granted_quietly(shop, seller):
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    cancellation = request_cancellation(order, reason="Too slow", by=BUYER)
    cancel_order(order, reason="Out of stock", by=seller)
    assert approve_request(cancellation.pk, shop=shop, by=seller).status == RequestStatus.APPROVED
    assert not emails(order, "cancellation_refused")


@pytest.mark.parametrize(
    ("kind", "template"),
    [
        (RequestKind.ADDRESS_CHANGE, "address_change_refused"),
        (RequestKind.CANCELLATION, "cancellation_refused"),
    ],
)
def test_declining_tells_the_buyer_why(shop, seller, kind, template):
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    if kind == RequestKind.ADDRESS_CHANGE:
        buyer_request = request_address_change(order, address=NEW_ADDRESS, by=BUYER)
    else:
        buyer_request = request_cancellation(order, reason="Too slow", by=BUYER)
    with pytest.raises(InvalidInput, match="Say why"):
        decline_request(buyer_request.pk, shop=shop, reason=" ", by=seller)
    decided = decline_request(buyer_request.pk, shop=shop, reason="Already packed", by=seller)
    order.refresh_from_db()
    assert decided.status == RequestStatus.DECLINED and decided.decline_reason == "Already packed"
    assert order.status == OrderStatus.PROCESSED and order.ship_line1 == ADDRESS["line1"]
    [event] = events(order, EventKind.REQUEST_DECLINED)
    assert event.message == "Already packed" and event.actor == seller.user
    [email] = emails(order, template)
    assert email.context["reason"] == "Already packed"
    subject, text, html = render_message(order, template, extra=email.context)
    assert "Already packed" in text and "Already packed" in html and order.number in subject


def test_a_decided_request_cannot_be_decided_again(shop, seller):
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    buyer_request = request_address_change(order, address=NEW_ADDRESS, by=BUYER)
    decline_request(buyer_request.pk, shop=shop, reason="No", by=seller)
    with pytest.raises(InvalidInput) as again:
        approve_request(buyer_request.pk, shop=shop, by=seller)
    assert again.value.code == "already_decided"


def test_another_shops_request_is_out_of_reach(shop, other_shop, seller):
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    buyer_request = request_cancellation(order, reason="Too slow", by=BUYER)
    with pytest.raises(BuyerRequest.DoesNotExist):
        approve_request(buyer_request.pk, shop=other_shop, by=seller)
    with pytest.raises(BuyerRequest.DoesNotExist):
        decline_request(buyer_request.pk, shop=other_shop, reason="No", by=seller)
    buyer_request.refresh_from_db()
    assert buyer_request.status == RequestStatus.OPEN


def test_a_stale_version_is_refused(shop, seller):
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    buyer_request = request_cancellation(order, reason="Too slow", by=BUYER)
    with pytest.raises(StaleVersion):
        approve_request(buyer_request.pk, shop=shop, by=seller, expected_version=order.version - 1)


def test_item_change_requests_are_answered_through_the_same_door(shop, other_shop, seller):
    """approve_request/decline_request hand item changes to orders/services/modifications.py."""
    order = order_in(OrderStatus.PENDING, shop=shop)
    line = order.lines.first()
    wanted = line.quantity + 1
    asked = request_modification(order, changes=[{"line_id": line.pk, "quantity": wanted}], by=BUYER)
    approved = approve_request(asked.pk, shop=shop, by=seller)
    assert approved.status == RequestStatus.APPROVED
    line.refresh_from_db()
    assert line.quantity == wanted

    again = request_modification(order, changes=[{"line_id": line.pk, "variant": "XL"}], by=BUYER)
    with pytest.raises(BuyerRequest.DoesNotExist):
        approve_request(again.pk, shop=other_shop, by=seller)
    declined = decline_request(again.pk, shop=shop, reason="Out of XL", by=seller)
    assert declined.status == RequestStatus.DECLINED
    assert declined.decline_reason == "Out of XL"
    line.refresh_from_db()
    assert line.variant != "XL"


# --- Messages ---------------------------------------------------------------------------------------------


def test_a_buyer_message_waits_for_the_sellers_reply(shop, seller):
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    post_buyer_message(order, text="  Where is my parcel?  ", by=BUYER)
    order.refresh_from_db()
    first_wait = order.awaiting_reply_since
    assert first_wait is not None
    post_buyer_message(order, text="Hello?", by=BUYER)
    order.refresh_from_db()
    assert order.awaiting_reply_since == first_wait  # waiting since the first unanswered message
    assert [e.data["text"] for e in events(order, EventKind.MESSAGE_FROM_BUYER)] == [
        "Where is my parcel?",
        "Hello?",
    ]
    version = order.version
    message_buyer(order, text="It leaves today.", by=seller)
    order.refresh_from_db()
    assert order.awaiting_reply_since is None
    assert order.version == version + 1
    assert len(emails(order, "seller_message")) == 1


def test_a_sellers_message_without_a_question_changes_nothing_else(shop, seller):
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    version = order.version
    message_buyer(order, text="Thanks for your order", by=seller)
    order.refresh_from_db()
    assert order.awaiting_reply_since is None and order.version == version


@pytest.mark.parametrize(("text", "code"), [("   ", "empty"), ("x" * 2001, "too_long")])
def test_a_buyer_message_must_say_something_short(shop, text, code):
    order = order_in(OrderStatus.PENDING, shop=shop)
    with pytest.raises(InvalidInput) as refused:
        post_buyer_message(order, text=text, by=BUYER)
    assert refused.value.code == code and refused.value.field == "text"
    order.refresh_from_db()
    assert order.awaiting_reply_since is None


# --- Returns ----------------------------------------------------------------------------------------------


def test_the_buyer_returns_within_the_window_and_adds_the_parcel_number(shop):
    order = order_in(OrderStatus.DELIVERED, shop=shop)
    line = order.lines.first()
    return_request = request_return(order, lines={line.pk: 1}, reason="Too small", by=BUYER)
    set_return_tracking_number(return_request, order=order, tracking_number=" 1z 999aa1 ", by=BUYER)
    return_request.refresh_from_db()
    assert return_request.return_tracking_number == "1Z 999AA1"
    note = OrderEvent.objects.filter(order=order, kind=EventKind.NOTE).last()
    assert note.actor_kind == "buyer" and note.data["return_tracking_number"] == "1Z 999AA1"
    approve_return(return_request, by=SELLER)
    set_return_tracking_number(return_request, order=order, tracking_number="JD0002", by=BUYER)
    return_request.refresh_from_db()
    assert return_request.return_tracking_number == "JD0002"


def test_a_return_outside_the_window_is_refused(shop):
    order = order_in(OrderStatus.DELIVERED, shop=shop)
    order.delivered_at = timezone.now() - timedelta(days=shop.return_window_days + 1)
    order.save(update_fields=["delivered_at"])
    with pytest.raises(InvalidInput) as refused:
        request_return(order, lines={order.lines.first().pk: 1}, reason="Too small", by=BUYER)
    assert refused.value.code == "window_closed"


def test_a_return_parcel_number_is_checked(shop):
    order = order_in(OrderStatus.DELIVERED, shop=shop)
    other = order_in(OrderStatus.DELIVERED, shop=shop)
    return_request = request_return(order, lines={order.lines.first().pk: 1}, reason="Too small", by=BUYER)
    for bad, code in (("", "empty"), ("<b>", "invalid"), ("12", "invalid")):
        with pytest.raises(InvalidInput) as refused:
            set_return_tracking_number(return_request, order=order, tracking_number=bad, by=BUYER)
        assert refused.value.code == code
    with pytest.raises(InvalidInput) as not_this_order:
        set_return_tracking_number(return_request, order=other, tracking_number="1Z999AA1", by=BUYER)
    assert not_this_order.value.code == "unknown_return"
    assert reject_return(return_request, reason="Worn", by=SELLER).status == ReturnStatus.REJECTED
    with pytest.raises(InvalidInput) as closed:
        set_return_tracking_number(return_request, order=order, tracking_number="1Z999AA1", by=BUYER)
    assert closed.value.code == "return_closed"


# --- Feedback ---------------------------------------------------------------------------------------------


def test_feedback_once_after_delivery(shop):
    order = order_in(OrderStatus.DELIVERED, shop=shop)
    feedback = leave_feedback(order, rating=5, comment=" Lovely ", by=BUYER)
    assert (feedback.rating, feedback.comment, feedback.shop) == (5, "Lovely", shop)
    [event] = events(order, EventKind.FEEDBACK_LEFT)
    assert event.data["rating"] == 5 and event.actor_kind == "buyer"
    with pytest.raises(InvalidInput) as second:
        leave_feedback(order, rating=1, comment="Changed my mind", by=BUYER)
    assert second.value.code == "already_left"
    assert Feedback.objects.get(order=order).rating == 5


@pytest.mark.parametrize("status", [OrderStatus.PENDING, OrderStatus.SHIPPED, OrderStatus.CANCELLED])
def test_feedback_before_delivery_is_refused(shop, status):
    order = order_in(status, shop=shop)
    with pytest.raises(InvalidInput) as refused:
        leave_feedback(order, rating=4, by=BUYER)
    assert refused.value.code == "not_delivered"
    assert not Feedback.objects.exists()


@pytest.mark.parametrize("rating", [0, 6, "five", None])
def test_feedback_rating_is_1_to_5(shop, rating):
    order = order_in(OrderStatus.DELIVERED, shop=shop)
    with pytest.raises(InvalidInput) as refused:
        leave_feedback(order, rating=rating, by=BUYER)
    assert refused.value.field == "rating"


def test_the_decision_email_reaches_the_buyer(shop, seller, settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    buyer_request = request_address_change(order, address=NEW_ADDRESS, by=BUYER)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        approve_request(buyer_request.pk, shop=shop, by=seller)
    [message] = mail.outbox
    assert "accepted" in message.subject and message.to == [order.email]
    assert "Bristol" in message.body and "3 Quay Lane" not in message.body  # city and postcode only


def test_the_refusal_email_escapes_the_reason_in_html(shop, seller):
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    buyer_request = request_cancellation(order, reason="Too slow", by=BUYER)
    decline_request(buyer_request.pk, shop=shop, reason="<b>Packed</b> & labelled", by=seller)
    [email] = emails(order, "cancellation_refused")
    _subject, text, html = render_message(order, "cancellation_refused", extra=email.context)
    assert "&lt;b&gt;Packed&lt;/b&gt; &amp; labelled" in html and "<b>Packed</b>" not in html
    assert "<b>Packed</b> & labelled" in text  # plain text is not HTML
