"""Placing an order: the customer, the lines, the prices and the coupon, in one transaction."""

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from shop.models import Customer, Shop

from ..errors import InvalidInput
from ..models import EventKind, Order, OrderLine
from ..notifications import queue_customer_email
from ..states import PaymentMethod, PaymentStatus
from . import coupons
from .changes import Actor, record_event

ADDRESS_FIELDS = ("name", "line1", "line2", "city", "region", "postal_code", "country", "phone")
REQUIRED_ADDRESS_FIELDS = ("name", "line1", "city", "country")


@dataclass(frozen=True)
class LineSpec:
    sku: str
    name: str
    quantity: int
    unit_price: Decimal
    variant: str = ""
    id: int | None = None  # an existing line, when modifying an order


def clean_address(address: dict) -> dict:
    """Strip the fields, check the required ones, upper-case the country code. Keys as ADDRESS_FIELDS."""
    unknown = set(address) - set(ADDRESS_FIELDS)
    if unknown:
        raise InvalidInput(
            _("Unknown address fields: %(fields)s.") % {"fields": ", ".join(sorted(unknown))},
            field="shipping_address",
        )
    cleaned = {key: str(address.get(key) or "").strip() for key in ADDRESS_FIELDS}
    for key in REQUIRED_ADDRESS_FIELDS:
        if not cleaned[key]:
            raise InvalidInput(
                _("The address needs a %(field)s.") % {"field": key.replace("_", " ")},
                field=f"shipping_address.{key}",
            )
    cleaned["country"] = cleaned["country"].upper()
    if len(cleaned["country"]) != 2 or not cleaned["country"].isalpha():
        raise InvalidInput(
            _("Use a two-letter country code, such as US or GB."), field="shipping_address.country"
        )
    return cleaned


def address_to_order_fields(address: dict) -> dict:
    return {f"ship_{key}": value for key, value in address.items()}


def clean_lines(lines: list[LineSpec]) -> list[LineSpec]:
    if not lines:
        raise InvalidInput(_("An order needs at least one item."), field="lines")
    for index, line in enumerate(lines):
        if not line.sku.strip() or not line.name.strip():
            raise InvalidInput(_("Every item needs a SKU and a name."), field=f"lines.{index}")
        if int(line.quantity) <= 0:
            raise InvalidInput(_("Quantities must be at least 1."), field=f"lines.{index}.quantity")
        if Decimal(line.unit_price) < 0:
            raise InvalidInput(_("Prices cannot be negative."), field=f"lines.{index}.unit_price")
    return lines


def subtotal_of(lines) -> Decimal:
    return sum((Decimal(line.unit_price) * int(line.quantity) for line in lines), Decimal("0.00"))


def quantity_of(lines) -> int:
    return sum(int(line.quantity) for line in lines)


def customer_for(shop: Shop, *, email: str, name: str = "", phone: str = "") -> Customer:
    """The shop's customer with this email, created if new, locked for the caller's transaction.

    The customer row is locked first, before the coupon and the shop row: ``place_order`` updates it again at
    the end, and a lock taken late here (by the rename) deadlocked two placements by the same buyer.
    """
    email = email.strip().lower()
    if "@" not in email:
        raise InvalidInput(_("Enter a valid email address."), field="customer.email")
    customer, created = Customer.objects.select_for_update().get_or_create(
        shop=shop, email=email, defaults={"name": name, "phone": phone}
    )
    if not created and ((name and customer.name != name) or (phone and customer.phone != phone)):
        customer.name, customer.phone = name or customer.name, phone or customer.phone
        customer.save(update_fields=["name", "phone"])
    return customer


def next_order_number(shop: Shop) -> str:
    """Hand out the shop's next number under the shop row's lock: numbers never repeat or collide."""
    Shop.objects.filter(pk=shop.pk).update(last_order_number=F("last_order_number") + 1)
    prefix, number = Shop.objects.values_list("order_prefix", "last_order_number").get(pk=shop.pk)
    return f"{prefix}-{number}"


@transaction.atomic
def place_order(
    *,
    shop: Shop,
    email: str,
    address: dict,
    lines: list[LineSpec],
    customer_name: str = "",
    customer_phone: str = "",
    shipping_price: Decimal = Decimal("0.00"),
    tax: Decimal = Decimal("0.00"),
    payment_method: str = PaymentMethod.CARD,
    payment_status: str = PaymentStatus.UNPAID,
    coupon_code: str = "",
    note: str = "",
    language: str = "",
    by: Actor | None = None,
    placed_at=None,
) -> Order:
    """Create a pending order with its lines, take a coupon use if a code is given, confirm it to the buyer.

    A coupon that does not apply is refused with the rule it broke; nothing is written then.
    """
    by = by or Actor.system()
    address = clean_address(address)
    lines = clean_lines(lines)
    shipping_price, tax = Decimal(shipping_price), Decimal(tax)
    if shipping_price < 0 or tax < 0:
        raise InvalidInput(
            _("Shipping and tax cannot be negative."), field="shipping_price" if shipping_price < 0 else "tax"
        )
    if payment_method not in PaymentMethod.values:
        raise InvalidInput(_("Unknown payment method."), field="payment_method")
    if payment_status not in (PaymentStatus.UNPAID, PaymentStatus.PAID):
        raise InvalidInput(_("A new order is either paid or unpaid."), field="payment_status")

    customer = customer_for(shop, email=email, name=customer_name or address["name"], phone=customer_phone)
    subtotal = subtotal_of(lines)
    quote = None
    if coupon_code.strip():
        coupon = coupons.find_coupon(shop, coupon_code, lock=True)
        quote = coupons.quote_coupon(
            coupon,
            customer=customer,
            subtotal=subtotal,
            quantity=quantity_of(lines),
            shipping_price=shipping_price,
        )
    discount = quote.discount if quote else Decimal("0.00")
    order = Order.objects.create(
        shop=shop,
        number=next_order_number(shop),
        customer=customer,
        email=customer.email,
        payment_method=payment_method,
        payment_status=payment_status,
        currency=shop.currency,
        subtotal=subtotal,
        discount=discount,
        shipping_price=shipping_price,
        tax=tax,
        total=subtotal - discount + shipping_price + tax,
        coupon=quote.coupon if quote else None,
        note=note.strip(),
        language=language or settings.LANGUAGE_CODE,
        placed_at=placed_at or timezone.now(),
        **address_to_order_fields(address),
    )
    OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            sku=line.sku.strip(),
            name=line.name.strip(),
            variant=line.variant.strip(),
            quantity=int(line.quantity),
            unit_price=Decimal(line.unit_price),
        )
        for line in lines
    )
    if quote:
        coupons.redeem(quote.coupon, order=order, amount=discount)
    Customer.objects.filter(pk=customer.pk).update(order_count=F("order_count") + 1)
    event = record_event(
        order,
        EventKind.PLACED,
        by=by,
        message=_("Order placed"),
        data={"total": str(order.total), "coupon": quote.coupon.code if quote else None},
        at=order.placed_at,
    )
    queue_customer_email(order, event, "order_confirmed")
    return order
