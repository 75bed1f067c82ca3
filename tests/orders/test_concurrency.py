"""Races on real PostgreSQL with real threads: two requests racing to change one thing cannot both win.

Every test starts its threads together on a barrier; each thread uses its own database connection from the
pool and hands it back when it is done. A thread still alive after the join timeout means a hang (a lock
wait that never ends); a PostgreSQL deadlock would surface as an ``OperationalError`` outcome. Both fail.
"""

import itertools
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.db import connection, connections

from orders.errors import CouponRejected, IllegalTransition, InvalidInput, ShipshapeError, StaleVersion
from orders.models import CouponRedemption, EventKind, Notification, Order, OrderEvent, ReturnLine
from orders.services import Actor, LineSpec, ParcelSpec, cancel_order, request_return, ship_order
from orders.states import OrderStatus, PaymentStatus, is_allowed
from shipping.models import Shipment, ShipmentLine, TrackingEvent
from shop.models import Customer
from tests.factories import ADDRESS, SELLER, CouponFactory, ShopFactory, order_in, place, tracking_number

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

THREADS = 20  # the connection pool holds 20 by default: one per thread, the test's own is handed back first
JOIN_TIMEOUT = 60  # seconds; a thread still running after this is stuck


@dataclass
class Outcome:
    value: object = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def label(self) -> str:
        if self.error is None:
            return "ok"
        if isinstance(self.error, IllegalTransition):
            return f"IllegalTransition(current={self.error.current})"
        if isinstance(self.error, ShipshapeError):
            return f"{type(self.error).__name__}({self.error.code})"
        return f"{type(self.error).__name__}: {self.error}"


def run_together(calls: list[Callable[[], object]], *, threads: int = THREADS) -> list[Outcome]:
    """Run ``calls`` on ``threads`` threads released together by a barrier; call n runs on thread n % threads.

    Returns one outcome per call, in the order of ``calls``. Fails if a thread is still running after
    ``JOIN_TIMEOUT`` seconds or if a call never ran.
    """
    outcomes: list[Outcome | None] = [None] * len(calls)
    barrier = threading.Barrier(threads)

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=JOIN_TIMEOUT)
            for n in range(index, len(calls), threads):
                try:
                    outcomes[n] = Outcome(value=calls[n]())
                except Exception as exc:  # recorded and asserted on by the test
                    outcomes[n] = Outcome(error=exc)
        finally:
            connections.close_all()

    connection.close()  # hand the test's own connection back to the pool while the threads run
    workers = [
        threading.Thread(target=worker, args=(i,), daemon=True, name=f"race-{i}") for i in range(threads)
    ]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=JOIN_TIMEOUT)
    stuck = [thread.name for thread in workers if thread.is_alive()]
    assert not stuck, f"threads still running after {JOIN_TIMEOUT} s (a lock never released?): {stuck}"
    missing = [n for n, outcome in enumerate(outcomes) if outcome is None]
    assert not missing, f"calls that never ran: {missing}"
    return outcomes


def tally(outcomes: list[Outcome]) -> Counter:
    return Counter(outcome.label for outcome in outcomes)


def status_history(order: Order) -> list[str]:
    """The statuses the order went through, read from its timeline (notification events left out)."""
    status_kinds = {
        EventKind.PLACED: OrderStatus.PENDING,
        EventKind.PROCESSED: OrderStatus.PROCESSED,
        EventKind.SHIPPED: OrderStatus.SHIPPED,
        EventKind.DELIVERED: OrderStatus.DELIVERED,
        EventKind.CANCELLED: OrderStatus.CANCELLED,
        EventKind.RETURNED: OrderStatus.RETURNED,
        EventKind.RETURNED_TO_SENDER: OrderStatus.RETURNED,
    }
    kinds = OrderEvent.objects.filter(order=order).order_by("created_at", "id").values_list("kind", flat=True)
    return [status_kinds[kind] for kind in kinds if kind in status_kinds]


def one_line(quantity: int) -> list[LineSpec]:
    return [LineSpec(sku="MUG-BLUE", name="Mug", quantity=quantity, unit_price=Decimal("12.00"))]


# --- moving one order ---------------------------------------------------------------------------------------


