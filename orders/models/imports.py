"""Orders brought in from the files TikTok Shop and Shopify export (issue 8). See docs/imports.md.

``ExternalOrderRef`` is how an imported order remembers where it came from: one row per (source, external
id), unique per shop. An order synced to Shopify from TikTok Shop has two: its Shopify name and its TikTok
order id (from the ``TikTokOrderID:`` tag), so a later TikTok export finds it instead of creating it twice.

``OrderImport`` is one uploaded file and what became of it: previewed (nothing written), then applied by a
Celery task that reports its progress. ``OrderImportItem`` is one order of the file in the preview or the
result: what it becomes (new, update, unchanged, rejected) and why. ``ImportStatusMapping`` remembers how
the seller mapped a status text the importer does not know (a status in the seller's language, say).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ..states import OrderStatus


class ImportSource(models.TextChoices):
    SHOPIFY = "shopify", _("Shopify")
    TIKTOK = "tiktok", _("TikTok Shop")


class ExternalOrderRef(models.Model):
    shop = models.ForeignKey("shop.Shop", on_delete=models.CASCADE, related_name="+", verbose_name=_("shop"))
    order = models.ForeignKey(
        "orders.Order", on_delete=models.CASCADE, related_name="external_refs", verbose_name=_("order")
    )
    source = models.CharField(_("source"), max_length=16, choices=ImportSource.choices)
    external_id = models.CharField(_("ID on the source platform"), max_length=64)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("external order reference")
        verbose_name_plural = _("external order references")
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "source", "external_id"], name="externalorderref_unique_per_shop"
            ),
            models.CheckConstraint(
                condition=Q(source__in=ImportSource.values), name="externalorderref_source_valid"
            ),
        ]
        indexes = [models.Index(fields=["order"], name="externalorderref_order")]

    def __str__(self) -> str:
        return f"{self.get_source_display()} {self.external_id}"


class ImportFormat(models.TextChoices):
    SHOPIFY = "shopify", _("Shopify orders export")
    TIKTOK = "tiktok", _("TikTok Shop orders export")


class ImportState(models.TextChoices):
    UPLOADED = "uploaded", _("Uploaded")
    PREVIEWING = "previewing", _("Checking the file")
    PREVIEWED = "previewed", _("Ready to apply")
    APPLYING = "applying", _("Importing")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class OrderImport(models.Model):
    shop = models.ForeignKey(
        "shop.Shop", on_delete=models.CASCADE, related_name="order_imports", verbose_name=_("shop")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/")
    # An XLSX upload's rows as CSV, written by the preview's pass over the sheet: the apply (and a second
    # preview) read it instead, three times faster. Deleted once the import is applied.
    rows_copy = models.FileField(_("rows as CSV"), upload_to="imports/%Y/%m/", blank=True)
    original_name = models.CharField(_("file name"), max_length=255)
    size = models.PositiveBigIntegerField(_("size in bytes"), default=0)
    format = models.CharField(_("format"), max_length=16, choices=ImportFormat.choices, blank=True)
    state = models.CharField(
        _("state"), max_length=12, choices=ImportState.choices, default=ImportState.UPLOADED
    )
    # Progress of the running step (preview or apply), in data rows of the file.
    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    rows_done = models.PositiveIntegerField(_("rows done"), default=0)
    # What the preview found / what applying did, counted in orders.
    orders_new = models.PositiveIntegerField(_("new orders"), default=0)
    orders_updated = models.PositiveIntegerField(_("updated orders"), default=0)
    orders_unchanged = models.PositiveIntegerField(_("unchanged orders"), default=0)
    orders_rejected = models.PositiveIntegerField(_("rejected orders"), default=0)
    # A message for the whole file (wrong file, unknown header, a crash); row problems live on the items.
    error = models.TextField(_("error"), blank=True)
    task_id = models.CharField(_("task"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("order import")
        verbose_name_plural = _("order imports")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=ImportState.values), name="orderimport_state_valid"),
        ]
        indexes = [models.Index(fields=["shop", "-created_at"], name="orderimport_shop_created")]

    def __str__(self) -> str:
        return self.original_name

    @property
    def percent_done(self) -> int:
        if not self.rows_total:
            return 0
        return min(100, round(100 * self.rows_done / self.rows_total))


class ItemOutcome(models.TextChoices):
    NEW = "new", _("New")
    UPDATE = "update", _("Update")
    UNCHANGED = "unchanged", _("Unchanged")
    REJECTED = "rejected", _("Rejected")


class OrderImportItem(models.Model):
    """One order of an import's file: the preview's verdict, then what applying did."""

    order_import = models.ForeignKey(
        OrderImport, on_delete=models.CASCADE, related_name="items", verbose_name=_("import")
    )
    external_id = models.CharField(_("ID on the source platform"), max_length=64)
    first_row = models.PositiveIntegerField(_("first row"))
    last_row = models.PositiveIntegerField(_("last row"))
    outcome = models.CharField(_("outcome"), max_length=10, choices=ItemOutcome.choices)
    status_text = models.CharField(_("status in the file"), max_length=100, blank=True)
    status = models.CharField(_("becomes"), max_length=12, choices=OrderStatus.choices, blank=True)
    # [{"level": "error"|"warning", "row": int|None, "column": str, "message": str}, ...]
    problems = models.JSONField(_("problems"), default=list, blank=True)
    order = models.ForeignKey(
        "orders.Order",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("order"),
    )
    applied = models.BooleanField(_("applied"), default=False)

    class Meta:
        verbose_name = _("imported order")
        verbose_name_plural = _("imported orders")
        ordering = ["first_row", "id"]
        indexes = [
            models.Index(fields=["order_import", "outcome", "first_row"], name="orderimportitem_outcome"),
        ]

    def __str__(self) -> str:
        return self.external_id


class ImportStatusMapping(models.Model):
    """A status text from a file that the seller mapped by hand, remembered for the shop and source."""

    shop = models.ForeignKey(
        "shop.Shop", on_delete=models.CASCADE, related_name="import_status_mappings", verbose_name=_("shop")
    )
    source = models.CharField(_("source"), max_length=16, choices=ImportSource.choices)
    # Compared case-insensitively and without surrounding spaces: stored folded (``str.casefold``).
    status_text = models.CharField(_("status in the file"), max_length=100)
    status = models.CharField(_("becomes"), max_length=12, choices=OrderStatus.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("mapped by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("import status mapping")
        verbose_name_plural = _("import status mappings")
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "source", "status_text"], name="importstatusmapping_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.status_text} → {self.get_status_display()}"
