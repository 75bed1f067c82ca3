"""Test data. Model factories for the plain rows; ``order_in`` reaches any state through the real services."""

from decimal import Decimal

import factory
from django.utils import timezone

from orders.models import Coupon, CouponKind
from orders.services import (
    Actor,
    LineSpec,
    ParcelSpec,
    approve_return,
    cancel_order,
    deliver_order,
    place_order,
    process_order,
    receive_return,
    refund_return,
    request_return,
    return_to_sender,
    ship_order,
)
from orders.states import OrderStatus, PaymentStatus
from shop.models import Customer, Membership, Role, Shop, User

PASSWORD = "correct-horse-battery"
SELLER = Actor.system()


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class ShopFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shop
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Shop {n}")
    slug = factory.Sequence(lambda n: f"shop-{n}")
    currency = "USD"
    contact_email = factory.LazyAttribute(lambda o: f"hello@{o.slug}.example")
    handling_days = 2
    return_window_days = 30


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    shop = factory.SubFactory(ShopFactory)
    role = Role.OWNER


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    shop = factory.SubFactory(ShopFactory)
    email = factory.Sequence(lambda n: f"buyer{n}@example.net")
    name = factory.Faker("name")


class CouponFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Coupon

    shop = factory.SubFactory(ShopFactory)
    code = factory.Sequence(lambda n: f"SAVE{n}")
    kind = CouponKind.PERCENTAGE
    value = Decimal("10")


ADDRESS = {
    "name": "Ada Buyer",
    "line1": "12 Harbour Street",
    "city": "Portsmouth",
    "postal_code": "PO1 3AX",
    "country": "GB",
}


def two_lines() -> list[LineSpec]:
    return [
        LineSpec(
            sku="TEE-M-BLK", name="T-shirt", variant="M / black", quantity=2, unit_price=Decimal("15.00")
        ),
        LineSpec(sku="CAP-RED", name="Cap", quantity=1, unit_price=Decimal("9.50")),
    ]


def place(shop: Shop, *, email: str = "ada@example.net", paid: bool = True, lines=None, **kwargs):
    kwargs.setdefault("shipping_price", Decimal("4.50"))
    return place_order(
        shop=shop,
        email=email,
        address=kwargs.pop("address", ADDRESS),
        lines=lines or two_lines(),
        payment_status=PaymentStatus.PAID if paid else PaymentStatus.UNPAID,
        **kwargs,
    )


_tracking_counter = iter(range(10**9))


def tracking_number() -> str:
    """A unique UPS number: 1Z, a 15-character serial and its mod-10 check digit (only UPS uses 1Z...)."""
    serial = f"{next(_tracking_counter):015d}"
    total = sum(int(digit) * (2 if index % 2 else 1) for index, digit in enumerate(serial))
    return f"1Z{serial}{(10 - total % 10) % 10}"


def order_in(status: str, shop: Shop | None = None, **kwargs):
    """An order brought to ``status`` through the services, as a seller would."""
    shop = shop or ShopFactory()
    order = place(shop, **kwargs)
    if status == OrderStatus.PENDING:
        return order
    if status == OrderStatus.CANCELLED:
        return cancel_order(order, reason="Out of stock", by=SELLER)
    order = process_order(order, by=SELLER)
    if status == OrderStatus.PROCESSED:
        return order
    order = ship_order(order, parcels=[ParcelSpec(tracking_number=tracking_number())], by=SELLER)
    if status == OrderStatus.SHIPPED:
        return order
    if status == OrderStatus.RETURNED:
        return return_to_sender(order, reason="Refused by the recipient", by=SELLER)
    order = deliver_order(order, by=SELLER)
    if status == OrderStatus.DELIVERED:
        return order
    raise ValueError(status)


def return_everything(order):
    """Request, approve, receive and refund a return of every line of a delivered order."""
    lines = {line.pk: line.quantity for line in order.lines.all()}
    return_request = request_return(order, lines=lines, reason="Does not fit", by=Actor.buyer())
    approve_return(return_request, by=SELLER)
    receive_return(return_request, by=SELLER)
    refund_return(return_request, by=SELLER)
    order.refresh_from_db()
    return order


def now():
    return timezone.now()
