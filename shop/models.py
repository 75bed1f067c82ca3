"""The tenant: a Shop, the people who work in it (Membership) and the people who buy from it (Customer).

Also the shop's API access: its API keys, idempotency records and carrier webhook secret.
"""

import hashlib
import secrets
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _


class UserManager(BaseUserManager):
    """Users sign in with their email address; there is no username."""

    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    username = None
    first_name = None
    last_name = None
    email = models.EmailField(_("email address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


def new_webhook_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_api_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


slug_validator = RegexValidator(r"^[a-z0-9][a-z0-9-]*$", _("Use lowercase letters, digits and hyphens."))


class Shop(models.Model):
    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=60, unique=True, validators=[slug_validator])
    currency = models.CharField(_("currency"), max_length=3, default="USD", help_text=_("ISO 4217 code."))
    contact_email = models.EmailField(_("contact email"))
    order_prefix = models.CharField(
        _("order number prefix"),
        max_length=8,
        default="SS",
        validators=[RegexValidator(r"^[A-Z0-9]+$", _("Use capital letters and digits."))],
    )
    # The last order number handed out; services increment it under a row lock.
    last_order_number = models.PositiveBigIntegerField(_("last order number"), default=100000)
    handling_days = models.PositiveSmallIntegerField(
        _("handling time (days)"), default=2, help_text=_("Orders not shipped within this time are late.")
    )
    return_window_days = models.PositiveSmallIntegerField(_("return window (days)"), default=30)
    # Ship-from address.
    ship_from_name = models.CharField(_("ship-from name"), max_length=120, blank=True)
    ship_from_line1 = models.CharField(_("ship-from address line 1"), max_length=200, blank=True)
    ship_from_line2 = models.CharField(_("ship-from address line 2"), max_length=200, blank=True)
    ship_from_city = models.CharField(_("ship-from city"), max_length=100, blank=True)
    ship_from_region = models.CharField(_("ship-from region"), max_length=100, blank=True)
    ship_from_postal_code = models.CharField(_("ship-from postal code"), max_length=20, blank=True)
    ship_from_country = models.CharField(_("ship-from country"), max_length=2, blank=True)
    # Customer messages and scheduled jobs.
    brand_colour = models.CharField(
        _("brand colour"),
        max_length=7,
        default="#1d4ed8",
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Use a colour such as #1d4ed8."))],
    )
    unpaid_expiry_hours = models.PositiveSmallIntegerField(
        _("cancel unpaid orders after (hours)"), default=72, help_text=_("0 keeps unpaid orders open.")
    )
    stalled_after_days = models.PositiveSmallIntegerField(
        _("parcel stalled after (days without a scan)"), default=5
    )
    send_delay_notices = models.BooleanField(_("tell buyers about delays"), default=True)
    delay_coupon_percent = models.PositiveSmallIntegerField(
        _("apology coupon with a delay notice (% off)"), default=0, help_text=_("0 sends no coupon.")
    )
    feedback_request_days = models.PositiveSmallIntegerField(
        _("ask for feedback after delivery (days)"), default=3, help_text=_("0 sends no feedback request.")
    )
    # Buyer self-service and fulfilment policy (tracking page, dashboard).
    contact_phone = models.CharField(_("contact phone"), max_length=40, blank=True)
    timezone = models.CharField(
        _("time zone"),
        max_length=64,
        default="UTC",
        help_text=_("IANA name such as Europe/Madrid: the shop's days for figures and due dates."),
    )
    apply_buyer_address_changes = models.BooleanField(
        _("apply buyers' address changes at once while pending"),
        default=False,
        help_text=_("Otherwise each change waits for your approval."),
    )
    require_checklist = models.BooleanField(
        _("require the fulfilment checklist before shipping"),
        default=False,
        help_text=_("Picked, packed and address verified must be ticked before an order ships."),
    )
    allow_modifications = models.BooleanField(
        _("let buyers ask to change items"), default=True, help_text=_("Size, colour or quantity.")
    )
    modification_window_hours = models.PositiveSmallIntegerField(
        _("item changes allowed for (hours after the order is placed)"),
        default=24,
        help_text=_("0: until the order is processed. Never after it is processed."),
    )
    # Carriers sign their tracking webhooks with it (HMAC-SHA256); see docs/api.md.
    carrier_webhook_secret = models.CharField(
        _("carrier webhook secret"), max_length=64, default=new_webhook_secret
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("shop")
        verbose_name_plural = _("shops")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> ZoneInfo:
        """The shop's time zone (its days for figures and due dates); UTC if the name is unknown."""
        try:
            return ZoneInfo(self.timezone or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo("UTC")


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    MANAGER = "manager", _("Manager")
    STAFF = "staff", _("Staff")


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("user")
    )
    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("shop")
    )
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.STAFF)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "shop"], name="membership_unique_user_shop"),
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="membership_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.shop} ({self.get_role_display()})"


