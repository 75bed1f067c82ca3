"""``manage.py seed_demo``: demo accounts, orders in every state, data the services could have written."""

from collections import Counter, defaultdict
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.utils import timezone

from orders.models import (
    Coupon,
    CouponKind,
    CouponRedemption,
    EventKind,
    Notification,
    NotificationStatus,
    Order,
    OrderEvent,
    OrderLine,
    Return,
    ReturnLine,
    ReturnStatus,
)
from orders.models.returns import OPEN_RETURN_STATES
from orders.states import OrderStatus, PaymentStatus, is_allowed
from shipping.carriers import candidate_carriers
from shipping.models import Carrier, Shipment, ShipmentLine, ShipmentStatus, TrackingEvent
from shop.demo_data import generate_orders
from shop.models import Customer, Membership, Role, Shop, User
from tests.factories import ShopFactory, order_in

pytestmark = pytest.mark.django_db

PASSWORD = "shipshape-demo"
# Timeline events that move the order, and the state each one moves it to.
STATUS_EVENTS = {
    EventKind.PROCESSED: OrderStatus.PROCESSED,
    EventKind.SHIPPED: OrderStatus.SHIPPED,
    EventKind.DELIVERED: OrderStatus.DELIVERED,
    EventKind.CANCELLED: OrderStatus.CANCELLED,
    EventKind.RETURNED: OrderStatus.RETURNED,
    EventKind.RETURNED_TO_SENDER: OrderStatus.RETURNED,
}


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Every seed creates three users; the production hasher would spend seconds on their passwords."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def seed(*args) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def row_counts() -> dict[str, int]:
    models = (
        User,
        Shop,
        Membership,
        Customer,
        Coupon,
        CouponRedemption,
        Order,
        OrderLine,
        OrderEvent,
        Notification,
        Return,
        ReturnLine,
        Shipment,
        ShipmentLine,
        TrackingEvent,
        Carrier,
    )
    return {model.__name__: model.objects.count() for model in models}


