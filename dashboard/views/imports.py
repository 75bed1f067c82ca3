"""Dashboard: import orders from the files TikTok Shop and Shopify export (docs/imports.md).

Upload a file → the preview task checks every order (nothing written) → the seller maps any status text the
importer does not know and applies → the apply task imports each order whole or not at all. Both steps run
as Celery tasks (in-process when there is no broker, so a step may be finished before its page is drawn);
while one runs the import's page shows a progress bar that htmx refreshes every second (without JavaScript
the page reloads itself). Everything is scoped to ``request.shop``: another shop's import is a 404.
"""

import tempfile
from io import TextIOWrapper

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from orders.imports import applying, exports, tasks
from orders.imports.applying import ImportRefused
from orders.models.imports import (
    ExternalOrderRef,
    ImportSource,
    ImportState,
    ItemOutcome,
    OrderImport,
)
from shop.models import Role

from ..access import seller_view
from ..forms.imports import ImportFileForm, StatusMappingForm

PAGE_SIZE = 50
RUNNING = (ImportState.UPLOADED, ImportState.PREVIEWING, ImportState.APPLYING)
# The tracking file is written to memory up to this size, then to a temporary file, and streamed from it.
SPOOL_BYTES = 1024 * 1024


# --- Reads --------------------------------------------------------------------------------------------------


def imports_of_shop(shop):
    return OrderImport.objects.filter(shop=shop).select_related("created_by").order_by("-created_at", "-id")


def import_of_shop(shop, pk: int) -> OrderImport:
    return get_object_or_404(OrderImport.objects.select_related("created_by"), shop=shop, pk=pk)


def imported_sources(shop) -> list[tuple[str, str]]:
    """(source, label) of the platforms this shop has imported orders from: each gets a tracking file."""
    used = set(ExternalOrderRef.objects.filter(shop=shop).values_list("source", flat=True).distinct())
    return [(value, label) for value, label in ImportSource.choices if value in used]


def outcome_tabs(order_import: OrderImport, current: str) -> list[dict]:
    base = reverse("dashboard:import", args=[order_import.pk])
    counts = {
        ItemOutcome.NEW: order_import.orders_new,
        ItemOutcome.UPDATE: order_import.orders_updated,
        ItemOutcome.UNCHANGED: order_import.orders_unchanged,
        ItemOutcome.REJECTED: order_import.orders_rejected,
    }
    tabs = [{"label": _("All"), "url": base, "count": sum(counts.values()), "current": not current}]
    tabs += [
        {
            "label": outcome.label,
            "url": f"{base}?outcome={outcome.value}",
            "count": counts[outcome],
            "current": current == outcome.value,
        }
        for outcome in ItemOutcome
    ]
    return tabs


def _progress_context(order_import: OrderImport) -> dict:
    return {
        "order_import": order_import,
        "running": order_import.state in RUNNING,
        "applying": order_import.state == ImportState.APPLYING,
    }


# --- Pages --------------------------------------------------------------------------------------------------


@require_GET
@seller_view(Role.MANAGER)
def import_list(request):
    page = Paginator(imports_of_shop(request.shop), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "dashboard/imports/list.html",
        {"page": page, "imports": page.object_list, "tracking_sources": imported_sources(request.shop)},
    )


@require_http_methods(["GET", "POST"])
@seller_view(Role.MANAGER)
def import_upload(request):
    """Keep the file (its header is checked at once: an image or another CSV is refused here) and check
    the whole file in the background; the import's page shows how far the check is."""
    form = ImportFileForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                with transaction.atomic():
                    order_import = applying.receive_file(
                        request.shop,
                        upload,
                        name=form.original_name,
                        size=upload.size,
                        format=form.cleaned_data["format"],
                        by=request.user,
                    )
                    tasks.start_preview(order_import)
            except ImportRefused as refused:
                form.add_error("file", refused.message)
            else:
                return redirect("dashboard:import", pk=order_import.pk)
        return render(request, "dashboard/imports/upload.html", {"form": form}, status=422)
    return render(request, "dashboard/imports/upload.html", {"form": form})


