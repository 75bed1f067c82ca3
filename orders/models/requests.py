"""What buyers ask for from the tracking page: requests the seller decides, and feedback.

A ``BuyerRequest`` is an address change, a cancellation or an item change (issue 9) that waits for the
seller: open → approved or declined (or withdrawn by the buyer). Requests that the rules settle at once
(cancelling a pending order, an address change the shop applies automatically) are recorded as approved
with no seller, so the timeline and the request list tell the same story.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class RequestKind(models.TextChoices):
    ADDRESS_CHANGE = "address_change", _("Address change")
    CANCELLATION = "cancellation", _("Cancellation")
    MODIFICATION = "modification", _("Item change")


class RequestStatus(models.TextChoices):
    OPEN = "open", _("Waiting for the seller")
    APPROVED = "approved", _("Approved")
    DECLINED = "declined", _("Declined")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class BuyerRequest(models.Model):
    shop = models.ForeignKey(
        "shop.Shop", on_delete=models.CASCADE, related_name="buyer_requests", verbose_name=_("shop")
    )
    order = models.ForeignKey(
        "orders.Order", on_delete=models.CASCADE, related_name="buyer_requests", verbose_name=_("order")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=RequestKind.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=RequestStatus.choices, default=RequestStatus.OPEN
    )
    # What is asked: the proposed address fields, or the line changes; shown to the seller as is.
    payload = models.JSONField(_("details"), default=dict, blank=True)
    message = models.CharField(_("buyer's message"), max_length=1000, blank=True)
    decline_reason = models.CharField(_("reason for declining"), max_length=500, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    created_at = models.DateTimeField(_("requested"), auto_now_add=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    class Meta:
        verbose_name = _("buyer request")
        verbose_name_plural = _("buyer requests")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=RequestKind.values), name="buyerrequest_kind_valid"),
            models.CheckConstraint(
                condition=Q(status__in=RequestStatus.values), name="buyerrequest_status_valid"
            ),
            # At most one open request of each kind per order: a second ask updates nothing silently.
            models.UniqueConstraint(
                fields=["order", "kind"],
                condition=Q(status="open"),
                name="buyerrequest_one_open_per_kind",
            ),
        ]
        indexes = [
            models.Index(fields=["shop", "status", "kind", "-created_at"], name="buyerrequest_shop_queue"),
        ]

    def __str__(self) -> str:
        return f"{self.order} {self.get_kind_display()} ({self.get_status_display()})"


class Feedback(models.Model):
    """The buyer's rating after delivery: once per order."""

    shop = models.ForeignKey(
        "shop.Shop", on_delete=models.CASCADE, related_name="feedback", verbose_name=_("shop")
    )
    order = models.OneToOneField(
        "orders.Order", on_delete=models.CASCADE, related_name="feedback", verbose_name=_("order")
    )
    rating = models.PositiveSmallIntegerField(_("rating"))
    comment = models.TextField(_("comment"), max_length=2000, blank=True)
    created_at = models.DateTimeField(_("left on"), auto_now_add=True)

    class Meta:
        verbose_name = _("feedback")
        verbose_name_plural = _("feedback")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__gte=1) & Q(rating__lte=5), name="feedback_rating_1_to_5"
            ),
        ]
        indexes = [models.Index(fields=["shop", "-created_at"], name="feedback_shop_time")]

    def __str__(self) -> str:
        return f"{self.order}: {self.rating}/5"