def assert_consistent(shop: Shop, *, queued_allowed_for=()) -> None:
    """The rules the services keep, checked over every order of ``shop``."""
    orders = {o.pk: o for o in Order.objects.filter(shop=shop)}
    now = timezone.now()
    lines = defaultdict(dict)
    for line in OrderLine.objects.filter(order__shop=shop):
        lines[line.order_id][line.pk] = line
    shipped = Counter()
    for order_line_id, quantity in ShipmentLine.objects.filter(shipment__shop=shop).values_list(
        "order_line_id", "quantity"
    ):
        shipped[order_line_id] += quantity
    refunded_back = Counter()
    for order_line_id, quantity in ReturnLine.objects.filter(
        return_request__order__shop=shop, return_request__status=ReturnStatus.REFUNDED
    ).values_list("order_line_id", "quantity"):
        refunded_back[order_line_id] += quantity
    refunds = Counter()
    for order_id, amount in Return.objects.filter(order__shop=shop).values_list("order_id", "refund_amount"):
        refunds[order_id] += amount
    returning = Return.objects.filter(order__shop=shop, status__in=OPEN_RETURN_STATES)
    flagged = {pk for pk, order in orders.items() if order.has_open_return}
    assert flagged == set(returning.values_list("order_id", flat=True))  # the list's open-return filter
    events = defaultdict(list)
    for event in OrderEvent.objects.filter(order__shop=shop).order_by("created_at", "id"):
        events[event.order_id].append(event)

    for order in orders.values():
        order_lines = lines[order.pk].values()
        assert order_lines, order.number
        assert order.subtotal == sum(line.unit_price * line.quantity for line in order_lines), order.number
        assert order.total == order.subtotal - order.discount + order.shipping_price + order.tax, order.number
        assert order.currency == shop.currency
        assert order.number.startswith(f"{shop.order_prefix}-")
        assert now - timedelta(days=91) < order.placed_at < now
        # Timestamps of the states passed, in order.
        chain = [order.placed_at, order.processed_at, order.shipped_at, order.delivered_at]
        passed = [stamp for stamp in chain if stamp is not None]
        assert passed == sorted(passed), order.number
        assert all(stamp <= now for stamp in passed)
        if order.status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED) or order.shipped_at:
            assert order.processed_at and order.shipped_at, order.number
            for line in order_lines:
                assert shipped[line.pk] == line.quantity, f"{order.number} line {line.sku} not fully shipped"
        if order.status == OrderStatus.DELIVERED:
            assert order.delivered_at >= order.shipped_at
        if order.status in (OrderStatus.PENDING, OrderStatus.PROCESSED, OrderStatus.CANCELLED):
            assert order.shipped_at is None and order.delivered_at is None
            assert all(shipped[line.pk] <= line.quantity for line in order_lines)
        if order.status == OrderStatus.PENDING:
            assert order.processed_at is None
        if order.status == OrderStatus.CANCELLED:
            assert order.cancelled_at and order.cancel_reason
            assert not any(shipped[line.pk] for line in order_lines)
        if order.status == OrderStatus.RETURNED and order.delivered_at:
            for line in order_lines:
                assert refunded_back[line.pk] == line.quantity, order.number
        assert order.refunded_total == (
            order.total
            if order.status == OrderStatus.CANCELLED and order.refunded_total
            else refunds[order.pk]
        ), order.number
        if order.refunded_total:
            expected = (
                PaymentStatus.REFUNDED
                if order.refunded_total >= order.total
                else PaymentStatus.PARTIALLY_REFUNDED
            )
            assert order.payment_status == expected, order.number
        # A legal timeline: placed first, then only moves the state machine allows, ending in the status.
        timeline = events[order.pk]
        assert timeline[0].kind == EventKind.PLACED and timeline[0].created_at == order.placed_at
        state = OrderStatus.PENDING
        for event in timeline:
            if event.kind in STATUS_EVENTS:
                assert is_allowed(state, STATUS_EVENTS[event.kind]), f"{order.number}: {state} → {event.kind}"
                state = STATUS_EVENTS[event.kind]
        assert state == order.status, order.number
        assert all(event.created_at <= now for event in timeline)

    # Counters kept by the services.
    for customer in Customer.objects.filter(shop=shop):
        assert customer.order_count == sum(1 for o in orders.values() if o.customer_id == customer.pk), (
            customer
        )
        assert customer.email == customer.email.lower()
    for coupon in Coupon.objects.filter(shop=shop):
        held = coupon.redemptions.filter(released_at__isnull=True).count()
        assert coupon.times_used == held, coupon.code
        assert coupon.usage_limit is None or coupon.times_used <= coupon.usage_limit
    for redemption in CouponRedemption.objects.filter(coupon__shop=shop).select_related("order"):
        assert redemption.order.coupon_id == redemption.coupon_id
        assert redemption.amount == redemption.order.discount
        assert (redemption.released_at is not None) == (redemption.order.status == OrderStatus.CANCELLED)
    numbers = [o.number for o in orders.values()]
    assert len(numbers) == len(set(numbers))
    shop.refresh_from_db()
    assert max(int(n.split("-")[1]) for n in numbers) <= shop.last_order_number
    # Parcels: delivered ones say when; tracking numbers are in their carrier's format.
    carriers = list(Carrier.objects.all())
    for shipment in Shipment.objects.filter(shop=shop).select_related("carrier", "order"):
        assert shipment.shipped_at >= shipment.order.processed_at
        assert (shipment.status == ShipmentStatus.DELIVERED) == (shipment.delivered_at is not None)
        if shipment.tracking_number:
            assert shipment.carrier in candidate_carriers(shipment.tracking_number, carriers)
    # The demo never emails anyone: every notification is already sent.
    queued = Notification.objects.filter(shop=shop, status=NotificationStatus.QUEUED)
    assert not queued.exclude(order__in=queued_allowed_for).exists()


def test_seed_creates_the_demo_accounts():
    output = seed()

    owner = authenticate(email="owner@demo.shop", password=PASSWORD)
    other_owner = authenticate(email="owner@other.shop", password=PASSWORD)
    admin = authenticate(email="admin@demo.shop", password=PASSWORD)
    assert owner and other_owner and admin
    assert admin.is_superuser and admin.is_staff
    assert not owner.is_staff and not owner.is_superuser
    demo, other = Shop.objects.get(slug="demo"), Shop.objects.get(slug="other")
    assert list(Membership.objects.filter(user=owner).values_list("shop__slug", "role")) == [
        ("demo", Role.OWNER)
    ]
    assert list(Membership.objects.filter(user=other_owner).values_list("shop__slug", "role")) == [
        ("other", Role.OWNER)
    ]
    assert (demo.currency, other.currency) == ("USD", "EUR")
    for text in ("owner@demo.shop", "owner@other.shop", "admin@demo.shop", PASSWORD):
        assert text in output