@require_GET
@seller_view(Role.MANAGER)
def import_detail(request, pk: int):
    order_import = import_of_shop(request.shop, pk)
    context = _progress_context(order_import)
    if order_import.state in (ImportState.PREVIEWED, ImportState.DONE, ImportState.FAILED):
        outcome = request.GET.get("outcome", "")
        if outcome not in ItemOutcome.values:
            outcome = ""
        items = order_import.items.select_related("order").order_by("first_row", "id")
        if outcome:
            items = items.filter(outcome=outcome)
        page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
        context |= {
            "page": page,
            "items": page.object_list,
            "outcome": outcome,
            "tabs": outcome_tabs(order_import, outcome),
        }
    if order_import.state == ImportState.PREVIEWED:
        unknown = applying.unknown_status_texts(order_import)
        context |= {
            "unknown_texts": unknown,
            "status_form": StatusMappingForm(texts=unknown) if unknown else None,
            "to_import": order_import.orders_new + order_import.orders_updated,
        }
    return render(request, "dashboard/imports/detail.html", context)


@require_GET
@seller_view(Role.MANAGER)
def import_progress(request, pk: int):
    """The progress bar alone, polled by htmx while a step runs; when it has finished, the whole page
    reloads to show what the step found."""
    order_import = import_of_shop(request.shop, pk)
    if order_import.state not in RUNNING:
        if request.htmx:
            response = render(request, "dashboard/imports/_progress.html", _progress_context(order_import))
            response["HX-Refresh"] = "true"
            return response
        return redirect("dashboard:import", pk=order_import.pk)
    return render(request, "dashboard/imports/_progress.html", _progress_context(order_import))


@require_POST
@seller_view(Role.MANAGER)
def import_statuses(request, pk: int):
    """Remember for the shop what the seller says each unknown status text means; check the file again."""
    order_import = import_of_shop(request.shop, pk)
    if order_import.state != ImportState.PREVIEWED:
        messages.error(request, _("This import is not waiting for statuses any more."))
        return redirect("dashboard:import", pk=order_import.pk)
    unknown = applying.unknown_status_texts(order_import)
    form = StatusMappingForm(request.POST, texts=unknown)
    if not form.is_valid():
        context = _progress_context(order_import) | {
            "unknown_texts": unknown,
            "status_form": form,
            "to_import": order_import.orders_new + order_import.orders_updated,
            "page": None,
            "tabs": outcome_tabs(order_import, ""),
        }
        return render(request, "dashboard/imports/detail.html", context, status=422)
    try:
        with transaction.atomic():
            for text, status in form.mappings():
                applying.remember_status_mapping(
                    request.shop, order_import.format, text, status, by=request.user
                )
            tasks.start_preview(order_import)
    except ImportRefused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(
            request, _("Statuses remembered for this shop; the file is checked again with them.")
        )
    return redirect("dashboard:import", pk=order_import.pk)


@require_POST
@seller_view(Role.MANAGER)
def import_apply(request, pk: int):
    order_import = import_of_shop(request.shop, pk)
    try:
        tasks.start_apply(order_import, by=request.user)
    except ImportRefused as refused:
        messages.error(request, refused.message)
    return redirect("dashboard:import", pk=order_import.pk)


@require_GET
@seller_view(Role.MANAGER)
def tracking_download(request, source: str):
    """The tracking numbers of the shop's shipped orders imported from ``source``, as the file that
    platform's bulk shipping upload reads."""
    if source not in ImportSource.values:
        raise Http404
    spooled = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (FileResponse closes it)
    out = TextIOWrapper(spooled, encoding="utf-8", newline="")
    exports.write_tracking_csv(request.shop, source, out)
    out.flush()
    out.detach()
    spooled.seek(0)
    filename = f"{source}-tracking-{timezone.localdate(timezone=request.shop.zone).isoformat()}.csv"
    response = FileResponse(spooled, as_attachment=True, filename=filename, content_type="text/csv")
    response["Content-Type"] = "text/csv; charset=utf-8"
    return response


urlpatterns = [
    path("imports/", import_list, name="imports"),
    path("imports/new/", import_upload, name="import_upload"),
    path("imports/tracking/<slug:source>/", tracking_download, name="imports_tracking"),
    path("imports/<int:pk>/", import_detail, name="import"),
    path("imports/<int:pk>/progress/", import_progress, name="import_progress"),
    path("imports/<int:pk>/statuses/", import_statuses, name="import_statuses"),
    path("imports/<int:pk>/apply/", import_apply, name="import_apply"),
]