class Customer(models.Model):
    """A buyer of one shop, known by email. Buyers have no account."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="customers", verbose_name=_("shop"))
    email = models.EmailField(_("email"), help_text=_("Stored lowercased."))
    name = models.CharField(_("name"), max_length=150, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    order_count = models.PositiveIntegerField(_("orders"), default=0, validators=[MinValueValidator(0)])
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        constraints = [
            models.UniqueConstraint(fields=["shop", "email"], name="customer_unique_email_per_shop"),
            models.CheckConstraint(condition=models.Q(email=Lower("email")), name="customer_email_lowercase"),
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email


# --- API access: keys, idempotent writes, the carrier webhook secret ---------------------------------


class ApiKeyQuerySet(models.QuerySet):
    def active(self) -> "ApiKeyQuerySet":
        return self.filter(revoked_at__isnull=True)


class ApiKey(models.Model):
    """A shop's key for /api/v1/. Only the SHA-256 of the secret is stored; the key is shown once."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="api_keys", verbose_name=_("shop"))
    name = models.CharField(
        _("name"), max_length=100, help_text=_("What uses this key, e.g. the storefront.")
    )
    prefix = models.CharField(
        _("prefix"), max_length=16, unique=True, help_text=_("The start of the key, to recognise it.")
    )
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def issue(cls, *, shop: Shop, name: str, created_by=None) -> tuple["ApiKey", str]:
        """Create a key and return it with the secret, which is never stored and cannot be shown again."""
        prefix = f"ss_{secrets.token_hex(4)}"
        raw_key = f"{prefix}_{secrets.token_urlsafe(32)}"
        key = cls.objects.create(
            shop=shop, name=name, prefix=prefix, key_hash=hash_api_key(raw_key), created_by=created_by
        )
        return key, raw_key


class IdempotencyStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")


class IdempotencyRecord(models.Model):
    """The first answer to a write sent with an ``Idempotency-Key``. The row is inserted before the write
    runs, so a concurrent retry with the same key hits the unique constraint instead of writing twice."""

    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="idempotency_records", verbose_name=_("shop")
    )
    key = models.CharField(_("idempotency key"), max_length=255)
    fingerprint = models.CharField(_("request fingerprint"), max_length=64)
    method = models.CharField(_("method"), max_length=10)
    path = models.CharField(_("path"), max_length=500)
    status = models.CharField(
        _("status"), max_length=12, choices=IdempotencyStatus.choices, default=IdempotencyStatus.IN_PROGRESS
    )
    response_status = models.PositiveSmallIntegerField(_("response status"), null=True, blank=True)
    response_body = models.JSONField(_("response body"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [
            models.UniqueConstraint(fields=["shop", "key"], name="idempotency_unique_key_per_shop"),
            models.CheckConstraint(
                condition=models.Q(status__in=IdempotencyStatus.values), name="idempotency_status_valid"
            ),
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created")]

    def __str__(self) -> str:
        return f"{self.shop} {self.key} ({self.get_status_display()})"
