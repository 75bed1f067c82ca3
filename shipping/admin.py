"""Admin for carriers, shipments (parcels) and tracking scans. Parcels change only through the services."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from orders.services import Actor, deliver_shipment
from shop.admin import ReadOnlyAdminMixin, ReadOnlyInline, run_service_action

from .models import Carrier, Shipment, ShipmentLine, TrackingEvent


@admin.register(Carrier)
class CarrierAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["code", "name"]


class ShipmentInline(ReadOnlyInline):
    """The parcels of an order, shown on the order's admin page."""

    model = Shipment
    fields = ["carrier", "tracking_number", "status", "shipped_at", "estimated_delivery", "delivered_at"]
    readonly_fields = fields
    show_change_link = True
    verbose_name = _("parcel")
    verbose_name_plural = _("parcels")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("carrier")


class ShipmentLineInline(ReadOnlyInline):
    model = ShipmentLine
    fields = ["order_line", "quantity"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order_line")


class TrackingEventInline(ReadOnlyInline):
    model = TrackingEvent
    fields = ["occurred_at", "status", "location", "description", "source", "created_at"]
    readonly_fields = fields
    verbose_name = _("tracking scan")
    verbose_name_plural = _("tracking scans")


@admin.register(Shipment)
class ShipmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["order", "shop", "carrier", "tracking_number", "status", "shipped_at", "delivered_at"]
    list_filter = ["carrier", "status", "shop"]
    search_fields = ["=tracking_number", "=order__number"]
    list_select_related = ["order", "shop", "carrier"]
    fields = [
        "order",
        "shop",
        "carrier",
        "tracking_number",
        "status",
        "shipped_at",
        "estimated_delivery",
        "delivered_at",
    ]
    readonly_fields = fields
    inlines = [ShipmentLineInline, TrackingEventInline]
    actions = ["mark_delivered"]

    @admin.action(description=_("Mark selected parcels delivered"), permissions=["change"])
    def mark_delivered(self, request, queryset):
        by = Actor.seller(request.user)
        run_service_action(
            request,
            queryset.select_related("order", "carrier").order_by("shipped_at", "id"),
            lambda shipment: deliver_shipment(shipment, by=by),
            describe=lambda shipment: f"{shipment.order.number} {shipment}",
            success=lambda count: (
                ngettext("%(count)d parcel marked delivered.", "%(count)d parcels marked delivered.", count)
                % {"count": count}
            ),
        )


@admin.register(ShipmentLine)
class ShipmentLineAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["shipment", "order_line", "quantity"]
    search_fields = ["=shipment__tracking_number", "=shipment__order__number"]
    list_select_related = ["shipment__carrier", "order_line"]


@admin.register(TrackingEvent)
class TrackingEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["occurred_at", "shipment", "status", "location", "description", "source"]
    list_filter = ["status", "source"]
    search_fields = ["=shipment__tracking_number", "=shipment__order__number"]
    list_select_related = ["shipment__carrier"]
