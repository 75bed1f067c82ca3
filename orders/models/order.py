"""Order and OrderLine."""

import secrets
from collections import Counter
from decimal import Decimal

from django.db import models
from django.db.models import F, Q, Sum
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _

from ..states import OrderStatus, PaymentMethod, PaymentStatus

ZERO = Decimal("0.00")
MONEY = {"max_digits": 12, "decimal_places": 2, "default": ZERO}


def new_public_token() -> str:
    """192 random bits, URL-safe: the buyer's tracking link. Never derived from the order number."""
    return secrets.token_urlsafe(24)


class OrderQuerySet(models.QuerySet):
    def for_shop(self, shop) -> "OrderQuerySet":
        """The one door to a shop's orders: every seller-side query starts here."""
        return self.filter(shop=shop)


class Order(models.Model):
    shop = models.ForeignKey(
        "shop.Shop", on_delete=models.PROTECT, related_name="orders", verbose_name=_("shop")
    )
    number = models.CharField(_("order number"), max_length=32)
    public_token = models.CharField(_("public token"), max_length=64, unique=True, default=new_public_token)
    customer = models.ForeignKey(
        "shop.Customer", on_delete=models.PROTECT, related_name="orders", verbose_name=_("customer")
    )
    email = models.EmailField(
        _("email"), help_text=_("The customer's email at the time of the order, lowercased.")
    )
    status = models.CharField(
        _("status"), max_length=12, choices=OrderStatus.choices, default=OrderStatus.PENDING, editable=False
    )
    payment_status = models.CharField(
        _("payment status"), max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.UNPAID
    )
    payment_method = models.CharField(
        _("payment method"), max_length=20, choices=PaymentMethod.choices, default=PaymentMethod.CARD
    )
    currency = models.CharField(_("currency"), max_length=3)
    subtotal = models.DecimalField(_("subtotal"), **MONEY)
    discount = models.DecimalField(_("discount"), **MONEY)
    shipping_price = models.DecimalField(_("shipping"), **MONEY)
    tax = models.DecimalField(_("tax"), **MONEY)
    total = models.DecimalField(_("total"), **MONEY)
    refunded_total = models.DecimalField(_("refunded"), **MONEY)
    coupon = models.ForeignKey(
        "orders.Coupon",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
        verbose_name=_("coupon"),
    )
    # Shipping address.
    ship_name = models.CharField(_("recipient"), max_length=150)
    ship_line1 = models.CharField(_("address line 1"), max_length=200)
    ship_line2 = models.CharField(_("address line 2"), max_length=200, blank=True)
    ship_city = models.CharField(_("city"), max_length=100)
    ship_region = models.CharField(_("region"), max_length=100, blank=True)
    ship_postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    ship_country = models.CharField(_("country"), max_length=2, help_text=_("ISO 3166 code, e.g. US."))
    ship_phone = models.CharField(_("phone"), max_length=40, blank=True)
    note = models.TextField(_("buyer's note"), blank=True)
    language = models.CharField(
        _("language"),
        max_length=10,
        default="en",
        help_text=_("The buyer's language, for emails and the tracking page."),
    )
    # Timestamps, each set by the state machine when the order enters the state.
    placed_at = models.DateTimeField(_("placed"), db_index=False)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)
    shipped_at = models.DateTimeField(_("shipped"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    returned_at = models.DateTimeField(_("returned"), null=True, blank=True)
    cancel_reason = models.CharField(_("cancellation reason"), max_length=300, blank=True)
    # Fulfilment checklist (the shop may require all three before shipping).
    picked_at = models.DateTimeField(_("picked"), null=True, blank=True)
    packed_at = models.DateTimeField(_("packed"), null=True, blank=True)
    address_verified_at = models.DateTimeField(_("address verified"), null=True, blank=True)
    # Set when the buyer writes, cleared when the seller replies: the "buyer messages waiting" to-do.
    awaiting_reply_since = models.DateTimeField(_("buyer waiting for a reply since"), null=True, blank=True)
    # Whether a return of this order is open (requested, approved or received), kept by the return services:
    # the list's "open return" filter reads an index of the few such orders instead of probing every order's
    # returns (PostgreSQL walked 106,000 orders for it at 1M: docs/performance.md).
    has_open_return = models.BooleanField(
        _("has an open return"), default=False, db_default=False, editable=False
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    # Optimistic concurrency: every change increments it; forms and API updates send it back.
    version = models.PositiveIntegerField(_("version"), default=1)

    objects = OrderQuerySet.as_manager()

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-placed_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "number"], name="order_unique_number_per_shop"),
            models.CheckConstraint(condition=Q(status__in=OrderStatus.values), name="order_status_valid"),
            models.CheckConstraint(
                condition=Q(payment_status__in=PaymentStatus.values), name="order_payment_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(subtotal__gte=0)
                & Q(discount__gte=0)
                & Q(shipping_price__gte=0)
                & Q(tax__gte=0)
                & Q(total__gte=0)
                & Q(refunded_total__gte=0),
                name="order_amounts_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(refunded_total__lte=F("total")), name="order_refund_within_total"
            ),
        ]
        indexes = [
            models.Index(fields=["shop", "-placed_at", "-id"], name="order_shop_placed"),
            models.Index(fields=["shop", "status", "-placed_at", "-id"], name="order_shop_status_placed"),
            models.Index(fields=["shop", "email"], name="order_shop_email"),
            models.Index(fields=["shop", "-total", "-id"], name="order_shop_total"),
            models.Index(fields=["customer"], name="order_customer"),
            models.Index(
                fields=["shop", "awaiting_reply_since"],
                name="order_shop_awaiting_reply",
                condition=Q(awaiting_reply_since__isnull=False),
            ),
            models.Index(
                fields=["shop", "-placed_at", "-id"],
                name="order_shop_open_return",
                condition=Q(has_open_return=True),
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def shipping_address_lines(self) -> list[str]:
        city_line = " ".join(p for p in (self.ship_postal_code, self.ship_city) if p)
        return [
            p
            for p in (
                self.ship_name,
                self.ship_line1,
                self.ship_line2,
                city_line,
                self.ship_region,
                self.ship_country,
            )
            if p
        ]

    def shipped_quantities(self) -> Counter:
        """Units of each line (by line id) already in a shipment."""
        from shipping.models import ShipmentLine

        rows = (
            ShipmentLine.objects.filter(shipment__order=self)
            .values("order_line_id")
            .annotate(quantity=Sum("quantity"))
        )
        return Counter({row["order_line_id"]: row["quantity"] for row in rows})

    def unshipped_quantities(self) -> dict[int, int]:
        shipped = self.shipped_quantities()
        return {
            line.id: line.quantity - shipped[line.id]
            for line in self.lines.all()
            if line.quantity - shipped[line.id] > 0
        }

    def returned_quantities(self) -> Counter:
        """Units of each line that came back through refunded returns."""
        from .returns import ReturnLine, ReturnStatus

        rows = (
            ReturnLine.objects.filter(
                return_request__order=self, return_request__status=ReturnStatus.REFUNDED
            )
            .values("order_line_id")
            .annotate(quantity=Sum("quantity"))
        )
        return Counter({row["order_line_id"]: row["quantity"] for row in rows})

    def unreturned_quantities(self) -> dict[int, int]:
        returned = self.returned_quantities()
        return {
            line.id: line.quantity - returned[line.id]
            for line in self.lines.all()
            if line.quantity - returned[line.id] > 0
        }


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines", verbose_name=_("order"))
    sku = models.CharField(_("SKU"), max_length=64)
    name = models.CharField(_("product"), max_length=200)
    variant = models.CharField(_("variant"), max_length=120, blank=True, help_text=_("Size, colour..."))
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price = models.DecimalField(_("unit price"), max_digits=12, decimal_places=2)

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["id"]
        # SKU search in the dashboard matches case-insensitively (UPPER(sku) = UPPER(%s)).
        indexes = [models.Index(Upper("sku"), name="orderline_sku_upper")]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="orderline_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="orderline_price_non_negative"),
        ]

    def __str__(self) -> str:
        variant = f" ({self.variant})" if self.variant else ""
        return f"{self.quantity} × {self.name}{variant}"

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity
