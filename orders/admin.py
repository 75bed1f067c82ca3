"""Admin for orders, their timeline, returns, coupons and the notification outbox.

The admin never assigns a status: orders, returns and notifications open read-only, and the admin actions
call the same services as the dashboard and the API. A refused move is reported per row as an error
message and changes nothing.
"""

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from shipping.admin import ShipmentInline
from shop.admin import ReadOnlyAdminMixin, ReadOnlyInline, run_service_action
from shop.templatetags.money import format_money

from .models import (
    BuyerRequest,
    Coupon,
    CouponRedemption,
    ExternalOrderRef,
    Feedback,
    ImportStatusMapping,
    Notification,
    NotificationTemplate,
    Order,
    OrderEvent,
    OrderImport,
    OrderImportItem,
    OrderLine,
    Return,
    ReturnLine,
    Suppression,
    WebhookEndpoint,
)
from .notifications import CATALOGUE, retry_by_hand
from .notifications.email import preview
from .services import (
    Actor,
    approve_return,
    cancel_order,
    deliver_order,
    process_order,
    receive_return,
    refund_return,
)

ADMIN_CANCEL_REASON = _("Cancelled by an administrator")


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = ["sku", "name", "variant", "quantity", "unit_price", "line_total"]
    readonly_fields = fields
    verbose_name = _("item")
    verbose_name_plural = _("items")

    @admin.display(description=_("line total"))
    def line_total(self, line):
        return line.line_total


class ReturnInline(ReadOnlyInline):
    model = Return
    fields = ["status", "reason", "refund_amount", "return_tracking_number", "requested_at", "refunded_at"]
    readonly_fields = fields
    show_change_link = True


class OrderEventInline(ReadOnlyInline):
    """The order's timeline, oldest first, exactly as the services wrote it."""

    model = OrderEvent
    fields = ["created_at", "kind", "message", "actor_kind", "actor"]
    readonly_fields = fields
    ordering = ["created_at", "id"]
    verbose_name = _("timeline event")
    verbose_name_plural = _("timeline")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


@admin.register(Order)
class OrderAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "number",
        "shop",
        "email",
        "status",
        "payment_status",
        "total_with_currency",
        "placed_at",
    ]
    list_filter = ["status", "payment_status", "payment_method", "shop"]
    # Exact lookups for what people paste (order and tracking numbers); contains for email and name.
    # Searching a parcel's tracking number spans a one-to-many join; the changelist de-duplicates it.
    search_fields = ["=number", "email", "customer__name", "=shipments__tracking_number"]
    list_select_related = ["shop"]
    # One COUNT per page, not two: the unfiltered total is not worth a second scan of a large table.
    show_full_result_count = False
    date_hierarchy = "placed_at"
    ordering = ["-placed_at", "-id"]
    inlines = [OrderLineInline, ShipmentInline, ReturnInline, OrderEventInline]
    actions = ["process_selected", "cancel_selected", "deliver_selected"]
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "number",
                    "shop",
                    "customer",
                    "email",
                    "status",
                    "cancel_reason",
                    "note",
                    "language",
                )
            },
        ),
        (
            _("Payment"),
            {
                "fields": (
                    "payment_status",
                    "payment_method",
                    "currency",
                    "subtotal",
                    "discount",
                    "coupon",
                    "shipping_price",
                    "tax",
                    "total",
                    "refunded_total",
                )
            },
        ),
        (
            _("Shipping address"),
            {
                "fields": (
                    "ship_name",
                    "ship_line1",
                    "ship_line2",
                    "ship_city",
                    "ship_region",
                    "ship_postal_code",
                    "ship_country",
                    "ship_phone",
                )
            },
        ),
        (
            _("Dates"),
            {
                "fields": (
                    "placed_at",
                    "processed_at",
                    "shipped_at",
                    "delivered_at",
                    "cancelled_at",
                    "returned_at",
                    "updated_at",
                    "version",
                )
            },
        ),
    )
    readonly_fields = [field for _title, options in fieldsets for field in options["fields"]]

    @admin.display(description=_("total"), ordering="total")
    def total_with_currency(self, order):
        return format_money(order.total, order.currency)

    def _run(self, request, queryset, call, success):
        run_service_action(
            request,
            queryset.order_by("placed_at", "id"),
            call,
            describe=lambda order: order.number,
            success=success,
        )

    @admin.action(description=_("Process selected orders"), permissions=["change"])
    def process_selected(self, request, queryset):
        by = Actor.seller(request.user)
        self._run(
            request,
            queryset,
            lambda order: process_order(order, by=by),
            lambda count: (
                ngettext("%(count)d order processed.", "%(count)d orders processed.", count)
                % {"count": count}
            ),
        )

    @admin.action(description=_("Cancel selected orders"), permissions=["change"])
    def cancel_selected(self, request, queryset):
        by = Actor.seller(request.user)
        reason = str(ADMIN_CANCEL_REASON)
        self._run(
            request,
            queryset,
            lambda order: cancel_order(order, reason=reason, by=by),
            lambda count: (
                ngettext("%(count)d order cancelled.", "%(count)d orders cancelled.", count)
                % {"count": count}
            ),
        )

    @admin.action(description=_("Mark selected orders delivered"), permissions=["change"])
    def deliver_selected(self, request, queryset):
        by = Actor.seller(request.user)
        self._run(
            request,
            queryset,
            lambda order: deliver_order(order, by=by),
            lambda count: (
                ngettext("%(count)d order marked delivered.", "%(count)d orders marked delivered.", count)
                % {"count": count}
            ),
        )


