"""The outbox: rows written with each change, delivered once, retried with backoff, failed visibly."""

import pytest
from django.core import mail
from django.db import IntegrityError, transaction

from orders.models import EventKind, Notification, NotificationStatus, Suppression
from orders.notifications import CATALOGUE, retry_by_hand
from orders.services import Actor, process_order
from orders.tasks import deliver_notification, retry_delay, sweep_outbox
from tests.factories import order_in, place
from tests.notifications.conftest import deliveries_asked

pytestmark = pytest.mark.django_db


def test_a_placed_order_sends_one_confirmation_after_commit(shop, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        order = place(shop, email="Ada@Example.net")

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ada@example.net"]
    assert message.subject == f"{shop.name}: Your order {order.number} is confirmed"
    assert f"/track/{order.public_token}/" in message.body
    html = message.alternatives[0][0]
    assert order.number in html and f"/track/{order.public_token}/" in html
    notification = order.notifications.get()
    assert notification.status == NotificationStatus.SENT
    assert notification.sent_at is not None
    assert notification.provider_message_id == message.extra_headers["Message-ID"]
    assert order.events.filter(kind=EventKind.NOTIFICATION_SENT).count() == 1


def test_nothing_is_sent_before_the_transaction_commits(shop, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        place(shop)
    assert len(deliveries_asked(callbacks)) == 1
    assert mail.outbox == []
    assert Notification.objects.get().status == NotificationStatus.QUEUED


def test_delivering_the_same_row_twice_sends_one_email(shop):
    order = place(shop)
    notification = order.notifications.get()

    assert deliver_notification(notification.pk) == "sent"
    assert deliver_notification(notification.pk) == "skipped"
    assert len(mail.outbox) == 1


def test_the_database_refuses_a_second_row_for_the_same_event_and_recipient(shop):
    order = place(shop)
    notification = order.notifications.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(
            shop=shop,
            order=order,
            event=notification.event,
            template=notification.template,
            recipient=notification.recipient,
            dedupe_key=notification.dedupe_key,
        )


def test_a_failing_mail_server_is_retried_with_backoff_then_marked_failed(shop, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 1  # nothing listens
    settings.SHIPSHAPE = {**settings.SHIPSHAPE, "NOTIFICATION_MAX_ATTEMPTS": 3}
    order = place(shop)
    notification = order.notifications.get()

    assert deliver_notification(notification.pk) == "retrying"
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.QUEUED
    assert notification.attempts == 1
    assert "ConnectionRefusedError" in notification.last_error
    assert notification.next_attempt_at > notification.created_at

    Notification.objects.filter(pk=notification.pk).update(next_attempt_at=notification.created_at)
    assert deliver_notification(notification.pk) == "retrying"
    Notification.objects.filter(pk=notification.pk).update(next_attempt_at=notification.created_at)
    assert deliver_notification(notification.pk) == "failed"

    notification.refresh_from_db()
    assert notification.status == NotificationStatus.FAILED
    assert notification.attempts == 3
    failed_event = order.events.get(kind=EventKind.NOTIFICATION_FAILED)
    assert "order_confirmed" in failed_event.message
    assert "ConnectionRefusedError" in failed_event.message


def test_a_row_whose_retry_is_not_due_yet_is_left_alone(shop):
    from django.utils import timezone

    order = place(shop)
    notification = order.notifications.get()
    Notification.objects.filter(pk=notification.pk).update(
        next_attempt_at=timezone.now() + timezone.timedelta(minutes=5)
    )
    assert deliver_notification(notification.pk) == "not due"
    assert mail.outbox == []


def test_a_failed_row_can_be_retried_by_hand(shop, django_capture_on_commit_callbacks):
    order = place(shop)
    notification = order.notifications.get()
    Notification.objects.filter(pk=notification.pk).update(status=NotificationStatus.FAILED, attempts=8)

    with django_capture_on_commit_callbacks(execute=True):
        assert retry_by_hand(notification) is True
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.SENT
    assert len(mail.outbox) == 1
    assert retry_by_hand(notification) is False  # a sent row is never sent again


@pytest.mark.parametrize("attempt", range(1, 12))
def test_backoff_grows_exponentially_with_jitter_and_is_capped(attempt, settings):
    base = settings.SHIPSHAPE["NOTIFICATION_RETRY_BASE_SECONDS"]
    cap = settings.SHIPSHAPE["NOTIFICATION_RETRY_MAX_SECONDS"]
    delays = [retry_delay(attempt) for _ in range(200)]
    assert min(delays) >= base / 2
    assert max(delays) <= min(cap, base * 2 ** (attempt - 1))
    assert len({round(d, 3) for d in delays}) > 50  # jittered, not a fixed schedule


def test_the_retry_cap_stays_below_the_broker_visibility_timeout(settings):
    assert (
        settings.SHIPSHAPE["NOTIFICATION_RETRY_MAX_SECONDS"]
        < settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    )


def test_the_sweep_requeues_rows_the_broker_never_got(shop):
    from django.utils import timezone

    orders = [place(shop, email=f"b{i}@example.net") for i in range(3)]
    Notification.objects.update(next_attempt_at=timezone.now() - timezone.timedelta(minutes=5))

    assert sweep_outbox() == 3
    assert len(mail.outbox) == 3
    assert {m.to[0] for m in mail.outbox} == {o.email for o in orders}
    assert sweep_outbox() == 0  # everything is sent now


def test_worker_settings_give_at_least_once_delivery(settings):
    from shop.celery import app

    assert settings.CELERY_TASK_ACKS_LATE is True
    assert settings.CELERY_TASK_REJECT_ON_WORKER_LOST is True
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1
    assert app.conf.task_acks_late is True
    assert deliver_notification.acks_late is True
    assert deliver_notification.reject_on_worker_lost is True


def test_task_payloads_carry_ids_only(shop, django_capture_on_commit_callbacks, monkeypatch):
    sent = []
    monkeypatch.setattr(deliver_notification, "apply_async", lambda args=None, **kw: sent.append((args, kw)))
    with django_capture_on_commit_callbacks(execute=True):
        order = place(shop)
        process_order(order, by=Actor.system())
    assert len(sent) == 2
    for args, kwargs in sent:
        assert len(args) == 1 and isinstance(args[0], int)
        assert set(kwargs) <= {"retry", "countdown"}


def test_unsubscribed_buyers_get_order_emails_but_no_feedback_requests(shop):
    from orders.notifications import queue_customer_email
    from orders.services.changes import SYSTEM, record_event

    order = order_in("delivered", shop=shop)
    Suppression.objects.create(shop=shop, email=order.email)
    event = record_event(order, EventKind.FEEDBACK_REQUESTED, by=SYSTEM)
    assert queue_customer_email(order, event, "feedback_request") is None
    assert queue_customer_email(order, event, "order_delivered", part="again") is not None
    assert not CATALOGUE["feedback_request"].essential
    assert CATALOGUE["order_delivered"].essential