def test_two_hundred_concurrent_ship_calls_ship_the_order_exactly_once():
    shop = ShopFactory()
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    version = order.version
    numbers = [tracking_number() for _ in range(200)]

    def ship(number: str):
        return lambda: ship_order(order, parcels=[ParcelSpec(tracking_number=number)], by=SELLER)

    outcomes = run_together([ship(number) for number in numbers])

    assert tally(outcomes) == {"ok": 1, "IllegalTransition(current=shipped)": 199}
    refusals = [outcome.error for outcome in outcomes if not outcome.ok]
    assert all(error.allowed == [OrderStatus.DELIVERED, OrderStatus.RETURNED] for error in refusals)
    winner = numbers[next(n for n, outcome in enumerate(outcomes) if outcome.ok)]

    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED
    assert order.shipped_at is not None
    assert order.version == version + 1
    assert list(Shipment.objects.filter(order=order).values_list("tracking_number", flat=True)) == [winner]
    in_parcel = ShipmentLine.objects.filter(shipment__order=order).values_list("order_line_id", "quantity")
    assert dict(in_parcel) == {line.pk: line.quantity for line in order.lines.all()}
    assert TrackingEvent.objects.filter(shipment__order=order).count() == 1
    assert OrderEvent.objects.filter(order=order, kind=EventKind.SHIPPED).count() == 1
    assert OrderEvent.objects.filter(order=order, kind=EventKind.SHIPMENT_CREATED).count() == 0
    shipped_emails = Notification.objects.filter(order=order, template="shipment_shipped")
    assert shipped_emails.count() == 1
    assert shipped_emails.get().context["tracking_number"] == winner
    assert status_history(order) == [OrderStatus.PENDING, OrderStatus.PROCESSED, OrderStatus.SHIPPED]


def test_two_hundred_ship_calls_from_the_same_stale_form_are_refused_but_one():
    """Every caller opened the order at one version: the first change wins, the rest hear it changed."""
    order = order_in(OrderStatus.PROCESSED, shop=ShopFactory())
    version = order.version

    def ship(number: str):
        return lambda: ship_order(
            order, parcels=[ParcelSpec(tracking_number=number)], by=SELLER, expected_version=version
        )

    outcomes = run_together([ship(tracking_number()) for _ in range(200)])

    assert tally(outcomes) == {"ok": 1, "StaleVersion(stale_version)": 199}
    assert all(
        outcome.error.details == {"expected_version": version, "current_version": version + 1}
        for outcome in outcomes
        if isinstance(outcome.error, StaleVersion)
    )
    order.refresh_from_db()
    assert (order.status, order.version) == (OrderStatus.SHIPPED, version + 1)
    assert Shipment.objects.filter(order=order).count() == 1
    assert OrderEvent.objects.filter(order=order, kind=EventKind.SHIPPED).count() == 1
    assert Notification.objects.filter(order=order, template="shipment_shipped").count() == 1


@pytest.mark.parametrize("round_", range(2))
def test_cancel_racing_ship_has_one_winner_and_a_legal_history(round_):
    shop = ShopFactory()
    coupon = CouponFactory(shop=shop, code="SPRING10", usage_limit=10)
    order = order_in(OrderStatus.PROCESSED, shop=shop, coupon_code="spring10")
    assert order.payment_status == PaymentStatus.PAID and order.discount > 0
    coupon.refresh_from_db()
    assert coupon.times_used == 1

    def cancel():
        return cancel_order(order, reason="The buyer changed their mind", by=SELLER)

    def ship(number: str):
        return lambda: ship_order(order, parcels=[ParcelSpec(tracking_number=number)], by=SELLER)

    calls = []
    for _ in range(100):
        calls += [cancel, ship(tracking_number())]
    outcomes = run_together(calls)

    winners = [n for n, outcome in enumerate(outcomes) if outcome.ok]
    assert len(winners) == 1, tally(outcomes)
    order.refresh_from_db()
    won = OrderStatus.CANCELLED if calls[winners[0]] is cancel else OrderStatus.SHIPPED
    assert order.status == won
    assert tally(outcomes) == {"ok": 1, f"IllegalTransition(current={won})": 199}

    history = status_history(order)
    assert history == [OrderStatus.PENDING, OrderStatus.PROCESSED, won]
    assert all(is_allowed(source, target) for source, target in itertools.pairwise(history))
    coupon.refresh_from_db()
    redemption = CouponRedemption.objects.get(order=order)
    if won == OrderStatus.CANCELLED:
        assert order.payment_status == PaymentStatus.REFUNDED
        assert order.refunded_total == order.total
        assert (coupon.times_used, redemption.released_at is not None) == (0, True)
        assert not Shipment.objects.filter(order=order).exists()
        assert Notification.objects.filter(order=order, template="order_cancelled").count() == 1
        assert not Notification.objects.filter(order=order, template="shipment_shipped").exists()
    else:
        assert order.payment_status == PaymentStatus.PAID
        assert order.refunded_total == 0
        assert (coupon.times_used, redemption.released_at) == (1, None)
        assert Shipment.objects.filter(order=order).count() == 1
        assert Notification.objects.filter(order=order, template="shipment_shipped").count() == 1
        assert not Notification.objects.filter(order=order, template="order_cancelled").exists()


