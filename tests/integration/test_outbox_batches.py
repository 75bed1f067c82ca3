"""Batches of rows per task, end to end: a real worker (a thread pool, as for throughput), Redis and SMTP.

A batch must keep every promise a single delivery keeps: each row is marked sent in its own transaction
right after its server accepted it, so a worker killed in the middle of a batch resends nothing.
"""

import time

import pytest

from orders.models import EventKind, Notification, NotificationStatus, OrderEvent
from orders.notifications.email import close_connection
from orders.tasks import DELIVERY_BATCH_SIZE, sweep_outbox

from .conftest import wait_until
from .test_outbox_delivery import assert_each_once, is_shipping, processed_orders, ship_all, sweep_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

THREADS = ("threads", 8)


@pytest.fixture
def in_process_mail(settings):
    """Mail sent while setting up (eager, in this process) stays in memory, away from the SMTP server."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    close_connection()
    yield
    close_connection()


def queued_without_tasks(private_redis, publishing, count: int) -> dict[str, str]:
    """``count`` shipped orders whose rows wait in the outbox and whose tasks the broker lost."""
    orders = processed_orders(count)
    publishing.use(private_redis.url)
    numbers = ship_all(orders)
    private_redis.client().flushall()
    assert Notification.objects.filter(status=NotificationStatus.QUEUED).count() == count
    return numbers


def test_200_rows_handed_out_in_batches_to_a_threaded_worker_give_200_emails_once_each(
    in_process_mail, private_redis, publishing, start_worker, smtp_sink
):
    numbers = queued_without_tasks(private_redis, publishing, 200)
    start_worker(private_redis.url, pool=THREADS)

    assert sweep_outbox(grace_seconds=0) == 200  # in 200 / DELIVERY_BATCH_SIZE tasks
    messages = smtp_sink.wait_for(200, timeout=60)
    time.sleep(1)  # anything sent twice would arrive now
    assert_each_once(smtp_sink.wait_for(0), 200)
    for message in messages:
        assert is_shipping(message)
        order_number = message["Subject"].split("order ")[1].split(" ")[0]
        text = message.get_payload(0).get_payload(decode=True).decode()
        assert f"https://www.ups.com/track?tracknum={numbers[order_number]}" in text
    assert wait_until(
        lambda: (
            Notification.objects.filter(template="shipment_shipped", status=NotificationStatus.SENT).count()
            == 200
        ),
        timeout=10,
    )
    sent_events = OrderEvent.objects.filter(
        kind=EventKind.NOTIFICATION_SENT, message__startswith="shipment_shipped"
    )
    assert sent_events.count() == 200


def test_worker_killed_in_the_middle_of_a_batch_of_50_gives_exactly_50_emails(
    in_process_mail, private_redis, publishing, start_worker, smtp_sink
):
    queued_without_tasks(private_redis, publishing, DELIVERY_BATCH_SIZE)
    worker = start_worker(private_redis.url, pool=THREADS)
    assert sweep_outbox(grace_seconds=0) == DELIVERY_BATCH_SIZE  # one task holds all 50 rows

    assert wait_until(lambda: smtp_sink.count() >= 20, timeout=60)
    smtp_sink.hold_rcpt = True  # the next send of the batch stops half-way through its SMTP conversation...
    assert smtp_sink.rcpt_waiting.wait(timeout=30)
    worker.kill()  # ...and its worker dies there: the batch's task is neither finished nor acknowledged
    smtp_sink.release()
    sent_before_restart = smtp_sink.count()
    assert 20 <= sent_before_restart < DELIVERY_BATCH_SIZE
    # Every email that arrived before the kill was marked sent before the next one began.
    shipping_sent = Notification.objects.filter(template="shipment_shipped", status=NotificationStatus.SENT)
    assert shipping_sent.count() == sent_before_restart

    start_worker(private_redis.url, pool=THREADS)
    assert sweep_until(lambda: smtp_sink.count() >= DELIVERY_BATCH_SIZE, timeout=90), (
        f"only {smtp_sink.count()} emails arrived"
    )
    time.sleep(2)
    assert_each_once(smtp_sink.wait_for(0), DELIVERY_BATCH_SIZE)
    assert wait_until(
        lambda: not Notification.objects.exclude(status=NotificationStatus.SENT).exists(), timeout=10
    )
