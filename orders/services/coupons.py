"""Coupon rules: price a cart with a coupon, redeem it on an order, release it on cancellation."""

import secrets
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from shop.models import Customer, Shop
from shop.templatetags.money import format_money

from ..errors import CouponRejected, InvalidInput
from ..models import Coupon, CouponKind, CouponRedemption, EventKind, Order
from ..models.order import ZERO
from ..notifications import queue_customer_email
from ..states import OrderStatus
from .changes import Actor, lock_order, record_event

CENT = Decimal("0.01")
APOLOGY_COUPON_DAYS = 90
DEFAULT_APOLOGY_PERCENT = 10


@dataclass(frozen=True)
class CouponQuote:
    coupon: Coupon
    discount: Decimal


def find_coupon(shop: Shop, code: str, *, lock: bool = False) -> Coupon:
    queryset = Coupon.objects.filter(shop=shop, code__iexact=code.strip())
    if lock:
        queryset = queryset.select_for_update()
    coupon = queryset.first()
    if coupon is None:
        raise CouponRejected(
            _("There is no coupon %(code)s.") % {"code": code}, reason="unknown", coupon_code=code
        )
    return coupon


def quote_coupon(
    coupon: Coupon,
    *,
    customer: Customer | None,
    subtotal: Decimal,
    quantity: int,
    shipping_price: Decimal,
    exclude_order: Order | None = None,
    now=None,
) -> CouponQuote:
    """Check every rule of ``coupon`` for this cart and return the discount it gives.

    ``exclude_order`` is the order being re-priced (its own redemption does not count against the limits).
    Raises ``CouponRejected`` naming the rule that failed.
    """
    now = now or timezone.now()
    code = coupon.code

    def reject(message: str, reason: str):
        raise CouponRejected(message, reason=reason, coupon_code=code)

    held_by_this_order = bool(exclude_order and exclude_order.coupon_id == coupon.pk)
    if not coupon.is_active and not held_by_this_order:  # deactivating never takes a coupon off an order
        reject(_("The coupon %(code)s is no longer active.") % {"code": code}, "inactive")
    if coupon.valid_from and now < coupon.valid_from:
        reject(_("The coupon %(code)s is not valid yet.") % {"code": code}, "not_yet_valid")
    if coupon.valid_until and now > coupon.valid_until:
        reject(_("The coupon %(code)s has expired.") % {"code": code}, "expired")
    if coupon.usage_limit is not None and not held_by_this_order and coupon.times_used >= coupon.usage_limit:
        reject(_("The coupon %(code)s has been used up.") % {"code": code}, "used_up")
    if subtotal < coupon.min_subtotal:
        reject(
            _("The coupon %(code)s needs a subtotal of at least %(amount)s.")
            % {"code": code, "amount": format_money(coupon.min_subtotal, coupon.shop.currency)},
            "min_subtotal",
        )
    if quantity < coupon.min_quantity:
        reject(
            _("The coupon %(code)s needs at least %(count)s items.")
            % {"code": code, "count": coupon.min_quantity},
            "min_quantity",
        )
    if customer is not None and customer.pk:
        others = Q(customer=customer, released_at__isnull=True)
        if exclude_order is not None:
            others &= ~Q(order=exclude_order)
        if coupon.per_customer_limit is not None:
            used = CouponRedemption.objects.filter(others, coupon=coupon).count()
            if used >= coupon.per_customer_limit:
                reject(_("You have already used the coupon %(code)s.") % {"code": code}, "per_customer_limit")
        if coupon.returning_customers_only and not _has_earlier_order(customer, exclude_order):
            reject(_("The coupon %(code)s is for returning customers.") % {"code": code}, "returning_only")
    elif coupon.returning_customers_only:
        reject(_("The coupon %(code)s is for returning customers.") % {"code": code}, "returning_only")
    return CouponQuote(
        coupon=coupon, discount=discount_for(coupon, subtotal=subtotal, shipping_price=shipping_price)
    )