@admin.register(OrderLine)
class OrderLineAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["order", "sku", "name", "variant", "quantity", "unit_price"]
    search_fields = ["=order__number", "sku", "name"]
    list_select_related = ["order"]


@admin.register(OrderEvent)
class OrderEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "order", "kind", "message", "actor_kind", "actor"]
    list_filter = ["kind", "actor_kind"]
    search_fields = ["=order__number"]
    list_select_related = ["order", "actor"]
    show_full_result_count = False
    ordering = ["-created_at", "-id"]


@admin.register(BuyerRequest)
class BuyerRequestAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: requests are decided in the dashboard, where the decision goes through the services."""

    list_display = ["created_at", "order", "kind", "status", "decided_at", "decided_by"]
    list_filter = ["kind", "status"]
    search_fields = ["=order__number", "order__email"]
    list_select_related = ["order", "decided_by"]
    ordering = ["-created_at", "-id"]


@admin.register(OrderImport)
class OrderImportAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: files are uploaded, checked and applied from the dashboard, the API or the command."""

    list_display = [
        "created_at",
        "shop",
        "original_name",
        "format",
        "state",
        "orders_new",
        "orders_updated",
        "orders_unchanged",
        "orders_rejected",
        "created_by",
    ]
    list_filter = ["state", "format"]
    search_fields = ["original_name", "shop__slug"]
    list_select_related = ["shop", "created_by"]
    ordering = ["-created_at", "-id"]
    # No inline of the items: a file can hold 100,000 orders. They are listed under "imported orders".


@admin.register(OrderImportItem)
class OrderImportItemAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["order_import", "external_id", "first_row", "outcome", "status_text", "status", "order"]
    list_filter = ["outcome"]
    search_fields = ["=external_id", "=order__number"]
    list_select_related = ["order_import", "order"]
    show_full_result_count = False


@admin.register(ExternalOrderRef)
class ExternalOrderRefAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["external_id", "source", "order", "shop", "created_at"]
    list_filter = ["source"]
    search_fields = ["=external_id", "=order__number"]
    list_select_related = ["order", "shop"]
    show_full_result_count = False


@admin.register(ImportStatusMapping)
class ImportStatusMappingAdmin(admin.ModelAdmin):
    """Editable: an admin may correct a seller's remembered mapping (the next preview uses it)."""

    list_display = ["shop", "source", "status_text", "status", "created_by", "created_at"]
    list_filter = ["source", "status"]
    search_fields = ["status_text", "shop__slug"]
    list_select_related = ["shop", "created_by"]
    readonly_fields = ["created_by", "created_at"]


@admin.register(Feedback)
class FeedbackAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "order", "shop", "rating", "comment"]
    list_filter = ["rating"]
    search_fields = ["=order__number"]
    list_select_related = ["order", "shop"]


class ReturnLineInline(ReadOnlyInline):
    model = ReturnLine
    fields = ["order_line", "quantity"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order_line")


@admin.register(Return)
class ReturnAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "order", "status", "reason", "refund_amount", "requested_at", "refunded_at"]
    list_filter = ["status"]
    search_fields = ["=order__number", "order__email", "=return_tracking_number"]
    list_select_related = ["order"]
    fields = [
        "order",
        "status",
        "reason",
        "rejection_reason",
        "refund_amount",
        "return_tracking_number",
        "requested_at",
        "decided_at",
        "received_at",
        "refunded_at",
    ]
    readonly_fields = fields
    inlines = [ReturnLineInline]
    actions = ["approve_selected", "receive_selected", "refund_selected"]

    def _run(self, request, queryset, call, success):
        run_service_action(
            request,
            queryset.select_related("order").order_by("requested_at", "id"),
            call,
            describe=str,
            success=success,
        )

    @admin.action(description=_("Approve selected returns"), permissions=["change"])
    def approve_selected(self, request, queryset):
        by = Actor.seller(request.user)
        self._run(
            request,
            queryset,
            lambda return_request: approve_return(return_request, by=by),
            lambda count: (
                ngettext("%(count)d return approved.", "%(count)d returns approved.", count)
                % {"count": count}
            ),
        )

    @admin.action(description=_("Mark selected returns received"), permissions=["change"])
    def receive_selected(self, request, queryset):
        by = Actor.seller(request.user)
        self._run(
            request,
            queryset,
            lambda return_request: receive_return(return_request, by=by),
            lambda count: (
                ngettext("%(count)d return marked received.", "%(count)d returns marked received.", count)
                % {"count": count}
            ),
        )

    @admin.action(description=_("Refund selected returns"), permissions=["change"])
    def refund_selected(self, request, queryset):
        by = Actor.seller(request.user)
        self._run(
            request,
            queryset,
            lambda return_request: refund_return(return_request, by=by),
            lambda count: (
                ngettext("%(count)d return refunded.", "%(count)d returns refunded.", count)
                % {"count": count}
            ),
        )


