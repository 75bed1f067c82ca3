"""A request or task that commits many changes hands their outbox rows to Celery in a few batch tasks.

Each change still commits its own rows; only the publishing waits for the end of the request or task. What
is published is watched by wrapping ``enqueue_deliveries`` (the one place that talks to the broker) and
letting it go on to run the real delivery task (eagerly, as tests run Celery).
"""

import pytest
from django.core import mail
from django.test import Client

from orders.errors import IllegalTransition
from orders.models import Notification, NotificationStatus
from orders.notifications import outbox, publishes_coalesced
from orders.services import Actor, process_order
from orders.states import OrderStatus
from tests.factories import MembershipFactory, order_in, place


@pytest.fixture
def published(monkeypatch) -> list[list[int]]:
    """Every batch of notification ids handed to the broker, in order."""
    batches: list[list[int]] = []
    real = outbox.enqueue_deliveries

    def watch(notification_ids):
        batches.append(list(notification_ids))
        return real(notification_ids)

    monkeypatch.setattr(outbox, "enqueue_deliveries", watch)
    return batches


@pytest.mark.django_db(transaction=True)
def test_changes_committed_inside_the_block_are_published_in_batches_of_50_when_it_ends(shop, published):
    orders = [place(shop, email=f"buyer{index}@example.net") for index in range(60)]
    published.clear()
    mail.outbox.clear()

    with publishes_coalesced():
        for order in orders:
            process_order(order, by=Actor.system())  # its own transaction, committed here
        assert published == []  # nothing handed over while the block runs

    assert [len(batch) for batch in published] == [50, 10]
    rows = Notification.objects.filter(template="order_processed")
    assert sorted(pk for batch in published for pk in batch) == sorted(rows.values_list("pk", flat=True))
    assert set(rows.values_list("status", flat=True)) == {NotificationStatus.SENT}
    assert len(mail.outbox) == 60  # each buyer told once


@pytest.mark.django_db(transaction=True)
def test_outside_a_block_each_change_publishes_at_its_commit(shop, published):
    order = place(shop)
    published.clear()

    process_order(order, by=Actor.system())

    assert published == [[order.notifications.get(template="order_processed").pk]]


@pytest.mark.django_db(transaction=True)
def test_a_nested_block_leaves_the_publishing_to_the_outermost(shop, published):
    first, second = place(shop, email="one@example.net"), place(shop, email="two@example.net")
    published.clear()

    with publishes_coalesced():
        with publishes_coalesced():
            process_order(first, by=Actor.system())
        assert published == []
        process_order(second, by=Actor.system())

    assert len(published) == 1 and len(published[0]) == 2


@pytest.mark.django_db(transaction=True)
def test_rows_committed_before_an_error_are_still_published(shop, published):
    first, second = place(shop, email="one@example.net"), place(shop, email="two@example.net")
    published.clear()

    with pytest.raises(RuntimeError), publishes_coalesced():
        process_order(first, by=Actor.system())
        process_order(second, by=Actor.system())
        raise RuntimeError("the request failed after two changes")

    assert len(published) == 1 and len(published[0]) == 2
    sent = Notification.objects.filter(status=NotificationStatus.SENT, template="order_processed")
    assert sent.count() == 2


@pytest.mark.django_db(transaction=True)
def test_rows_of_a_rolled_back_change_are_never_published(shop, published):
    order = place(shop)
    published.clear()

    with publishes_coalesced():
        process_order(order, by=Actor.system())
        with pytest.raises(IllegalTransition):
            process_order(order, by=Actor.system())  # processed already: refused, rolled back

    assert [len(batch) for batch in published] == [1]


@pytest.mark.django_db(transaction=True)
def test_a_bulk_action_in_the_dashboard_publishes_one_task_per_50_orders(shop, published):
    owner = MembershipFactory(shop=shop).user
    client = Client()
    client.force_login(owner)
    orders = [order_in(OrderStatus.PENDING, shop, email=f"buyer{index}@example.net") for index in range(55)]
    published.clear()
    mail.outbox.clear()

    response = client.post(
        "/dashboard/orders/bulk/", {"action": "process", "orders": [order.number for order in orders]}
    )

    assert response.status_code == 302
    assert [len(batch) for batch in published] == [50, 5]
    assert len(mail.outbox) == 55
