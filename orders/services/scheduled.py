"""The jobs Celery beat runs: late orders, stalled parcels, feedback requests, unpaid expiry.

Each job finds its candidates with one indexed query, then handles every order in its own transaction through
the services, so one bad order never stops the rest, and running a job twice does nothing more.
"""

import logging
import secrets
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from shipping.models import Shipment, ShipmentStatus, TrackingEvent
from shop.models import Shop

from ..errors import ShipshapeError
from ..models import Coupon, CouponKind, EventKind, Order, OrderEvent
from ..notifications import queue_customer_email
from ..states import OrderStatus, PaymentMethod, PaymentStatus
from .changes import SYSTEM, lock_order, record_event
from .fulfilment import cancel_order

logger = logging.getLogger(__name__)
BATCH = 2000


def flag_late_orders(*, now=None) -> int:
    """Orders not shipped within the shop's handling time get one LATE event: a to-do for the seller."""
    now = now or timezone.now()
    flagged = 0
    for shop in Shop.objects.only("pk", "handling_days"):
        candidates = (
            Order.objects.for_shop(shop)
            .filter(
                status__in=(OrderStatus.PENDING, OrderStatus.PROCESSED),
                placed_at__lt=now - timedelta(days=shop.handling_days),
            )
            .exclude(Exists(OrderEvent.objects.filter(order=OuterRef("pk"), kind=EventKind.LATE)))
            .values_list("pk", flat=True)[:BATCH]
        )
        for order_id in list(candidates):
            with transaction.atomic():
                order = lock_order(order_id)
                if order.status not in (OrderStatus.PENDING, OrderStatus.PROCESSED):
                    continue
                if order.events.filter(kind=EventKind.LATE).exists():
                    continue
                record_event(
                    order,
                    EventKind.LATE,
                    by=SYSTEM,
                    message=_("Not shipped within %(days)s days") % {"days": shop.handling_days},
                )
                flagged += 1
    return flagged


def stalled_shipments(*, now=None) -> list[int]:
    """Ids of parcels still travelling with no scan for the shop's limit, or past their estimated delivery."""
    now = now or timezone.now()
    ids: list[int] = []
    for shop in Shop.objects.only("pk", "stalled_after_days"):
        recent_scan = TrackingEvent.objects.filter(
            shipment=OuterRef("pk"), occurred_at__gte=now - timedelta(days=shop.stalled_after_days)
        )
        ids += (
            Shipment.objects.filter(
                shop=shop,
                status__in=(ShipmentStatus.IN_TRANSIT, ShipmentStatus.OUT_FOR_DELIVERY),
                delay_reported_at__isnull=True,
                order__status__in=(OrderStatus.PROCESSED, OrderStatus.SHIPPED),
            )
            .filter(Q(estimated_delivery__lt=now.date()) | ~Exists(recent_scan))
            .values_list("pk", flat=True)[:BATCH]
        )
    return ids


def report_stalled_shipments(*, now=None) -> int:
    """Report each stalled parcel once: a DELAYED event for the seller and, if the shop wants it, a delay
    notice to the buyer, with a single-use apology coupon when the shop sets a percentage."""
    now = now or timezone.now()
    reported = 0
    for shipment_id in stalled_shipments(now=now):
        try:
            with transaction.atomic():
                reported += _report_stalled(shipment_id, now=now)
        except ShipshapeError:
            logger.exception("Could not report stalled shipment %s", shipment_id)
    return reported


def _report_stalled(shipment_id: int, *, now) -> int:
    shipment = Shipment.objects.select_related("carrier").get(pk=shipment_id)
    order = lock_order(shipment.order_id)
    shipment = Shipment.objects.select_for_update().select_related("carrier").get(pk=shipment_id)
    if shipment.delay_reported_at is not None:
        return 0
    shipment.delay_reported_at = now
    shipment.save(update_fields=["delay_reported_at"])
    coupon = None
    if order.shop.send_delay_notices and order.shop.delay_coupon_percent:
        coupon = Coupon.objects.create(
            shop=order.shop,
            code=f"SORRY-{secrets.token_hex(4).upper()}",
            kind=CouponKind.PERCENTAGE,
            value=Decimal(order.shop.delay_coupon_percent),
            usage_limit=1,
            per_customer_limit=1,
            valid_until=now + timedelta(days=90),
            description=_("Apology for the delay of %(number)s") % {"number": order.number},
        )
    event = record_event(
        order,
        EventKind.DELAYED,
        by=SYSTEM,
        message=_("Parcel %(number)s has not moved as expected")
        % {"number": shipment.tracking_number or shipment.pk},
        data={"shipment_id": shipment.pk, "coupon": coupon.code if coupon else None},
    )
    if order.shop.send_delay_notices:
        queue_customer_email(
            order,
            event,
            "shipment_delayed",
            part=f"s{shipment.pk}",
            context={
                "carrier": shipment.carrier.name,
                "tracking_number": shipment.tracking_number,
                "carrier_tracking_url": shipment.tracking_url,
                "coupon_code": coupon.code if coupon else "",
                "coupon_percent": order.shop.delay_coupon_percent if coupon else "",
            },
        )
    return 1


def request_feedback(*, now=None) -> int:
    """Ask for feedback once per order, the shop's number of days after delivery."""
    now = now or timezone.now()
    asked = 0
    for shop in Shop.objects.filter(feedback_request_days__gt=0).only("pk", "feedback_request_days"):
        candidates = (
            Order.objects.for_shop(shop)
            .filter(
                status=OrderStatus.DELIVERED,
                delivered_at__lt=now - timedelta(days=shop.feedback_request_days),
                delivered_at__gte=now - timedelta(days=shop.feedback_request_days + 30),
            )
            .exclude(
                Exists(OrderEvent.objects.filter(order=OuterRef("pk"), kind=EventKind.FEEDBACK_REQUESTED))
            )
            .values_list("pk", flat=True)[:BATCH]
        )
        for order_id in list(candidates):
            with transaction.atomic():
                order = lock_order(order_id)
                if order.events.filter(kind=EventKind.FEEDBACK_REQUESTED).exists():
                    continue
                event = record_event(
                    order, EventKind.FEEDBACK_REQUESTED, by=SYSTEM, message=_("Feedback requested")
                )
                queue_customer_email(order, event, "feedback_request")
                asked += 1
    return asked


def expire_unpaid_orders(*, now=None) -> int:
    """Cancel pending unpaid orders (not cash on delivery) older than the shop's limit; the coupon use is
    released by the cancellation."""
    now = now or timezone.now()
    cancelled = 0
    for shop in Shop.objects.filter(unpaid_expiry_hours__gt=0).only("pk", "unpaid_expiry_hours"):
        candidates = (
            Order.objects.for_shop(shop)
            .filter(
                status=OrderStatus.PENDING,
                payment_status=PaymentStatus.UNPAID,
                placed_at__lt=now - timedelta(hours=shop.unpaid_expiry_hours),
            )
            .exclude(payment_method=PaymentMethod.CASH_ON_DELIVERY)
            .values_list("pk", flat=True)[:BATCH]
        )
        for order_id in list(candidates):
            with transaction.atomic():
                order = lock_order(order_id)
                if order.status != OrderStatus.PENDING or order.payment_status != PaymentStatus.UNPAID:
                    continue  # paid or moved on since the query
                cancel_order(order, reason=_("Not paid in time"), by=SYSTEM)
                cancelled += 1
    return cancelled