# --- coupons and order numbers ------------------------------------------------------------------------------


def test_a_coupon_limited_to_five_uses_is_used_five_times_under_two_hundred_redemptions():
    shop = ShopFactory()
    coupon = CouponFactory(shop=shop, code="LAST5", usage_limit=5)

    def redeem(n: int):
        return lambda: place(shop, email=f"buyer{n}@example.net", coupon_code="last5")

    outcomes = run_together([redeem(n) for n in range(200)])

    assert tally(outcomes) == {"ok": 5, "CouponRejected(coupon_used_up)": 195}
    refusals = [outcome.error for outcome in outcomes if not outcome.ok]
    assert all(isinstance(error, CouponRejected) and error.reason == "used_up" for error in refusals)
    coupon.refresh_from_db()
    assert coupon.times_used == 5
    assert CouponRedemption.objects.filter(coupon=coupon, released_at__isnull=True).count() == 5
    orders = Order.objects.filter(shop=shop)
    assert orders.count() == 5  # a refused placement leaves no order behind
    assert orders.filter(coupon=coupon).count() == 5
    assert set(orders.values_list("pk", flat=True)) == {o.value.pk for o in outcomes if o.ok}
    assert Customer.objects.filter(shop=shop).count() == 5
    assert Notification.objects.filter(order__shop=shop, template="order_confirmed").count() == 5
    shop.refresh_from_db()
    assert sorted(orders.values_list("number", flat=True)) == [
        f"{shop.order_prefix}-{n}" for n in range(shop.last_order_number - 4, shop.last_order_number + 1)
    ]


def test_a_buyer_placing_fifty_orders_at_once_gets_a_one_per_customer_coupon_once():
    """The buyer is new: fifty placements also race to create the same customer."""
    shop = ShopFactory()
    coupon = CouponFactory(shop=shop, code="WELCOME", per_customer_limit=1)

    outcomes = run_together(
        [lambda: place(shop, email="new.buyer@example.net", coupon_code="welcome") for _ in range(50)]
    )

    assert tally(outcomes) == {"ok": 1, "CouponRejected(coupon_per_customer_limit)": 49}
    coupon.refresh_from_db()
    assert coupon.times_used == 1
    customer = Customer.objects.get(shop=shop, email="new.buyer@example.net")
    assert customer.order_count == 1
    assert CouponRedemption.objects.filter(coupon=coupon, customer=customer).count() == 1
    assert Order.objects.filter(shop=shop, coupon=coupon).count() == 1


def test_a_hundred_orders_placed_at_once_get_a_hundred_numbers_without_gaps():
    shop = ShopFactory()
    first = shop.last_order_number + 1

    def buy(n: int):
        return lambda: place(shop, email=f"regular{n % 10}@example.net")

    outcomes = run_together([buy(n) for n in range(100)])

    assert tally(outcomes) == {"ok": 100}
    numbers = [outcome.value.number for outcome in outcomes]
    assert sorted(numbers, key=lambda number: int(number.rsplit("-", 1)[1])) == [
        f"{shop.order_prefix}-{n}" for n in range(first, first + 100)
    ]
    shop.refresh_from_db()
    assert shop.last_order_number == first + 99
    customers = Customer.objects.filter(shop=shop)
    assert customers.count() == 10
    assert sorted(customers.values_list("order_count", flat=True)) == [10] * 10


def test_a_buyer_placing_orders_at_once_under_different_names_is_not_deadlocked():
    """Each placement may rename the customer and bumps their order count: locks must come in one order."""
    shop = ShopFactory()
    place(shop, email="twin@example.net", address={**ADDRESS, "name": "Name 0"})
    coupon = CouponFactory(shop=shop, code="ANYONE")

    def buy(n: int):
        return lambda: place(
            shop,
            email="twin@example.net",
            address={**ADDRESS, "name": f"Name {n % 2}"},
            coupon_code="anyone" if n % 3 == 0 else "",
        )

    outcomes = run_together([buy(n) for n in range(60)])

    assert tally(outcomes) == {"ok": 60}
    customer = Customer.objects.get(shop=shop, email="twin@example.net")
    assert customer.order_count == 61
    coupon.refresh_from_db()
    assert coupon.times_used == 20


