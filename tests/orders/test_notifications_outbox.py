"""The outbox: every change writes its Notification rows with it, a refused or failed change writes none,
and each row is delivered once after the commit."""

import pytest
from django.core import mail

from orders import notifications
from orders.errors import InvalidInput, ShipshapeError
from orders.models import EventKind, Notification, NotificationStatus, OrderEvent
from orders.services import (
    Actor,
    ParcelSpec,
    cancel_order,
    change_shipping_address,
    deliver_order,
    process_order,
    ship_order,
)
from orders.services import fulfilment as fulfilment_services
from orders.states import OrderStatus
from orders.tasks import deliver_notification
from shipping.models import Shipment, TrackingEvent
from tests.factories import ADDRESS, SELLER, order_in, place, tracking_number
from tests.notifications.conftest import deliveries_asked


@pytest.fixture(autouse=True)
def locmem_email(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.CELERY_TASK_ALWAYS_EAGER = True


def written(order):
    order.refresh_from_db()
    return (
        order.status,
        order.version,
        OrderEvent.objects.filter(order=order).count(),
        Notification.objects.filter(order=order).count(),
        Shipment.objects.filter(order=order).count(),
        TrackingEvent.objects.filter(shipment__order=order).count(),
    )


# Each change, from the state it starts in, and the emails it queues.
CHANGES = [
    ("process", OrderStatus.PENDING, lambda o: process_order(o, by=SELLER), ["order_processed"]),
    (
        "cancel",
        OrderStatus.PROCESSED,
        lambda o: cancel_order(o, reason="Out of stock", by=SELLER),
        ["order_cancelled"],
    ),
    (
        "ship",
        OrderStatus.PROCESSED,
        lambda o: ship_order(o, parcels=[ParcelSpec(tracking_number=tracking_number())], by=SELLER),
        ["shipment_shipped"],
    ),
    ("deliver", OrderStatus.SHIPPED, lambda o: deliver_order(o, by=SELLER), ["order_delivered"]),
    (
        "address",
        OrderStatus.PENDING,
        lambda o: change_shipping_address(o, address={**ADDRESS, "line1": "1 New Road"}, by=Actor.buyer()),
        ["address_changed"],
    ),
]


@pytest.mark.parametrize(("name", "start", "change", "templates"), CHANGES, ids=[c[0] for c in CHANGES])
def test_each_change_writes_its_notification_rows(
    shop, django_capture_on_commit_callbacks, name, start, change, templates
):
    order = order_in(start, shop=shop)
    existing = set(Notification.objects.filter(order=order).values_list("pk", flat=True))
    with django_capture_on_commit_callbacks() as callbacks:
        change(order)
    new = Notification.objects.filter(order=order).exclude(pk__in=existing).order_by("id")
    assert [n.template for n in new] == templates
    event = OrderEvent.objects.filter(order=order).order_by("id").last()
    for notification in new:
        assert notification.event == event
        assert notification.status == NotificationStatus.QUEUED
        assert notification.recipient == order.email
        assert notification.dedupe_key.startswith(f"o{order.pk}:e{event.pk}:{notification.template}")
    # Delivery is asked for once per row, and only after the commit.
    assert len(deliveries_asked(callbacks)) == len(templates)


def test_dedupe_keys_are_unique_across_an_orders_life(shop):
    order = order_in(OrderStatus.DELIVERED, shop=shop)
    keys = list(Notification.objects.filter(order=order).values_list("dedupe_key", flat=True))
    assert len(keys) == 4  # confirmed, processed, shipped, delivered
    assert len(set(keys)) == len(keys)


REFUSALS = [
    ("illegal-move", OrderStatus.DELIVERED, lambda o: process_order(o, by=SELLER)),
    ("no-reason", OrderStatus.PENDING, lambda o: cancel_order(o, reason="", by=SELLER)),
    ("stale", OrderStatus.PENDING, lambda o: process_order(o, by=SELLER, expected_version=o.version + 5)),
    (
        "address-after-shipping",
        OrderStatus.SHIPPED,
        lambda o: change_shipping_address(o, address=ADDRESS, by=SELLER),
    ),
    ("unpaid", OrderStatus.PENDING, None),
]


@pytest.mark.parametrize(("name", "start", "change"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_a_refused_change_writes_no_event_and_no_notification(
    shop, django_capture_on_commit_callbacks, name, start, change
):
    if change is None:
        order = order_in(start, shop=shop, paid=False)
        change = lambda o: process_order(o, by=SELLER)  # noqa: E731
    else:
        order = order_in(start, shop=shop)
    before = written(order)
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(ShipshapeError):
        change(order)
    assert written(order) == before
    assert callbacks == []


def test_a_shipment_whose_second_parcel_is_wrong_leaves_nothing_behind(
    shop, django_capture_on_commit_callbacks
):
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    tee, cap = order.lines.order_by("id")
    before = written(order)
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(InvalidInput) as excinfo:
        ship_order(
            order,
            parcels=[
                ParcelSpec(tracking_number=tracking_number(), lines={tee.pk: 2}),
                ParcelSpec(tracking_number=tracking_number(), lines={cap.pk: 5}),
            ],
            by=SELLER,
        )
    assert excinfo.value.code == "too_many"
    assert written(order) == before
    assert callbacks == []


def test_a_failure_after_the_rows_are_written_rolls_everything_back(
    shop, monkeypatch, django_capture_on_commit_callbacks
):
    """If anything breaks after the event and the first email row are written, none of it survives."""
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    real_queue = notifications.queue_customer_email
    calls = []

    def queue_then_fail(*args, **kwargs):
        calls.append(real_queue(*args, **kwargs))
        if len(calls) == 2:
            raise RuntimeError("mail template store unreachable")
        return calls[-1]

    monkeypatch.setattr(fulfilment_services, "queue_customer_email", queue_then_fail)
    tee, cap = order.lines.order_by("id")
    before = written(order)
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError):
        ship_order(
            order,
            parcels=[
                ParcelSpec(tracking_number=tracking_number(), lines={tee.pk: 2}),
                ParcelSpec(tracking_number=tracking_number(), lines={cap.pk: 1}),
            ],
            by=SELLER,
        )
    assert len(calls) == 2  # the failure came after two rows and the event were written
    assert written(order) == before
    assert not Notification.objects.filter(pk__in=[n.pk for n in calls]).exists()
    assert callbacks == []


def test_after_the_commit_the_buyer_gets_the_email(shop, django_capture_on_commit_callbacks):
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    mail.outbox.clear()
    number = tracking_number()
    with django_capture_on_commit_callbacks(execute=True):
        ship_order(order, parcels=[ParcelSpec(tracking_number=number)], by=SELLER)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [order.email]
    assert order.number in message.subject
    assert number in message.body
    assert message.reply_to == [shop.contact_email]
    notification = Notification.objects.get(order=order, template="shipment_shipped")
    assert notification.status == NotificationStatus.SENT
    assert notification.sent_at is not None
    assert message.extra_headers["X-Shipshape-Notification"] == notification.dedupe_key
    # The sending shows on the timeline.
    assert order.events.filter(
        kind=EventKind.NOTIFICATION_SENT, data__notification_id=notification.pk
    ).exists()


def test_a_notification_is_sent_once_however_often_delivery_runs(shop):
    order = place(shop)
    notification = Notification.objects.get(order=order, template="order_confirmed")
    mail.outbox.clear()
    assert deliver_notification(notification.pk) == "sent"
    assert deliver_notification(notification.pk) == "skipped"
    assert len(mail.outbox) == 1
    assert order.events.filter(kind=EventKind.NOTIFICATION_SENT).count() == 1


def test_a_refused_change_sends_nothing(shop, django_capture_on_commit_callbacks):
    order = order_in(OrderStatus.SHIPPED, shop=shop)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ShipshapeError):
        cancel_order(order, reason="Too late", by=SELLER)
    assert mail.outbox == []


def test_a_failing_send_is_retried_not_lost(shop, monkeypatch):
    order = place(shop)
    notification = Notification.objects.get(order=order, template="order_confirmed")

    def mail_server_down(self, messages):
        raise ConnectionRefusedError("SMTP down")

    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", mail_server_down)
    mail.outbox.clear()
    assert deliver_notification(notification.pk) == "retrying"
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.QUEUED
    assert notification.attempts == 1
    assert "SMTP down" in notification.last_error
    assert notification.next_attempt_at is not None
