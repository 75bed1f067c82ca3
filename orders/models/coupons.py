"""Coupon and CouponRedemption."""

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from .order import MONEY


class CouponKind(models.TextChoices):
    PERCENTAGE = "percentage", _("Percentage off")
    FIXED = "fixed", _("Fixed amount off")
    FREE_SHIPPING = "free_shipping", _("Free shipping")


class Coupon(models.Model):
    shop = models.ForeignKey(
        "shop.Shop", on_delete=models.CASCADE, related_name="coupons", verbose_name=_("shop")
    )
    code = models.CharField(_("code"), max_length=40, help_text=_("Matched without regard to case."))
    kind = models.CharField(_("kind"), max_length=16, choices=CouponKind.choices)
    value = models.DecimalField(
        _("value"),
        max_digits=12,
        decimal_places=2,
        default=0,
        help_text=_("Percent or amount; unused for free shipping."),
    )
    valid_from = models.DateTimeField(_("valid from"), null=True, blank=True)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    usage_limit = models.PositiveIntegerField(
        _("usage limit"), null=True, blank=True, help_text=_("Empty: no limit.")
    )
    per_customer_limit = models.PositiveIntegerField(_("uses per customer"), null=True, blank=True)
    min_subtotal = models.DecimalField(_("minimum subtotal"), **MONEY)
    min_quantity = models.PositiveIntegerField(
        _("minimum items"), default=0, help_text=_("For bundle offers.")
    )
    returning_customers_only = models.BooleanField(_("returning customers only"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    # Uses held by orders right now (a cancelled order gives its use back); kept by the services.
    times_used = models.PositiveIntegerField(_("times used"), default=0)
    description = models.CharField(_("description"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint("shop", Lower("code"), name="coupon_unique_code_per_shop_ci"),
            models.CheckConstraint(condition=Q(kind__in=CouponKind.values), name="coupon_kind_valid"),
            models.CheckConstraint(condition=Q(value__gte=0), name="coupon_value_non_negative"),
            models.CheckConstraint(
                condition=~Q(kind=CouponKind.PERCENTAGE) | Q(value__lte=100),
                name="coupon_percentage_at_most_100",
            ),
            models.CheckConstraint(
                condition=Q(usage_limit__isnull=True) | Q(times_used__lte=models.F("usage_limit")),
                name="coupon_uses_within_limit",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class CouponRedemption(models.Model):
    coupon = models.ForeignKey(
        Coupon, on_delete=models.CASCADE, related_name="redemptions", verbose_name=_("coupon")
    )
    order = models.OneToOneField(
        "orders.Order", on_delete=models.CASCADE, related_name="coupon_redemption", verbose_name=_("order")
    )
    customer = models.ForeignKey(
        "shop.Customer",
        on_delete=models.CASCADE,
        related_name="coupon_redemptions",
        verbose_name=_("customer"),
    )
    amount = models.DecimalField(_("discount given"), **MONEY)
    redeemed_at = models.DateTimeField(_("redeemed"))
    released_at = models.DateTimeField(
        _("released"), null=True, blank=True, help_text=_("Set when the order is cancelled.")
    )

    class Meta:
        verbose_name = _("coupon redemption")
        verbose_name_plural = _("coupon redemptions")
        indexes = [models.Index(fields=["coupon", "customer"], name="redemption_coupon_customer")]

    def __str__(self) -> str:
        return f"{self.coupon} on {self.order}"