def _has_earlier_order(customer: Customer, exclude_order: Order | None) -> bool:
    orders = Order.objects.filter(customer=customer).exclude(status=OrderStatus.CANCELLED)
    if exclude_order is not None:
        orders = orders.exclude(pk=exclude_order.pk).filter(placed_at__lt=exclude_order.placed_at)
    return orders.exists()


def discount_for(coupon: Coupon, *, subtotal: Decimal, shipping_price: Decimal) -> Decimal:
    if coupon.kind == CouponKind.PERCENTAGE:
        return min(subtotal, (subtotal * coupon.value / 100).quantize(CENT, ROUND_HALF_UP))
    if coupon.kind == CouponKind.FIXED:
        return min(subtotal, coupon.value)
    return shipping_price  # free shipping: the discount is the shipping price


def redeem(coupon: Coupon, *, order: Order, amount: Decimal) -> CouponRedemption:
    """Take one use of a coupon locked by the caller (``find_coupon(lock=True)``)."""
    Coupon.objects.filter(pk=coupon.pk).update(times_used=F("times_used") + 1)
    return CouponRedemption.objects.create(
        coupon=coupon, order=order, customer=order.customer, amount=amount, redeemed_at=timezone.now()
    )


def release(order: Order) -> bool:
    """Give the order's coupon use back (cancellation). Returns whether there was one to release."""
    redemption = (
        CouponRedemption.objects.select_for_update().filter(order=order, released_at__isnull=True).first()
    )
    if redemption is None:
        return False
    Coupon.objects.filter(pk=redemption.coupon_id).update(times_used=F("times_used") - 1)
    redemption.released_at = timezone.now()
    redemption.save(update_fields=["released_at"])
    return True


@dataclass(frozen=True)
class ApologySent:
    coupon: Coupon
    emailed: bool  # False when the buyer unsubscribed from the shop's non-essential mail


@transaction.atomic
def send_apology_coupon(
    order: Order, *, by: Actor, percent: int | None = None, again: bool = False, now=None
) -> ApologySent:
    """Say sorry for a delay with a single-use percentage coupon for this buyer, emailed through the outbox
    and recorded on the timeline (COUPON_SENT).

    Once per order: a second apology is refused unless the seller confirms it (``again``). The percentage
    is the shop's delay-coupon percent unless given (10% when the shop has none set)."""
    now = now or timezone.now()
    order = lock_order(order)
    earlier = order.events.filter(kind=EventKind.COUPON_SENT).order_by("-created_at").first()
    if earlier is not None and not again:
        raise InvalidInput(
            _("A coupon (%(code)s) was already sent for this order. Confirm to send another one.")
            % {"code": earlier.data.get("coupon", "")},
            field="confirm",
            code="coupon_already_sent",
        )
    percent = percent or order.shop.delay_coupon_percent or DEFAULT_APOLOGY_PERCENT
    if not 1 <= percent <= 100:
        raise InvalidInput(_("A percentage is from 1 to 100."), field="percent")
    coupon = Coupon.objects.create(
        shop=order.shop,
        code=f"SORRY-{secrets.token_hex(4).upper()}",
        kind=CouponKind.PERCENTAGE,
        value=Decimal(percent),
        usage_limit=1,
        per_customer_limit=1,
        valid_until=now + timedelta(days=APOLOGY_COUPON_DAYS),
        description=_("Apology for the delay of %(number)s") % {"number": order.number},
    )
    event = record_event(
        order,
        EventKind.COUPON_SENT,
        by=by,
        message=_("Apology coupon %(code)s (%(percent)s%% off) sent to the buyer")
        % {"code": coupon.code, "percent": percent},
        data={"coupon": coupon.code, "percent": percent},
        at=now,
    )
    notification = queue_customer_email(
        order,
        event,
        "apology_coupon",
        context={"coupon_code": coupon.code, "coupon_percent": percent, "valid_days": APOLOGY_COUPON_DAYS},
    )
    return ApologySent(coupon=coupon, emailed=notification is not None)


__all__ = [
    "ZERO",
    "ApologySent",
    "CouponQuote",
    "discount_for",
    "find_coupon",
    "quote_coupon",
    "redeem",
    "release",
    "send_apology_coupon",
]
