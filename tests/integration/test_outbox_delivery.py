"""The outbox end to end: real Celery workers on real Redis servers, mail over SMTP to a real server.

Every figure the issue names is in a test name and its asserts: 100 shipped orders give 100 emails; a broker
that is down (or loses its data) delays mail but loses none and sends none twice; a worker killed in the
middle of 50 sends still gives exactly 50; a refusing server is retried; a bad address ends ``failed``.
"""

import time

import pytest
from django.core import mail

from orders.models import EventKind, Notification, NotificationStatus, OrderEvent
from orders.notifications.email import close_connection
from orders.services import Actor, ParcelSpec, place_order, process_order, ship_order
from orders.services.placing import LineSpec
from orders.tasks import sweep_outbox
from tests.factories import ADDRESS, ShopFactory, tracking_number

from .conftest import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def is_shipping(message) -> bool:
    return "is on its way" in message["Subject"]


@pytest.fixture
def in_process_mail(settings):
    """Mail sent while setting up (eager, in this process) stays in memory, away from the SMTP server."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    close_connection()
    yield
    close_connection()


def processed_orders(count: int, *, email: str = "buyer{}@example.net"):
    shop = ShopFactory(name="Harbour Knits", slug="harbour-knits")
    orders = []
    for index in range(count):
        order = place_order(
            shop=shop,
            email=email.format(index),
            address=ADDRESS,
            lines=[LineSpec(sku="SCARF", name="Scarf", quantity=1, unit_price="25.00")],
            payment_status="paid",
        )
        orders.append(process_order(order, by=Actor.system()))
    mail.outbox.clear()
    assert not Notification.objects.exclude(status=NotificationStatus.SENT).exists()
    return orders


def ship_all(orders) -> dict[str, str]:
    numbers = {}
    for order in orders:
        number = tracking_number()
        ship_order(order, parcels=[ParcelSpec(tracking_number=number)], by=Actor.system())
        numbers[order.number] = number
    return numbers


def assert_each_once(messages, expected: int):
    keys = [message["X-Shipshape-Notification"] for message in messages]
    assert len(keys) == expected
    assert len(set(keys)) == expected, "an email was sent twice"


def sweep_until(predicate, timeout: float = 60) -> bool:
    """Run the outbox sweep every couple of seconds, as beat does every minute, until ``predicate`` holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sweep_outbox(grace_seconds=0)
        if wait_until(predicate, timeout=2):
            return True
    return predicate()


def test_100_shipped_orders_send_exactly_100_shipping_emails_with_their_tracking_links(
    in_process_mail, shared_redis, publishing, start_worker, smtp_sink
):
    orders = processed_orders(100)
    publishing.use(shared_redis)
    start_worker(shared_redis)
    numbers = ship_all(orders)

    messages = smtp_sink.wait_for(100, timeout=60)
    time.sleep(1)  # anything sent twice would arrive now
    assert_each_once(smtp_sink.wait_for(0), 100)
    for message in messages:
        assert is_shipping(message)
        order_number = message["Subject"].split("order ")[1].split(" ")[0]
        text = message.get_payload(0).get_payload(decode=True).decode()
        assert f"https://www.ups.com/track?tracknum={numbers[order_number]}" in text
    assert (
        Notification.objects.filter(template="shipment_shipped", status=NotificationStatus.SENT).count()
        == 100
    )
    sent_events = OrderEvent.objects.filter(
        kind=EventKind.NOTIFICATION_SENT, message__startswith="shipment_shipped"
    )
    assert sent_events.count() == 100


def test_broker_down_while_100_orders_ship_then_100_emails_once_after_it_is_back(
    in_process_mail, private_redis, publishing, start_worker, smtp_sink
):
    orders = processed_orders(100)
    publishing.use(private_redis.url)
    start_worker(private_redis.url)
    private_redis.stop()

    timings = []
    for order in orders:
        started = time.monotonic()
        ship_order(order, parcels=[ParcelSpec(tracking_number=tracking_number())], by=Actor.system())
        timings.append(time.monotonic() - started)

    assert max(timings) < 3.0, f"a request hung on the broker: {max(timings):.1f} s"
    assert sum(timings) < 30.0
    assert (
        Notification.objects.filter(template="shipment_shipped", status=NotificationStatus.QUEUED).count()
        == 100
    )
    assert smtp_sink.count() == 0

    private_redis.start()  # back, and empty: it kept nothing
    assert sweep_until(lambda: smtp_sink.count() >= 100, timeout=60), (
        f"only {smtp_sink.count()} emails arrived"
    )
    time.sleep(2)
    assert_each_once(smtp_sink.wait_for(0), 100)
    assert not Notification.objects.exclude(status=NotificationStatus.SENT).exists()


