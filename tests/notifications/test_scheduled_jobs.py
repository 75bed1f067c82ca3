"""The jobs beat runs: late orders, stalled parcels, feedback requests, unpaid expiry; each safe to repeat."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import Coupon, CouponRedemption, EventKind
from orders.services.scheduled import (
    expire_unpaid_orders,
    flag_late_orders,
    report_stalled_shipments,
    request_feedback,
)
from orders.states import OrderStatus, PaymentMethod
from shipping.models import Shipment
from tests.factories import CouponFactory, order_in, place

pytestmark = pytest.mark.django_db
NOW = timezone.now()


def test_orders_not_shipped_within_the_handling_time_are_flagged_late_once(shop):
    late = place(shop, placed_at=NOW - timedelta(days=3))
    fresh = place(shop, email="fresh@example.net")
    shipped = order_in("shipped", shop=shop, email="shipped@example.net")
    type(shipped).objects.filter(pk=shipped.pk).update(placed_at=NOW - timedelta(days=5))

    assert flag_late_orders(now=NOW) == 1
    assert flag_late_orders(now=NOW) == 0
    assert late.events.filter(kind=EventKind.LATE).count() == 1
    assert not fresh.events.filter(kind=EventKind.LATE).exists()
    assert not shipped.events.filter(kind=EventKind.LATE).exists()


def test_a_stalled_parcel_is_reported_once_with_a_delay_notice_and_an_apology_coupon(shop):
    shop.delay_coupon_percent = 10
    shop.stalled_after_days = 5
    shop.save()
    order = order_in("shipped", shop=shop)
    shipment = order.shipments.get()
    shipment.events.update(occurred_at=NOW - timedelta(days=6))

    assert report_stalled_shipments(now=NOW) == 1
    assert report_stalled_shipments(now=NOW) == 0

    event = order.events.get(kind=EventKind.DELAYED)
    coupon = Coupon.objects.get(code=event.data["coupon"])
    assert coupon.shop == shop and coupon.usage_limit == 1 and coupon.value == 10
    notice = order.notifications.get(template="shipment_delayed")
    assert notice.context["coupon_code"] == coupon.code
    assert Shipment.objects.get(pk=shipment.pk).delay_reported_at is not None


def test_a_parcel_past_its_estimated_delivery_is_stalled_even_with_recent_scans(shop):
    shop.send_delay_notices = False
    shop.save()
    order = order_in("shipped", shop=shop)
    Shipment.objects.filter(order=order).update(estimated_delivery=(NOW - timedelta(days=1)).date())

    assert report_stalled_shipments(now=NOW) == 1
    assert order.events.filter(kind=EventKind.DELAYED).exists()
    assert not order.notifications.filter(template="shipment_delayed").exists()  # the shop chose not to tell


def test_moving_parcels_are_not_stalled(shop):
    order_in("shipped", shop=shop)
    assert report_stalled_shipments(now=NOW) == 0


def test_feedback_is_requested_once_some_days_after_delivery(shop):
    shop.feedback_request_days = 3
    shop.save()
    delivered = order_in("delivered", shop=shop)
    type(delivered).objects.filter(pk=delivered.pk).update(delivered_at=NOW - timedelta(days=4))
    recent = order_in("delivered", shop=shop, email="recent@example.net")

    assert request_feedback(now=NOW) == 1
    assert request_feedback(now=NOW) == 0
    assert delivered.notifications.filter(template="feedback_request").count() == 1
    assert not recent.notifications.filter(template="feedback_request").exists()


def test_unpaid_orders_expire_and_give_their_coupon_back(shop):
    shop.unpaid_expiry_hours = 48
    shop.save()
    coupon = CouponFactory(shop=shop, code="WELCOME", usage_limit=10)
    stale = place(shop, paid=False, coupon_code="welcome", placed_at=NOW - timedelta(hours=50))
    cod = place(
        shop,
        email="cod@example.net",
        paid=False,
        payment_method=PaymentMethod.CASH_ON_DELIVERY,
        placed_at=NOW - timedelta(hours=50),
    )
    paid = place(shop, email="paid@example.net", paid=True, placed_at=NOW - timedelta(hours=50))
    young = place(shop, email="young@example.net", paid=False, placed_at=NOW - timedelta(hours=2))

    assert expire_unpaid_orders(now=NOW) == 1
    assert expire_unpaid_orders(now=NOW) == 0
    stale.refresh_from_db()
    assert stale.status == OrderStatus.CANCELLED
    assert stale.cancel_reason == "Not paid in time"
    coupon.refresh_from_db()
    assert coupon.times_used == 0
    assert CouponRedemption.objects.get(order=stale).released_at is not None
    for order in (cod, paid, young):
        order.refresh_from_db()
        assert order.status == OrderStatus.PENDING


@pytest.mark.django_db(transaction=True)  # the scheduler manages its own connections
def test_the_schedule_is_loaded_into_the_admin_editable_tables(settings):
    from django_celery_beat.models import PeriodicTask
    from django_celery_beat.schedulers import DatabaseScheduler

    from shop.celery import app

    DatabaseScheduler(app=app)  # what `celery -A shop beat` does at start
    tasks = set(PeriodicTask.objects.values_list("task", flat=True))
    assert {
        "orders.tasks.sweep_outbox",
        "orders.tasks.flag_late_orders",
        "orders.tasks.report_stalled_shipments",
        "orders.tasks.request_feedback",
        "orders.tasks.expire_unpaid_orders",
    } <= tasks
    sweep = PeriodicTask.objects.get(task="orders.tasks.sweep_outbox")
    assert sweep.interval.every == 60 and sweep.interval.period == "seconds"
