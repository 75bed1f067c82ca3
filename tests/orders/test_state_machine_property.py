"""Random sequences of services on a few orders of one shop, checking the rules a seller relies on after
every step: the status is always legal, closed orders never move, every move is on the timeline and told to
the buyer, a refused change writes nothing, coupon uses stay within their limit, and no more comes back than
was shipped."""

import json
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

import psycopg
import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from orders import states
from orders.errors import ShipshapeError
from orders.models import (
    Coupon,
    CouponKind,
    CouponRedemption,
    EventKind,
    Notification,
    Order,
    OrderEvent,
    OrderLine,
    Return,
    ReturnLine,
    ReturnStatus,
)
from orders.models.returns import OPEN_RETURN_STATES
from orders.services import (
    Actor,
    LineSpec,
    ParcelSpec,
    add_note,
    approve_return,
    cancel_order,
    change_shipping_address,
    deliver_order,
    deliver_shipment,
    mark_paid,
    modify_lines,
    process_order,
    receive_return,
    refund_return,
    reject_return,
    request_return,
    return_to_sender,
    ship_order,
)
from orders.states import OrderStatus, PaymentMethod
from shipping.models import Shipment, ShipmentLine
from tests.factories import ADDRESS, SELLER, CouponFactory, ShopFactory, place, tracking_number

S = OrderStatus
BUYER = Actor.buyer()
COUPON_LIMIT = 3
MAX_ORDERS = 4
STATUS_EVENTS = (
    EventKind.PROCESSED,
    EventKind.SHIPPED,
    EventKind.DELIVERED,
    EventKind.CANCELLED,
    EventKind.RETURNED,
    EventKind.RETURNED_TO_SENDER,
)
OTHER_ADDRESS = {**ADDRESS, "line1": "3 Quay Lane", "city": "Bristol"}

indexes = st.integers(min_value=0, max_value=MAX_ORDERS * 2)


@dataclass
class Expected:
    """What the machine knows happened to one order, independently of the database."""

    status: str = S.PENDING
    version: int = 1
    events: int = 1
    status_changes: int = 0
    notifications: Counter = field(default_factory=lambda: Counter(["order_confirmed"]))


@dataclass(frozen=True)
class Snapshot:
    status: str
    version: int
    events: int
    notifications: int


EVENTS = OrderEvent._meta.db_table
NOTIFICATIONS = Notification._meta.db_table
ORDERS = Order._meta.db_table
SNAPSHOT_SQL = f"""
    SELECT o.status, o.version,
           (SELECT count(*) FROM {EVENTS} e WHERE e.order_id = o.id),
           (SELECT count(*) FROM {NOTIFICATIONS} n WHERE n.order_id = o.id)
    FROM {ORDERS} o WHERE o.id = %s
"""
# Per order of the shop: status, version, events (all, and status-changing), notification rows by template.
ORDERS_SQL = f"""
    SELECT o.id, o.status, o.version,
           (SELECT count(*) FROM {EVENTS} e WHERE e.order_id = o.id),
           (SELECT count(*) FROM {EVENTS} e WHERE e.order_id = o.id AND e.kind = ANY(%s)),
           (SELECT coalesce(json_object_agg(t.template, t.n), '{{}}') FROM
               (SELECT template, count(*) AS n FROM {NOTIFICATIONS} n
                WHERE n.order_id = o.id GROUP BY template) t)
    FROM {ORDERS} o WHERE o.shop_id = %s
"""
COUPON_SQL = f"""
    SELECT c.times_used,
           (SELECT count(*) FROM {CouponRedemption._meta.db_table} r
            WHERE r.coupon_id = c.id AND r.released_at IS NULL),
           (SELECT count(*) FROM {ORDERS} o WHERE o.coupon_id = c.id AND o.status <> %s)
    FROM {Coupon._meta.db_table} c WHERE c.id = %s
"""
# Order lines of the shop with more units in non-rejected returns than in parcels.
OVER_RETURNED_SQL = f"""
    SELECT rl.order_line_id, sum(rl.quantity)
    FROM {ReturnLine._meta.db_table} rl JOIN {Return._meta.db_table} r ON r.id = rl.return_request_id
    JOIN {ORDERS} o ON o.id = r.order_id
    WHERE o.shop_id = %s AND r.status <> %s
    GROUP BY rl.order_line_id
    HAVING sum(rl.quantity) > (SELECT coalesce(sum(sl.quantity), 0) FROM {ShipmentLine._meta.db_table} sl
                               WHERE sl.order_line_id = rl.order_line_id)
"""

