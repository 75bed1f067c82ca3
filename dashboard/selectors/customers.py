"""The shop's customers: a searchable list with what each has spent, and one customer's page."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import DecimalField, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from orders.models import CouponRedemption, Order
from orders.states import OrderStatus
from shop.models import Customer, Shop

ZERO = Decimal("0.00")
MONEY_FIELD = DecimalField(max_digits=14, decimal_places=2)


def spent_expression():
    """What a customer's orders came to, less refunds, leaving out cancelled orders (one indexed subquery
    per customer row, over the order's customer index)."""
    spent = (
        Order.objects.filter(customer=OuterRef("pk"))
        .exclude(status=OrderStatus.CANCELLED)
        .order_by()
        .values("customer")
        .annotate(spent=Sum(F("total") - F("refunded_total")))
        .values("spent")
    )
    return Coalesce(Subquery(spent, output_field=MONEY_FIELD), Value(ZERO), output_field=MONEY_FIELD)


def customer_list_for_shop(
    shop: Shop, *, search: str = "", after: int | None = None, limit: int = 50
) -> tuple[list[Customer], int | None]:
    """One page of the shop's customers, newest first, and the id to continue after (None on the last).

    Keyset pagination on the id. An email address is matched exactly (the (shop, email) unique index);
    other text matches a part of the name or the email."""
    customers: QuerySet[Customer] = Customer.objects.filter(shop=shop)
    search = search.strip()
    if search:
        if "@" in search and " " not in search:
            customers = customers.filter(email=search.lower())
        else:
            customers = customers.filter(Q(name__icontains=search) | Q(email__icontains=search))
    if after is not None:
        customers = customers.filter(pk__lt=after)
    page = list(customers.annotate(spent=spent_expression()).order_by("-pk")[: limit + 1])
    if len(page) > limit:
        page = page[:limit]
        return page, page[-1].pk
    return page, None


@dataclass(frozen=True)
class CustomerPage:
    customer: Customer
    orders: list[Order]
    more_orders: bool
    spent: Decimal
    redemptions: list[CouponRedemption]


def customer_page_for_shop(shop: Shop, customer_id: int, *, order_limit: int = 100) -> CustomerPage:
    """A customer of the shop with their latest orders, total spent and coupon uses;
    ``Customer.DoesNotExist`` for another shop's customer."""
    customer = Customer.objects.annotate(spent=spent_expression()).get(shop=shop, pk=customer_id)
    orders = list(
        Order.objects.for_shop(shop)
        .filter(customer=customer)
        .select_related("coupon")
        .order_by("-placed_at", "-id")[: order_limit + 1]
    )
    redemptions = list(
        CouponRedemption.objects.filter(customer=customer)
        .select_related("coupon", "order")
        .order_by("-redeemed_at")
    )
    return CustomerPage(
        customer=customer,
        orders=orders[:order_limit],
        more_orders=len(orders) > order_limit,
        spent=customer.spent,
        redemptions=redemptions,
    )
