"""Reads for the order page: the order with everything it shows, its timeline, and the actions it allows."""

from dataclasses import dataclass

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404

from orders.models import Order, OrderEvent, Return, ReturnLine
from orders.services.checklist import missing_checklist_steps
from orders.states import NOT_YET_SHIPPED, OrderStatus, allowed_moves
from shipping.models import Carrier, Shipment, ShipmentLine


def order_for_detail(shop, number: str) -> Order:
    """The shop's order with its lines, parcels (carrier, lines, scans), returns, buyer requests, feedback and
    customer.

    A number from another shop is a 404. The query count is pinned by tests/dashboard/test_order_detail.py.
    """
    queryset = (
        Order.objects.for_shop(shop)
        .select_related("customer", "coupon", "feedback", "shop")
        .prefetch_related(
            "lines",
            Prefetch(
                "shipments",
                queryset=Shipment.objects.select_related("carrier").prefetch_related(
                    Prefetch("lines", queryset=ShipmentLine.objects.select_related("order_line")),
                    "events",
                ),
            ),
            Prefetch(
                "returns",
                queryset=Return.objects.prefetch_related(
                    Prefetch("lines", queryset=ReturnLine.objects.select_related("order_line"))
                ),
            ),
            "buyer_requests",  # the requests panel (dashboard/requests/_order_requests.html)
        )
    )
    return get_object_or_404(queryset, number=number)


def order_for_action(shop, number: str) -> Order:
    """The shop's order, without what the page shows: actions hand it to a service, which locks it again."""
    return get_object_or_404(Order.objects.for_shop(shop), number=number)


def order_timeline(order: Order) -> list[OrderEvent]:
    """Every event of the order, newest first, with who did it."""
    return list(order.events.select_related("actor").order_by("-created_at", "-id"))


def active_carriers() -> list[Carrier]:
    return list(Carrier.objects.filter(is_active=True).order_by("name"))


@dataclass(frozen=True)
class OrderActions:
    """What the page offers: only moves the state machine allows from the order's status."""

    process: bool
    ship: bool
    deliver: bool
    cancel: bool
    edit_address: bool
    checklist: bool

    @property
    def any_move(self) -> bool:
        return self.process or self.ship or self.deliver or self.cancel


def order_actions(order: Order) -> OrderActions:
    moves = allowed_moves(order.status)
    has_parcels = bool(order.shipments.all())  # prefetched
    not_shipped = order.status in NOT_YET_SHIPPED
    return OrderActions(
        process=OrderStatus.PROCESSED in moves,
        # Parcels are added while processed; the last one moves the order to shipped.
        ship=OrderStatus.SHIPPED in moves,
        deliver=OrderStatus.DELIVERED in moves,
        cancel=OrderStatus.CANCELLED in moves and not has_parcels,
        edit_address=not_shipped and not has_parcels,
        checklist=not_shipped,
    )


def unshipped_lines(order: Order) -> list[tuple]:
    """(line, units left to ship) for every line with units left, from the prefetched parcels."""
    shipped: dict[int, int] = {}
    for shipment in order.shipments.all():
        for shipment_line in shipment.lines.all():
            shipped[shipment_line.order_line_id] = (
                shipped.get(shipment_line.order_line_id, 0) + shipment_line.quantity
            )
    return [
        (line, line.quantity - shipped.get(line.pk, 0))
        for line in order.lines.all()
        if line.quantity - shipped.get(line.pk, 0) > 0
    ]


def checklist_state(order: Order) -> dict:
    missing = missing_checklist_steps(order)
    return {
        "picked_at": order.picked_at,
        "packed_at": order.packed_at,
        "address_verified_at": order.address_verified_at,
        "missing": missing,
        "required": order.shop.require_checklist,
        "blocks_shipping": order.shop.require_checklist and bool(missing),
    }
