"""A real Celery worker on the real Redis delivers the outbox to a real SMTP server."""

import pytest

from orders.models import EventKind, Notification, NotificationStatus, OrderEvent
from orders.services import Actor, ParcelSpec, process_order, ship_order
from tests.factories import ShopFactory, place, tracking_number

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_ten_shipped_orders_send_thirty_emails_each_once(celery_worker, smtp_sink):
    shop = ShopFactory(name="Harbour Knits", slug="harbour-knits")
    numbers = {}
    for index in range(10):
        order = place(shop, email=f"buyer{index}@example.net")
        order = process_order(order, by=Actor.system())
        number = tracking_number()
        ship_order(order, parcels=[ParcelSpec(tracking_number=number)], by=Actor.system())
        numbers[order.number] = number

    messages = smtp_sink.wait_for(30, timeout=60)

    assert len(messages) == 30
    keys = [message["X-Shipshape-Notification"] for message in messages]
    assert len(set(keys)) == 30, "an email was sent twice"
    shipping = [m for m in messages if "is on its way" in m["Subject"]]
    assert len(shipping) == 10
    for message in shipping:
        order_number = message["Subject"].split("order ")[1].split(" ")[0]
        text = message.get_payload(0).get_payload(decode=True).decode()
        assert f"https://www.ups.com/track?tracknum={numbers[order_number]}" in text
    assert Notification.objects.filter(status=NotificationStatus.SENT).count() == 30
    assert OrderEvent.objects.filter(kind=EventKind.NOTIFICATION_SENT).count() == 30
