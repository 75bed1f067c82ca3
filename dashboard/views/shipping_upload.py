"""Dashboard: ship many orders from a CSV file — upload, preview every row, apply the valid ones.

The rows wait between the preview and the apply in the cache under a random token, in a key that also
names the shop and the user, so nobody else's token (or another shop's) finds them. Applying takes them out
first, so a second click cannot ship twice.
"""

import secrets

from django.contrib import messages
from django.core.cache import cache
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from shop.models import Role

from ..access import seller_view
from ..forms.shipping_upload import ShippingFileForm
from ..shipping_csv import ShippingRow, apply_rows, check_rows

KEEP_SECONDS = 60 * 60


def _key(request, token: str) -> str:
    return f"dashboard:shipping-upload:{request.shop.pk}:{request.user.pk}:{token}"


def _load(request, token: str) -> dict | None:
    stored = cache.get(_key(request, token))
    if stored is None:
        return None
    return {**stored, "rows": [ShippingRow(**row) for row in stored["rows"]]}


@require_http_methods(["GET", "POST"])
@seller_view(Role.STAFF)
def upload(request):
    form = ShippingFileForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if form.is_valid():
            token = secrets.token_urlsafe(18)
            rows = [row.as_dict() for row in form.cleaned_data["rows"]]
            cache.set(
                _key(request, token), {"filename": form.cleaned_data["file"].name, "rows": rows}, KEEP_SECONDS
            )
            return redirect("dashboard:shipping_upload_preview", token=token)
        return render(request, "dashboard/shipping_upload/upload.html", {"form": form}, status=422)
    return render(request, "dashboard/shipping_upload/upload.html", {"form": form})


@require_http_methods(["GET"])
@seller_view(Role.STAFF)
def preview(request, token: str):
    stored = _load(request, token)
    if stored is None:
        messages.error(request, _("That upload has expired or was already applied; upload the file again."))
        return redirect("dashboard:shipping_upload")
    rows = check_rows(request.shop, stored["rows"])
    valid = sum(row.valid for row in rows)
    return render(
        request,
        "dashboard/shipping_upload/preview.html",
        {
            "rows": rows,
            "valid": valid,
            "invalid": len(rows) - valid,
            "filename": stored["filename"],
            "token": token,
        },
    )


@require_POST
@seller_view(Role.STAFF)
def apply(request, token: str):
    stored = _load(request, token)
    cache.delete(_key(request, token))
    if stored is None:
        messages.error(request, _("That upload has expired or was already applied; upload the file again."))
        return redirect("dashboard:shipping_upload")
    result = apply_rows(request.shop, stored["rows"], user=request.user)
    if result.shipped:
        count = len(result.shipped)
        messages.success(
            request,
            ngettext("%(count)s order shipped.", "%(count)s orders shipped.", count) % {"count": count},
        )
    if result.refused:
        count = len(result.refused)
        messages.warning(
            request,
            ngettext(
                "%(count)s row was not shipped; see why below.",
                "%(count)s rows were not shipped; see why below.",
                count,
            )
            % {"count": count},
        )
    return render(
        request,
        "dashboard/shipping_upload/result.html",
        {"shipped": result.shipped, "refused": result.refused, "filename": stored["filename"]},
    )


urlpatterns = [
    path("shipping/upload/", upload, name="shipping_upload"),
    path("shipping/upload/<str:token>/", preview, name="shipping_upload_preview"),
    path("shipping/upload/<str:token>/apply/", apply, name="shipping_upload_apply"),
]
