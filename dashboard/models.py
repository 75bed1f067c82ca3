"""What the dashboard keeps for its users: saved views of the order list."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SavedView(models.Model):
    """A named order-list filter (the query string of the list page), per user and shop."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views", verbose_name=_("user")
    )
    shop = models.ForeignKey(
        "shop.Shop", on_delete=models.CASCADE, related_name="saved_views", verbose_name=_("shop")
    )
    name = models.CharField(_("name"), max_length=60)
    query = models.CharField(_("filters"), max_length=1000, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "shop", "name"], name="savedview_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name
