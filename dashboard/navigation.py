"""The dashboard's main navigation: (URL name, label, role needed)."""

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from shop.models import Role

from .access import can

NAV = [
    ("dashboard:home", _("Home"), Role.STAFF),
    ("dashboard:orders", _("Orders"), Role.STAFF),
    ("dashboard:returns", _("Returns"), Role.STAFF),
    ("dashboard:requests", _("Requests"), Role.STAFF),
    ("dashboard:coupons", _("Coupons"), Role.MANAGER),
    ("dashboard:imports", _("Imports"), Role.MANAGER),
    ("dashboard:customers", _("Customers"), Role.STAFF),
    ("dashboard:numbers", _("Numbers"), Role.STAFF),
    ("dashboard:settings", _("Settings"), Role.OWNER),
]


def nav_for(request) -> list[dict]:
    items = []
    for name, label, role in NAV:
        if not can(request, role):
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:  # an area not wired (tests pin that every entry resolves)
            continue
        items.append(
            {
                "url": url,
                "label": label,
                "current": request.path.startswith(url)
                and (url != reverse("dashboard:home") or request.path == url),
            }
        )
    return items
