"""OrderEvent: the order's timeline. Every service writes one row per change."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class EventKind(models.TextChoices):
    PLACED = "placed", _("Placed")
    IMPORTED = "imported", _("Imported")
    PROCESSED = "processed", _("Processed")
    SHIPMENT_CREATED = "shipment_created", _("Parcel shipped")
    SHIPPED = "shipped", _("Shipped")
    OUT_FOR_DELIVERY = "out_for_delivery", _("Out for delivery")
    SHIPMENT_DELIVERED = "shipment_delivered", _("Parcel delivered")
    DELIVERED = "delivered", _("Delivered")
    CANCELLED = "cancelled", _("Cancelled")
    RETURNED = "returned", _("Returned")
    RETURNED_TO_SENDER = "returned_to_sender", _("Returned to sender")
    ADDRESS_CHANGED = "address_changed", _("Shipping address changed")
    LINES_CHANGED = "lines_changed", _("Items changed")
    NOTE = "note", _("Note")
    LATE = "late", _("Late: not shipped in time")
    DELAYED = "delayed", _("Parcel delayed")
    MESSAGE_TO_BUYER = "message_to_buyer", _("Message to the buyer")
    MESSAGE_FROM_BUYER = "message_from_buyer", _("Message from the buyer")
    ADDRESS_CHANGE_REQUESTED = "address_change_requested", _("Address change requested")
    CANCELLATION_REQUESTED = "cancellation_requested", _("Cancellation requested")
    MODIFICATION_REQUESTED = "modification_requested", _("Item change requested")
    REQUEST_APPROVED = "request_approved", _("Buyer's request approved")
    REQUEST_DECLINED = "request_declined", _("Buyer's request declined")
    FEEDBACK_LEFT = "feedback_left", _("Feedback left")
    CHECKLIST = "checklist", _("Fulfilment checklist")
    COUPON_SENT = "coupon_sent", _("Coupon sent")
    FEEDBACK_REQUESTED = "feedback_requested", _("Feedback requested")
    PAYMENT = "payment", _("Payment")
    RETURN_REQUESTED = "return_requested", _("Return requested")
    RETURN_APPROVED = "return_approved", _("Return approved")
    RETURN_REJECTED = "return_rejected", _("Return rejected")
    RETURN_RECEIVED = "return_received", _("Return received")
    RETURN_REFUNDED = "return_refunded", _("Return refunded")
    NOTIFICATION_SENT = "notification_sent", _("Notification sent")
    NOTIFICATION_FAILED = "notification_failed", _("Notification failed")


class ActorKind(models.TextChoices):
    SELLER = "seller", _("Seller")
    BUYER = "buyer", _("Buyer")
    SYSTEM = "system", _("System")
    CARRIER = "carrier", _("Carrier")
    API = "api", _("API")
    IMPORT = "import", _("Import")


class OrderEvent(models.Model):
    order = models.ForeignKey(
        "orders.Order", on_delete=models.CASCADE, related_name="events", verbose_name=_("order")
    )
    kind = models.CharField(_("kind"), max_length=24, choices=EventKind.choices)
    message = models.CharField(_("message"), max_length=500, blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    actor_kind = models.CharField(
        _("by (kind)"), max_length=10, choices=ActorKind.choices, default=ActorKind.SYSTEM
    )
    created_at = models.DateTimeField(_("time"), db_index=False)

    class Meta:
        verbose_name = _("order event")
        verbose_name_plural = _("order events")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["order", "created_at", "id"], name="orderevent_order_time")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.message}" if self.message else self.get_kind_display()