# --- returns ------------------------------------------------------------------------------------------------


def test_forty_concurrent_returns_of_one_unit_never_return_more_than_was_shipped():
    order = order_in(OrderStatus.DELIVERED, shop=ShopFactory(), lines=one_line(3))
    line = order.lines.get()

    def ask():
        return request_return(order, lines={line.pk: 1}, reason="Chipped", by=Actor.buyer())

    outcomes = run_together([ask for _ in range(40)])

    assert tally(outcomes) == {"ok": 3, "InvalidInput(too_many)": 37}
    assert all(o.error.details["line"] == line.pk for o in outcomes if not o.ok)
    assert sum(ReturnLine.objects.filter(order_line=line).values_list("quantity", flat=True)) == 3
    assert OrderEvent.objects.filter(order=order, kind=EventKind.RETURN_REQUESTED).count() == 3
    assert order.returns.count() == 3


# --- half-way failures --------------------------------------------------------------------------------------


def _nothing_shipped(order: Order, *, version: int, notifications: int) -> None:
    order.refresh_from_db()
    assert (order.status, order.version, order.shipped_at) == (OrderStatus.PROCESSED, version, None)
    assert not Shipment.objects.filter(order=order).exists()
    assert not ShipmentLine.objects.filter(order_line__order=order).exists()
    assert not TrackingEvent.objects.filter(shipment__order=order).exists()
    shipping_kinds = [EventKind.SHIPPED, EventKind.SHIPMENT_CREATED]
    assert not OrderEvent.objects.filter(order=order, kind__in=shipping_kinds).exists()
    assert Notification.objects.filter(order=order).count() == notifications
    assert not Notification.objects.filter(order=order, template="shipment_shipped").exists()


def test_a_shipment_that_fails_at_its_second_parcel_leaves_nothing_behind():
    shop = ShopFactory()
    taken = tracking_number()
    other = order_in(OrderStatus.PROCESSED, shop=shop)
    ship_order(other, parcels=[ParcelSpec(tracking_number=taken)], by=SELLER)
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    version, notifications = order.version, Notification.objects.filter(order=order).count()
    first, second = order.lines.all()

    with pytest.raises(InvalidInput) as refused:
        ship_order(
            order,
            parcels=[
                ParcelSpec(tracking_number=tracking_number(), lines={first.pk: first.quantity}),
                ParcelSpec(tracking_number=taken, lines={second.pk: second.quantity}),
            ],
            by=SELLER,
        )

    assert refused.value.code == "duplicate_tracking_number"
    assert refused.value.field == "parcels.1.tracking_number"
    _nothing_shipped(order, version=version, notifications=notifications)


def test_orders_racing_for_one_tracking_number_leave_only_the_winner_shipped():
    """Each order's second parcel claims the same number: the losers fail after their first parcel was written
    (the database's unique constraint catches what the up-front check could not see) and keep nothing."""
    shop = ShopFactory()
    orders = [order_in(OrderStatus.PROCESSED, shop=shop) for _ in range(10)]
    before = {order.pk: (order.version, Notification.objects.filter(order=order).count()) for order in orders}
    shared = tracking_number()

    def ship(order: Order):
        first, second = order.lines.all()
        parcels = [
            ParcelSpec(tracking_number=tracking_number(), lines={first.pk: first.quantity}),
            ParcelSpec(tracking_number=shared, lines={second.pk: second.quantity}),
        ]
        return lambda: ship_order(order, parcels=parcels, by=SELLER)

    outcomes = run_together([ship(order) for order in orders], threads=len(orders))

    assert tally(outcomes) == {"ok": 1, "InvalidInput(duplicate_tracking_number)": len(orders) - 1}
    for order, outcome in zip(orders, outcomes, strict=True):
        if outcome.ok:
            order.refresh_from_db()
            assert order.status == OrderStatus.SHIPPED
            assert Shipment.objects.filter(order=order).count() == 2
            assert Notification.objects.filter(order=order, template="shipment_shipped").count() == 2
        else:
            version, notifications = before[order.pk]
            _nothing_shipped(order, version=version, notifications=notifications)
    assert Shipment.objects.filter(shop=shop, tracking_number=shared).count() == 1