def test_broker_data_flushed_before_delivery_still_gives_50_emails_once(
    in_process_mail, private_redis, publishing, start_worker, smtp_sink
):
    orders = processed_orders(50)
    publishing.use(private_redis.url)
    ship_all(orders)  # 50 tasks wait in Redis: no worker yet
    assert private_redis.client().llen("celery") == 50
    private_redis.client().flushall()  # the broker loses them

    start_worker(private_redis.url)
    assert sweep_until(lambda: smtp_sink.count() >= 50, timeout=60), (
        f"only {smtp_sink.count()} emails arrived"
    )
    time.sleep(2)
    assert_each_once(smtp_sink.wait_for(0), 50)


def test_worker_killed_in_the_middle_of_50_sends_gives_exactly_50_emails(
    in_process_mail, shared_redis, publishing, start_worker, smtp_sink
):
    orders = processed_orders(50)
    publishing.use(shared_redis)
    worker = start_worker(shared_redis)
    ship_all(orders)

    assert wait_until(lambda: smtp_sink.count() >= 20, timeout=60)
    smtp_sink.hold_rcpt = True  # the next send stops half-way through its SMTP conversation...
    assert smtp_sink.rcpt_waiting.wait(timeout=30)
    worker.kill()  # ...and its worker dies there, without acknowledging the task
    smtp_sink.release()
    sent_before_restart = smtp_sink.count()
    assert 20 <= sent_before_restart < 50

    start_worker(shared_redis)
    assert sweep_until(lambda: smtp_sink.count() >= 50, timeout=90), (
        f"only {smtp_sink.count()} emails arrived"
    )
    time.sleep(2)
    assert_each_once(smtp_sink.wait_for(0), 50)
    assert (
        Notification.objects.filter(template="shipment_shipped", status=NotificationStatus.SENT).count() == 50
    )


def test_a_refusing_mail_server_is_retried_with_backoff_until_all_10_emails_arrive(
    in_process_mail, shared_redis, publishing, start_worker, smtp_sink
):
    orders = processed_orders(10)
    publishing.use(shared_redis)
    start_worker(shared_redis, NOTIFICATION_RETRY_BASE_SECONDS=0.5, NOTIFICATION_RETRY_MAX_SECONDS=2)
    smtp_sink.refuse_until = time.monotonic() + 3
    ship_all(orders)

    messages = smtp_sink.wait_for(10, timeout=60)
    time.sleep(1)
    assert_each_once(smtp_sink.wait_for(0), 10)
    assert len(messages) == 10
    assert smtp_sink.refused >= 10
    retried = Notification.objects.filter(template="shipment_shipped", attempts__gt=1)
    assert retried.exists()
    assert all(n.status == NotificationStatus.SENT for n in retried)


def test_a_bad_address_ends_failed_after_the_retry_limit_and_shows_everywhere(
    in_process_mail, shared_redis, publishing, start_worker, smtp_sink, admin_client
):
    orders = processed_orders(1, email="nobody{}@bounce.example")
    smtp_sink.bounce = {"nobody0@bounce.example"}
    publishing.use(shared_redis)
    start_worker(shared_redis, NOTIFICATION_MAX_ATTEMPTS=3, NOTIFICATION_RETRY_BASE_SECONDS=0.2)
    ship_all(orders)

    def failed():
        return Notification.objects.filter(
            template="shipment_shipped", status=NotificationStatus.FAILED
        ).first()

    assert wait_until(lambda: failed() is not None, timeout=60)
    notification = failed()
    assert notification.attempts == 3
    assert "550" in notification.last_error
    event = OrderEvent.objects.get(order=orders[0], kind=EventKind.NOTIFICATION_FAILED)
    assert "shipment_shipped" in event.message and "550" in event.message
    admin_list = admin_client.get("/admin/orders/notification/?status__exact=failed")
    assert admin_list.status_code == 200
    assert "nobody0@bounce.example" in admin_list.content.decode()
    assert smtp_sink.count() == 0