# Orders of the shop whose open-return flag (the order list's filter) disagrees with their returns.
OPEN_RETURN_FLAG_SQL = f"""
    SELECT o.id FROM {ORDERS} o
    WHERE o.shop_id = %s AND o.has_open_return <> EXISTS(
        SELECT 1 FROM {Return._meta.db_table} r WHERE r.order_id = o.id AND r.status = ANY(%s))
"""


def fetch(sql: str, params: list) -> list[tuple]:
    """Run a check query as a prepared statement on the test's connection (and so in its transaction):
    they run tens of thousands of times, and planning them each time would dominate the run."""
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        return cursor.fetchall()


def snapshot(order_id: int) -> Snapshot:
    return Snapshot(*fetch(SNAPSHOT_SQL, [order_id])[0])


class OrderLife(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        # Each example runs in a savepoint of the test's transaction, rolled back in teardown().
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        self.shop = ShopFactory()
        self.coupon = CouponFactory(
            shop=self.shop,
            code="LIMITED",
            kind=CouponKind.FIXED,
            value=Decimal("5.00"),
            usage_limit=COUPON_LIMIT,
            min_subtotal=Decimal("20.00"),
        )
        self.expected: dict[int, Expected] = {}
        self.order_ids: list[int] = []
        self.return_ids: list[tuple[int, int]] = []  # (return id, order id)

    def teardown(self):
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    # --- The harness: run a service, check a refusal wrote nothing and a success was recorded -----------

    def pick(self, index: int) -> int:
        return self.order_ids[index % len(self.order_ids)]

    def act(self, order_id: int, call, notify=(), *, events=1, bumps_version: bool = True) -> bool:
        """Run one service. A refusal must leave the order exactly as the machine knows it; a success must
        be a legal move (or none), with its events and notification rows, and nothing else."""
        expected = self.expected[order_id]
        known = Snapshot(expected.status, expected.version, expected.events, expected.notifications.total())
        try:
            call()
        except ShipshapeError:
            # A refusal changes nothing: the invariants compare every order with what the machine knows.
            return False
        after = snapshot(order_id)
        if after.status != known.status:
            assert known.status not in states.FINAL_STATES, f"a {known.status} order moved to {after.status}"
            assert states.is_allowed(known.status, after.status), f"{known.status} → {after.status}"
            expected.status_changes += 1
            expected.status = after.status
        templates = notify(known.status, after.status) if callable(notify) else notify
        expected.notifications.update(templates)
        expected.events += events(known.status, after.status) if callable(events) else events
        expected.version += 1 if bumps_version else 0
        assert after == Snapshot(
            expected.status, expected.version, expected.events, expected.notifications.total()
        ), "the change did not write what it should"
        return True

    # --- Rules ------------------------------------------------------------------------------------------

    @precondition(lambda self: len(self.order_ids) < MAX_ORDERS)
    @rule(
        with_coupon=st.booleans(),
        paid=st.booleans(),
        cash_on_delivery=st.booleans(),
        buyer=st.sampled_from(["ada@example.net", "bob@example.net"]),
    )
    def place_an_order(self, with_coupon, paid, cash_on_delivery, buyer):
        try:
            order = place(
                self.shop,
                email=buyer,
                paid=paid,
                payment_method=PaymentMethod.CASH_ON_DELIVERY if cash_on_delivery else PaymentMethod.CARD,
                coupon_code="limited" if with_coupon else "",
            )
        except ShipshapeError:
            return
        self.order_ids.append(order.pk)
        self.expected[order.pk] = Expected()

    @precondition(lambda self: self.order_ids)
    @rule(index=indexes)
    def pay(self, index):
        order_id = self.pick(index)
        self.act(order_id, lambda: mark_paid(Order(pk=order_id), by=SELLER))

    @precondition(lambda self: self.order_ids)
    @rule(index=indexes)
    def process(self, index):
        order_id = self.pick(index)
        self.act(order_id, lambda: process_order(Order(pk=order_id), by=SELLER), ["order_processed"])

    @precondition(lambda self: self.order_ids)
    @rule(index=indexes, partial=st.booleans(), line=st.integers(0, 2), no_tracking=st.booleans())
    def ship(self, index, partial, line, no_tracking):
        order_id = self.pick(index)
        lines = None
        if partial:
            line_ids = list(OrderLine.objects.filter(order_id=order_id).values_list("pk", flat=True))
            lines = {line_ids[line % len(line_ids)]: 1}
        parcel = (
            ParcelSpec(carrier_code="other", no_tracking=True, lines=lines)
            if no_tracking
            else ParcelSpec(tracking_number=tracking_number(), lines=lines)
        )
        self.act(
            order_id,
            lambda: ship_order(Order(pk=order_id), parcels=[parcel], by=SELLER),
            ["shipment_shipped"],
        )

    @precondition(lambda self: self.order_ids)
    @rule(index=indexes, parcel=st.integers(0, 3))
    def deliver_a_parcel(self, index, parcel):
        order_id = self.pick(index)
        shipments = list(Shipment.objects.filter(order_id=order_id).order_by("id"))
        if not shipments:
            return
        shipment = shipments[parcel % len(shipments)]

        def notify(before, after):
            return ["order_delivered"] if after == S.DELIVERED else ["shipment_delivered"]

        self.act(order_id, lambda: deliver_shipment(shipment, by=Actor.carrier()), notify)

    @precondition(lambda self: self.order_ids)
    @rule(index=indexes)
    def deliver_by_hand(self, index):
        order_id = self.pick(index)
        self.act(order_id, lambda: deliver_order(Order(pk=order_id), by=SELLER), ["order_delivered"])

    @precondition(lambda self: self.order_ids)
    @rule(index=indexes, reason=st.sampled_from(["Out of stock", ""]))
    def cancel(self, index, reason):
        order_id = self.pick(index)
        self.act(
            order_id, lambda: cancel_order(Order(pk=order_id), reason=reason, by=SELLER), ["order_cancelled"]
        )

    @precondition(lambda self: self.order_ids)
    @rule(index=indexes)
    def return_to_the_sender(self, index):
        order_id = self.pick(index)
        self.act(
            order_id,
            lambda: return_to_sender(Order(pk=order_id), reason="Address not found", by=Actor.carrier()),
            ["order_returned"],
        )

    @precondition(lambda self: self.order_ids)
    @rule(index=indexes, line=st.integers(0, 2), quantity=st.integers(1, 3), by_buyer=st.booleans())
    def ask_for_a_return(self, index, line, quantity, by_buyer):
        order_id = self.pick(index)
        line_ids = list(OrderLine.objects.filter(order_id=order_id).values_list("pk", flat=True))
        line_id = line_ids[line % len(line_ids)]
        created = []

        def call():
            created.append(
                request_return(
                    Order(pk=order_id),
                    lines={line_id: quantity},
                    reason="Too small",
                    by=BUYER if by_buyer else SELLER,
                )
            )

        if self.act(order_id, call, []):
            self.return_ids.append((created[0].pk, order_id))

    def _return_step(self, index, service, notify, events=1):
        return_id, order_id = self.return_ids[index % len(self.return_ids)]
        self.act(order_id, lambda: service(Return(pk=return_id, order_id=order_id)), notify, events=events)

    @precondition(lambda self: self.return_ids)
    @rule(index=indexes)
    def approve(self, index):
        self._return_step(index, lambda r: approve_return(r, by=SELLER), ["return_approved"])

    @precondition(lambda self: self.return_ids)
    @rule(index=indexes)
    def reject(self, index):
        self._return_step(index, lambda r: reject_return(r, reason="Worn", by=SELLER), ["return_rejected"])

    @precondition(lambda self: self.return_ids)
    @rule(index=indexes)
    def receive(self, index):
        self._return_step(index, lambda r: receive_return(r, by=SELLER), ["return_received"])

    @precondition(lambda self: self.return_ids)
    @rule(index=indexes, everything_left=st.booleans())
    def refund(self, index, everything_left):
        def service(return_request):
            amount = None
            if everything_left:
                order = Order.objects.get(pk=return_request.order_id)
                amount = order.total - order.refunded_total
            return refund_return(return_request, by=SELLER, amount=amount)

        def notify(before, after):
            return ["return_refunded", "order_returned"] if after == S.RETURNED else ["return_refunded"]

        def events(before, after):
            return 2 if after == S.RETURNED else 1

        self._return_step(index, service, notify, events=events)

    @precondition(lambda self: self.order_ids)
    @rule(index=indexes, other=st.booleans())
    def change_address(self, index, other):
        order_id = self.pick(index)
        address = OTHER_ADDRESS if other else ADDRESS
        self.act(
            order_id,
            lambda: change_shipping_address(Order(pk=order_id), address=address, by=BUYER),
            ["address_changed"],
        )

    @precondition(lambda self: self.order_ids)
    @rule(
        index=indexes,
        quantity=st.integers(1, 3),
        keep_second=st.booleans(),
        add=st.booleans(),
        drop=st.booleans(),
    )
    def change_items(self, index, quantity, keep_second, add, drop):
        order_id = self.pick(index)
        current = list(OrderLine.objects.filter(order_id=order_id).order_by("id"))
        first = current[0]
        lines = [
            LineSpec(
                id=first.pk, sku=first.sku, name=first.name, quantity=quantity, unit_price=first.unit_price
            )
        ]
        if keep_second and len(current) > 1:
            second = current[1]
            lines.append(
                LineSpec(
                    id=second.pk,
                    sku=second.sku,
                    name=second.name,
                    quantity=second.quantity,
                    unit_price=second.unit_price,
                )
            )
        if add:
            lines.append(LineSpec(sku="SOCK", name="Socks", quantity=1, unit_price=Decimal("3.00")))
        self.act(
            order_id,
            lambda: modify_lines(Order(pk=order_id), lines=lines, by=SELLER, drop_coupon_if_invalid=drop),
            ["lines_changed"],
        )

    @precondition(lambda self: self.order_ids)
    @rule(index=indexes)
    def note(self, index):
        order_id = self.pick(index)
        self.act(
            order_id,
            lambda: add_note(Order(pk=order_id), text="Called the buyer", by=SELLER),
            [],
            bumps_version=False,
        )

    # --- Invariants -------------------------------------------------------------------------------------

    @invariant()
    def orders_are_as_their_timeline_and_outbox_say(self):
        """Legal statuses, closed orders unmoved, one timeline event per move, the buyer told of each
        change, and nothing written by a refused change."""
        rows = fetch(ORDERS_SQL, [list(STATUS_EVENTS), self.shop.pk])
        assert {row[0] for row in rows} == set(self.order_ids), "an order appeared or vanished"
        for order_id, status, version, events, moves, templates in rows:
            expected = self.expected[order_id]
            assert status in OrderStatus.values
            # A refused change, or a change to another order, must not have touched this one.
            assert (status, version, events) == (expected.status, expected.version, expected.events)
            assert moves == expected.status_changes
            assert (
                Counter(json.loads(templates) if isinstance(templates, str) else templates)
                == expected.notifications
            )

    @invariant()
    def coupon_uses_stay_within_the_limit(self):
        times_used, held, orders_with_coupon = fetch(COUPON_SQL, [S.CANCELLED, self.coupon.pk])[0]
        assert times_used <= COUPON_LIMIT
        assert times_used == held == orders_with_coupon

    @invariant()
    def no_more_comes_back_than_was_shipped(self):
        if self.return_ids:
            assert fetch(OVER_RETURNED_SQL, [self.shop.pk, ReturnStatus.REJECTED]) == []

    @invariant()
    def an_order_is_flagged_while_a_return_of_it_is_open(self):
        if self.return_ids:
            assert fetch(OPEN_RETURN_FLAG_SQL, [self.shop.pk, list(OPEN_RETURN_STATES)]) == []


PROPERTY_SETTINGS = settings(
    max_examples=1000,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)


@pytest.mark.slow
def test_random_sequences_of_services_keep_the_rules(db):
    run_state_machine_as_test(OrderLife, settings=PROPERTY_SETTINGS)