def test_seed_shows_every_state_and_condition():
    seed()
    demo = Shop.objects.get(slug="demo")
    orders = Order.objects.filter(shop=demo)

    assert 250 <= orders.count() <= 350
    assert 30 <= Order.objects.filter(shop__slug="other").count() <= 50
    by_status = Counter(orders.values_list("status", flat=True))
    assert set(by_status) == set(OrderStatus.values)
    assert by_status[OrderStatus.DELIVERED] > orders.count() / 2  # most orders are delivered
    assert set(Return.objects.filter(order__shop=demo).values_list("status", flat=True)) == set(
        ReturnStatus.values
    )
    # Partially shipped: processed, one parcel gone, items still to ship.
    assert orders.filter(status=OrderStatus.PROCESSED, shipments__isnull=False).exists()
    # Late: past the handling time and not shipped.
    late = orders.filter(
        status__in=[OrderStatus.PENDING, OrderStatus.PROCESSED],
        placed_at__lt=timezone.now() - timedelta(days=demo.handling_days),
    )
    assert late.count() >= 3
    # Parcels still travelling, some with a delivery problem; orders split into two parcels.
    shipments = Shipment.objects.filter(shop=demo)
    assert {
        ShipmentStatus.IN_TRANSIT,
        ShipmentStatus.DELIVERED,
        ShipmentStatus.EXCEPTION,
        ShipmentStatus.RETURNED_TO_SENDER,
    } <= set(shipments.values_list("status", flat=True))
    assert TrackingEvent.objects.filter(shipment__shop=demo).count() >= 4 * shipments.count() // 2
    # Coupons of each kind, and redeemed.
    used_kinds = set(
        CouponRedemption.objects.filter(coupon__shop=demo).values_list("coupon__kind", flat=True)
    )
    assert used_kinds == set(CouponKind.values)
    # Customers come back; orders have several lines with sizes and colours.
    assert Customer.objects.filter(shop=demo, order_count__gte=3).exists()
    assert OrderLine.objects.filter(order__shop=demo).exclude(variant="").exists()
    several = [o for o in orders.prefetch_related("lines") if len(o.lines.all()) >= 3]
    assert several
    # Timelines show the emails as sent.
    assert OrderEvent.objects.filter(order__shop=demo, kind=EventKind.NOTIFICATION_SENT).exists()


def test_seeded_data_follows_the_domain_rules():
    seed()
    for shop in Shop.objects.filter(slug__in=["demo", "other"]):
        assert_consistent(shop)


def test_second_run_changes_nothing():
    seed()
    before = row_counts()
    owner = User.objects.get(email="owner@demo.shop")
    owner.set_password("changed-by-the-owner")
    owner.save()

    output = seed()

    assert row_counts() == before
    assert "Demo data already loaded" in output
    assert authenticate(email="owner@demo.shop", password="changed-by-the-owner")  # password kept


def test_orders_option_tops_up_the_demo_shop():
    seed()
    demo = Shop.objects.get(slug="demo")
    other_before = Order.objects.filter(shop__slug="other").count()

    seed("--orders", "1000")

    assert Order.objects.filter(shop=demo).count() == 1000
    assert Order.objects.filter(shop__slug="other").count() == other_before
    assert_consistent(demo)
    assert "Demo data already loaded" in seed("--orders", "1000")


def test_shop_option_scales_another_shop():
    seed()

    seed("--shop", "other", "--orders", "60")

    assert Order.objects.filter(shop__slug="other").count() == 60
    assert Order.objects.filter(shop__slug="demo").count() == 300
    assert_consistent(Shop.objects.get(slug="other"))


def test_seeded_orders_live_alongside_orders_placed_through_the_services():
    seed()
    demo = Shop.objects.get(slug="demo")
    before = demo.last_order_number

    order = order_in(OrderStatus.DELIVERED, shop=demo)

    assert order.number == f"SS-{before + 1}"
    seed("--orders", "320")
    assert Order.objects.filter(shop=demo).count() == 320
    assert_consistent(demo, queued_allowed_for=[order])  # the services queue emails; the seeder never does


def test_bulk_create_path_writes_the_same_kind_of_data():
    """The path used on SQLite (no COPY), exercised here on PostgreSQL."""
    shop = ShopFactory(slug="bulk", currency="EUR", order_prefix="BK")
    call_command("seed_demo", stdout=StringIO())  # carriers and coupons of the demo shops

    result = generate_orders(shop, 120, showcase=1, use_copy=False, batch_size=50)

    assert result.orders == 120 == Order.objects.filter(shop=shop).count()
    assert result.rows["orders.Order"] == 120
    assert result.total_rows > 120 * 5
    assert_consistent(shop)
    assert set(Order.objects.filter(shop=shop).values_list("status", flat=True)) == set(OrderStatus.values)
    assert Order.objects.filter(shop=shop, total__gt=Decimal("0")).count() == 120


@pytest.mark.django_db(transaction=True)
def test_pipelined_writer_commits_batches_from_its_own_connection():
    """Outside a transaction, PostgreSQL batches are stored by a second thread while the next is built."""
    call_command("seed_demo", "--orders", "0", stdout=StringIO())
    shop = ShopFactory(slug="piped", order_prefix="PP")
    progress = []

    result = generate_orders(shop, 150, showcase=1, batch_size=40, progress=progress.append)

    assert progress == [40, 80, 120, 150]
    assert Order.objects.filter(shop=shop).count() == 150
    assert result.rows["orders.Order"] == 150
    assert_consistent(shop)
