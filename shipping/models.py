"""Carriers, shipments (parcels), which lines each parcel holds, and the carrier's scans."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Carrier(models.Model):
    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=100)
    tracking_url_template = models.CharField(
        _("tracking URL template"),
        max_length=300,
        blank=True,
        help_text=_("Use {number} for the tracking number."),
    )
    tracking_number_pattern = models.CharField(
        _("tracking number pattern"),
        max_length=500,
        blank=True,
        help_text=_("A regular expression a whole tracking number of this carrier matches."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("carrier")
        verbose_name_plural = _("carriers")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def tracking_url(self, number: str) -> str:
        if not self.tracking_url_template or not number:
            return ""
        from urllib.parse import quote

        return self.tracking_url_template.replace("{number}", quote(number, safe=""))


class ShipmentStatus(models.TextChoices):
    IN_TRANSIT = "in_transit", _("In transit")
    OUT_FOR_DELIVERY = "out_for_delivery", _("Out for delivery")
    DELIVERED = "delivered", _("Delivered")
    EXCEPTION = "exception", _("Delivery problem")
    RETURNED_TO_SENDER = "returned", _("Returned to sender")


class Shipment(models.Model):
    # The shop is repeated from the order so tracking numbers are unique per shop and carrier, and so the
    # carrier webhook (which is per shop) finds a parcel with one index lookup.
    shop = models.ForeignKey(
        "shop.Shop", on_delete=models.CASCADE, related_name="shipments", verbose_name=_("shop")
    )
    order = models.ForeignKey(
        "orders.Order", on_delete=models.CASCADE, related_name="shipments", verbose_name=_("order")
    )
    carrier = models.ForeignKey(
        Carrier, on_delete=models.PROTECT, related_name="shipments", verbose_name=_("carrier")
    )
    tracking_number = models.CharField(
        _("tracking number"), max_length=64, blank=True, help_text=_("Empty when shipped without tracking.")
    )
    status = models.CharField(
        _("status"), max_length=20, choices=ShipmentStatus.choices, default=ShipmentStatus.IN_TRANSIT
    )
    shipped_at = models.DateTimeField(_("shipped"))
    estimated_delivery = models.DateField(_("estimated delivery"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    # Set once when the parcel is found stalled (no scan for days, or past its estimate): reported once.
    delay_reported_at = models.DateTimeField(_("delay reported"), null=True, blank=True)

    class Meta:
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")
        ordering = ["shipped_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "carrier", "tracking_number"],
                condition=~Q(tracking_number=""),
                name="shipment_unique_tracking_per_carrier",
            ),
            models.CheckConstraint(
                condition=Q(status__in=ShipmentStatus.values), name="shipment_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["tracking_number"], name="shipment_tracking_number"),
            # The "delayed in transit" to-do: few parcels are ever reported, so a partial index finds them.
            models.Index(
                fields=["shop"],
                name="shipment_shop_delayed",
                condition=Q(delay_reported_at__isnull=False) & ~Q(status="delivered"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.carrier} {self.tracking_number or _('(no tracking)')}"

    @property
    def tracking_url(self) -> str:
        return self.carrier.tracking_url(self.tracking_number)


class ShipmentLine(models.Model):
    shipment = models.ForeignKey(
        Shipment, on_delete=models.CASCADE, related_name="lines", verbose_name=_("shipment")
    )
    order_line = models.ForeignKey(
        "orders.OrderLine",
        on_delete=models.CASCADE,
        related_name="shipment_lines",
        verbose_name=_("order line"),
    )
    quantity = models.PositiveIntegerField(_("quantity"))

    class Meta:
        verbose_name = _("shipment line")
        verbose_name_plural = _("shipment lines")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="shipmentline_quantity_positive"),
            models.UniqueConstraint(fields=["shipment", "order_line"], name="shipmentline_unique_line"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.order_line.name}"


class TrackingSource(models.TextChoices):
    CARRIER = "carrier", _("Carrier webhook")
    SELLER = "seller", _("Seller")
    SYSTEM = "system", _("System")
    IMPORT = "import", _("Import")


class TrackingEvent(models.Model):
    shipment = models.ForeignKey(
        Shipment, on_delete=models.CASCADE, related_name="events", verbose_name=_("shipment")
    )
    occurred_at = models.DateTimeField(_("time"))
    status = models.CharField(_("status"), max_length=20, choices=ShipmentStatus.choices)
    location = models.CharField(_("location"), max_length=200, blank=True)
    description = models.CharField(_("description"), max_length=500, blank=True)
    source = models.CharField(
        _("source"), max_length=10, choices=TrackingSource.choices, default=TrackingSource.CARRIER
    )
    created_at = models.DateTimeField(_("received"), auto_now_add=True)

    class Meta:
        verbose_name = _("tracking event")
        verbose_name_plural = _("tracking events")
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["shipment", "-occurred_at"], name="trackingevent_shipment_time")]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.get_status_display()} {self.location}".strip()
