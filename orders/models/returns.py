"""Return and ReturnLine: requested → approved or rejected → received → refunded."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .order import MONEY


class ReturnStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    RECEIVED = "received", _("Received")
    REFUNDED = "refunded", _("Refunded")


# Return states that still hold their quantities (a rejected return frees them).
OPEN_OR_DONE_RETURN_STATES = (
    ReturnStatus.REQUESTED,
    ReturnStatus.APPROVED,
    ReturnStatus.RECEIVED,
    ReturnStatus.REFUNDED,
)
# Return states still waiting for the seller (approve or reject, receive, refund).
OPEN_RETURN_STATES = (ReturnStatus.REQUESTED, ReturnStatus.APPROVED, ReturnStatus.RECEIVED)
RETURN_MOVES = {
    ReturnStatus.REQUESTED: (ReturnStatus.APPROVED, ReturnStatus.REJECTED),
    ReturnStatus.APPROVED: (ReturnStatus.RECEIVED,),
    ReturnStatus.RECEIVED: (ReturnStatus.REFUNDED,),
    ReturnStatus.REJECTED: (),
    ReturnStatus.REFUNDED: (),
}


class Return(models.Model):
    order = models.ForeignKey(
        "orders.Order", on_delete=models.CASCADE, related_name="returns", verbose_name=_("order")
    )
    status = models.CharField(
        _("status"), max_length=10, choices=ReturnStatus.choices, default=ReturnStatus.REQUESTED
    )
    reason = models.CharField(_("reason"), max_length=500)
    rejection_reason = models.CharField(_("rejection reason"), max_length=500, blank=True)
    refund_amount = models.DecimalField(_("refund amount"), **MONEY)
    return_tracking_number = models.CharField(_("return tracking number"), max_length=64, blank=True)
    requested_at = models.DateTimeField(_("requested"))
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    received_at = models.DateTimeField(_("received"), null=True, blank=True)
    refunded_at = models.DateTimeField(_("refunded"), null=True, blank=True)

    class Meta:
        verbose_name = _("return")
        verbose_name_plural = _("returns")
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ReturnStatus.values), name="return_status_valid"),
            models.CheckConstraint(condition=Q(refund_amount__gte=0), name="return_refund_non_negative"),
        ]
        indexes = [
            models.Index(fields=["order", "status"], name="return_order_status"),
            # Open returns (the to-do tile, the queue, the list's filter): few among many finished ones.
            models.Index(
                fields=["order"],
                name="return_open",
                condition=Q(status__in=("requested", "approved", "received")),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order} return #{self.pk} ({self.get_status_display()})"


class ReturnLine(models.Model):
    return_request = models.ForeignKey(
        Return, on_delete=models.CASCADE, related_name="lines", verbose_name=_("return")
    )
    order_line = models.ForeignKey(
        "orders.OrderLine",
        on_delete=models.CASCADE,
        related_name="return_lines",
        verbose_name=_("order line"),
    )
    quantity = models.PositiveIntegerField(_("quantity"))

    class Meta:
        verbose_name = _("return line")
        verbose_name_plural = _("return lines")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="returnline_quantity_positive"),
            models.UniqueConstraint(fields=["return_request", "order_line"], name="returnline_unique_line"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.order_line.name}"
