"""Notification: the outbox row. Written in the same transaction as the change it announces."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    WEBHOOK = "webhook", _("Webhook")


class NotificationStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class Notification(models.Model):
    shop = models.ForeignKey(
        "shop.Shop", on_delete=models.CASCADE, related_name="notifications", verbose_name=_("shop")
    )
    order = models.ForeignKey(
        "orders.Order", on_delete=models.CASCADE, related_name="notifications", verbose_name=_("order")
    )
    event = models.ForeignKey(
        "orders.OrderEvent",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="notifications",
        verbose_name=_("event"),
    )
    webhook_endpoint = models.ForeignKey(
        "orders.WebhookEndpoint",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="deliveries",
        verbose_name=_("webhook endpoint"),
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    template = models.CharField(_("template"), max_length=60, help_text=_("e.g. order_shipped"))
    recipient = models.CharField(_("recipient"), max_length=254)
    language = models.CharField(_("language"), max_length=10, blank=True)
    context = models.JSONField(_("context"), default=dict, blank=True)
    # One per order, event and recipient: a row that exists is never written, nor sent, twice.
    dedupe_key = models.CharField(_("dedupe key"), max_length=200, unique=True)
    status = models.CharField(
        _("status"), max_length=10, choices=NotificationStatus.choices, default=NotificationStatus.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    provider_message_id = models.CharField(_("message id"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=NotificationStatus.values), name="notification_status_valid"
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="notification_due",
                condition=Q(status=NotificationStatus.QUEUED),
            ),
            models.Index(fields=["order", "created_at"], name="notification_order"),
        ]

    def __str__(self) -> str:
        return f"{self.template} → {self.recipient} ({self.get_status_display()})"


class NotificationTemplate(models.Model):
    """A shop's own wording for one customer message; the built-in template is used when there is none."""

    shop = models.ForeignKey(
        "shop.Shop", on_delete=models.CASCADE, related_name="notification_templates", verbose_name=_("shop")
    )
    template = models.CharField(_("message"), max_length=60)
    subject = models.CharField(
        _("subject"), max_length=200, blank=True, help_text=_("Leave empty to keep the built-in subject.")
    )
    body_text = models.TextField(
        _("text"),
        help_text=_("Django template syntax: {{ order.number }}, {{ tracking_url }}, {{ shop.name }}..."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("notification text")
        verbose_name_plural = _("notification texts")
        constraints = [
            models.UniqueConstraint(fields=["shop", "template"], name="notificationtemplate_unique_per_shop")
        ]

    def __str__(self) -> str:
        return f"{self.shop}: {self.template}"


class Suppression(models.Model):
    """An address that unsubscribed from a shop's non-essential mail (feedback requests, delay notices)."""

    shop = models.ForeignKey(
        "shop.Shop", on_delete=models.CASCADE, related_name="suppressions", verbose_name=_("shop")
    )
    email = models.EmailField(_("email"))
    created_at = models.DateTimeField(_("unsubscribed"), auto_now_add=True)

    class Meta:
        verbose_name = _("unsubscribed address")
        verbose_name_plural = _("unsubscribed addresses")
        constraints = [models.UniqueConstraint(fields=["shop", "email"], name="suppression_unique_per_shop")]

    def __str__(self) -> str:
        return self.email


class WebhookEndpoint(models.Model):
    """A URL of the seller's that receives every order event, signed like the carrier webhook."""

    shop = models.ForeignKey(
        "shop.Shop", on_delete=models.CASCADE, related_name="webhook_endpoints", verbose_name=_("shop")
    )
    url = models.URLField(_("URL"), max_length=500)
    secret = models.CharField(_("signing secret"), max_length=100)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self) -> str:
        return self.url