@admin.register(ReturnLine)
class ReturnLineAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["return_request", "order_line", "quantity"]
    search_fields = ["=return_request__order__number"]
    list_select_related = ["return_request__order", "order_line"]


@admin.register(Coupon)
class CouponAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "shop",
        "kind",
        "value",
        "times_used",
        "usage_limit",
        "valid_window",
        "is_active",
    ]
    list_filter = ["kind", "is_active", "shop"]
    search_fields = ["code"]
    list_select_related = ["shop"]
    autocomplete_fields = ["shop"]
    # Kept by the services: a use is taken when an order is placed and given back when it is cancelled.
    readonly_fields = ["times_used", "created_at"]

    @admin.display(description=_("valid"))
    def valid_window(self, coupon):
        start = timezone.localtime(coupon.valid_from).date() if coupon.valid_from else None
        end = timezone.localtime(coupon.valid_until).date() if coupon.valid_until else None
        if start and end:
            return gettext("%(start)s to %(end)s") % {"start": start, "end": end}
        if start:
            return gettext("from %(start)s") % {"start": start}
        if end:
            return gettext("until %(end)s") % {"end": end}
        return gettext("always")


@admin.register(CouponRedemption)
class CouponRedemptionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["coupon", "order", "customer", "amount", "redeemed_at", "released_at"]
    list_filter = ["coupon__shop"]
    search_fields = ["coupon__code", "=order__number", "customer__email"]
    list_select_related = ["coupon", "order", "customer"]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "template",
        "recipient",
        "order",
        "channel",
        "status",
        "attempts",
        "created_at",
        "sent_at",
    ]
    list_filter = ["status", "template", "channel"]
    search_fields = ["recipient", "=order__number"]
    list_select_related = ["order"]
    show_full_result_count = False
    actions = ["retry_delivery"]

    @admin.action(description=_("Retry delivery"), permissions=["change"])
    def retry_delivery(self, request, queryset):
        """Give failed rows a fresh round of attempts; the outbox task delivers them after the commit."""
        with transaction.atomic():
            selected = list(queryset.select_related(None).only("pk"))
            retried = sum(retry_by_hand(notification) for notification in selected)
        skipped = len(selected) - retried
        if retried:
            messages.success(
                request,
                ngettext(
                    "%(count)d notification queued for delivery again.",
                    "%(count)d notifications queued for delivery again.",
                    retried,
                )
                % {"count": retried},
            )
        if skipped:
            messages.warning(
                request,
                ngettext(
                    "%(count)d notification was not retried: only failed notifications can be.",
                    "%(count)d notifications were not retried: only failed notifications can be.",
                    skipped,
                )
                % {"count": skipped},
            )


class NotificationTemplateForm(forms.ModelForm):
    template = forms.ChoiceField(label=_("message"), choices=[(name, name) for name in sorted(CATALOGUE)])

    class Meta:
        model = NotificationTemplate
        fields = ["shop", "template", "subject", "body_text", "is_active"]

    def clean(self):
        cleaned = super().clean()
        shop, template, body_text = cleaned.get("shop"), cleaned.get("template"), cleaned.get("body_text")
        if shop and template and body_text:
            rendered = preview(shop, template, subject=cleaned.get("subject", ""), body_text=body_text)
            if "error" in rendered:
                self.add_error("body_text", rendered["error"])
        return cleaned


@admin.register(NotificationTemplate)
class NotificationTemplateAdmin(admin.ModelAdmin):
    form = NotificationTemplateForm
    list_display = ["template", "shop", "subject", "is_active", "updated_at"]
    list_filter = ["template", "is_active", "shop"]
    search_fields = ["template", "subject", "shop__name"]
    list_select_related = ["shop"]
    autocomplete_fields = ["shop"]
    readonly_fields = ["rendered_preview"]

    @admin.display(description=_("preview"))
    def rendered_preview(self, obj):
        """The saved text rendered on the shop's latest order (or a sample order), as the buyer reads it."""
        if obj is None or not obj.pk:
            return gettext("Save to see a preview.")
        rendered = preview(obj.shop, obj.template, subject=obj.subject, body_text=obj.body_text)
        if "error" in rendered:
            return rendered["error"]
        return format_html(
            '<p><strong>{}</strong></p><pre style="white-space:pre-wrap">{}</pre>',
            rendered["subject"],
            rendered["text"],
        )


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    list_display = ["email", "shop", "created_at"]
    list_filter = ["shop"]
    search_fields = ["email"]
    list_select_related = ["shop"]
    autocomplete_fields = ["shop"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "shop", "is_active", "created_at"]
    list_filter = ["is_active", "shop"]
    search_fields = ["url", "shop__name"]
    list_select_related = ["shop"]
    autocomplete_fields = ["shop"]
