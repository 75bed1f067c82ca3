"""Dashboard: the order list, its bulk actions, the CSV export and saved views."""

from django.contrib import messages
from django.http import HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from dashboard.access import seller_view
from dashboard.exports import csv_response
from dashboard.forms.orders import BulkActionForm, OrderFilterForm, SavedViewForm, filters_only
from dashboard.models import SavedView
from dashboard.selectors.orders import (
    OrderListQuery,
    count_matching,
    export_rows,
    order_list,
    orders_by_numbers,
    orders_for_export,
)
from orders.errors import ShipshapeError
from orders.services import Actor, cancel_order, process_order
from shop.models import Role

# Above this many orders the export first says how many it is about to write.
EXPORT_CONFIRM_ABOVE = 5000


def _list_url(query_string: str = "") -> str:
    url = reverse("dashboard:orders")
    return f"{url}?{query_string}" if query_string else url


def _with(query_string: str, **changes) -> str:
    """``query_string`` with some keys set (or removed when the value is empty)."""
    params = QueryDict(query_string, mutable=True)
    for key, value in changes.items():
        if value:
            params[key] = value
        else:
            params.pop(key, None)
    return params.urlencode()


def _filters_of(request) -> tuple[QueryDict, SavedView | None]:
    """The filters the list shows: the query string, or a saved view's (``?view=<id>``)."""
    view_id = request.GET.get("view", "")
    if view_id.isdigit():
        saved = SavedView.objects.filter(user=request.user, shop=request.shop, pk=int(view_id)).first()
        if saved is not None:
            return QueryDict(saved.query), saved
    return request.GET, None


@require_GET
@seller_view(Role.STAFF)
def order_list_view(request):
    params, saved = _filters_of(request)
    form = OrderFilterForm(params)
    query = form.to_query()
    cursor = request.GET.get("cursor", "")
    listing = order_list(request.shop, query, cursor=cursor)
    filters = filters_only(params.urlencode())
    saved_views = list(SavedView.objects.filter(user=request.user, shop=request.shop))
    current_view = saved or next((v for v in saved_views if v.query == filters), None)
    tabs = [
        {
            "label": tab.label,
            "count": tab.count,
            "capped": tab.capped,
            "url": _list_url(_with(filters, status=tab.status)),
            "current": tab.status == query.status,
        }
        for tab in listing.tabs
    ]
    page = listing.page
    context = {
        "form": form,
        "query": query,
        "page": page,
        "tabs": tabs,
        "filters": filters,
        "saved_views": saved_views,
        "current_view": current_view,
        "save_view_form": SavedViewForm(initial={"query": filters}),
        "this_url": _list_url(_with(filters, cursor=cursor)),
        "next_url": _list_url(_with(filters, cursor=page.next_cursor)) if page.next_cursor else "",
        "previous_url": _list_url(_with(filters, cursor=page.previous_cursor))
        if page.previous_cursor
        else "",
        "export_url": reverse("dashboard:orders_export") + (f"?{filters}" if filters else ""),
        "orders_url": reverse("dashboard:orders"),
        "advanced_filters": query != OrderListQuery(status=query.status, search=query.search),
    }
    template = "dashboard/orders/list.html"
    if request.htmx and request.htmx.target == "order-listing":
        template += "#listing"  # htmx swaps the listing; the same URL without htmx is the whole page
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


def _list_to_return_to(request) -> str:
    """The list page the bulk form came from (its ``next``), when it is a page of this site."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse("dashboard:orders")


def _back_to_list(request) -> HttpResponseRedirect:
    return HttpResponseRedirect(_list_to_return_to(request))


def _processed(count: int) -> str:
    return ngettext(
        "%(count)s order processed: %(numbers)s", "%(count)s orders processed: %(numbers)s", count
    )


def _cancelled(count: int) -> str:
    return ngettext(
        "%(count)s order cancelled: %(numbers)s", "%(count)s orders cancelled: %(numbers)s", count
    )


def _apply_to_each(request, orders, change, done_message) -> None:
    """Run ``change`` on each order; report what was done and, one message each, what was refused and why."""
    done = []
    for order in orders:
        try:
            change(order)
        except ShipshapeError as error:
            messages.error(request, f"{order.number}: {error.message}")
        else:
            done.append(order.number)
    if done:
        messages.success(request, done_message(len(done)) % {"count": len(done), "numbers": ", ".join(done)})


@require_POST
@seller_view(Role.STAFF)
def orders_bulk(request):
    """Process, cancel (with a reason), print packing slips for, or export the selected orders."""
    form = BulkActionForm(request.POST)
    form.is_valid()
    action = form.cleaned_data.get("action")
    if action is None:
        messages.error(request, _("Choose what to do with the selected orders."))
        return _back_to_list(request)
    if form.non_field_errors():
        for error in form.non_field_errors():
            messages.error(request, error)
        return _back_to_list(request)
    wanted = form.cleaned_data["orders"]
    selected = orders_by_numbers(request.shop, wanted).order_by("-placed_at", "-id")
    found = {order.number for order in selected}
    if missing := [n for n in wanted if n not in found]:
        messages.warning(
            request,
            ngettext(
                "This order number is not in this shop and was skipped: %(numbers)s",
                "These order numbers are not in this shop and were skipped: %(numbers)s",
                len(missing),
            )
            % {"numbers": ", ".join(missing)},
        )
    seller = Actor.seller(request.user)
    back_to = _list_to_return_to(request)

    if action == "process":
        _apply_to_each(request, selected, lambda order: process_order(order, by=seller), _processed)
        return _back_to_list(request)
    if action == "cancel":
        if "reason" in form.errors:  # ask for the reason, showing what is about to be cancelled
            return render(
                request,
                "dashboard/orders/cancel_confirm.html",
                {"form": form, "orders": selected, "next": back_to},
                status=422 if "reason" in request.POST else 200,
            )
        reason = form.cleaned_data["reason"].strip()
        _apply_to_each(
            request, selected, lambda order: cancel_order(order, reason=reason, by=seller), _cancelled
        )
        return _back_to_list(request)
    if action == "slips":
        return render(
            request,
            "dashboard/orders/packing_slips.html",
            {"orders": selected.prefetch_related("lines"), "shop": request.shop, "next": back_to},
        )
    return csv_response(export_rows(selected), _export_filename(request.shop, "selection"))


def _export_filename(shop, label: str) -> str:
    return f"orders-{shop.slug}-{label}-{timezone.localdate():%Y%m%d}.csv"


@require_GET
@seller_view(Role.STAFF)
def orders_export(request):
    """The whole filter as CSV, streamed. Above 5,000 orders a page first says how many, then starts it."""
    query = OrderFilterForm(request.GET).to_query()
    filters = filters_only(request.GET.urlencode())
    if request.GET.get("confirmed") != "1":
        matching = count_matching(request.shop, query, cap=EXPORT_CONFIRM_ABOVE + 1)
        if matching > EXPORT_CONFIRM_ABOVE:
            return render(
                request,
                "dashboard/orders/export_confirm.html",
                {
                    "count": count_matching(request.shop, query),
                    "download_url": reverse("dashboard:orders_export") + "?" + _with(filters, confirmed="1"),
                    "back_url": _list_url(filters),
                },
            )
    return csv_response(orders_for_export(request.shop, query), _export_filename(request.shop, "all"))


@require_POST
@seller_view(Role.STAFF)
def saved_view_save(request):
    """Save the list's current filters under a name (the same name again replaces them)."""
    form = SavedViewForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            for error in errors:
                messages.error(request, error if field == "__all__" else f"{form[field].label}: {error}")
        return _back_to_list(request)
    saved, created = SavedView.objects.update_or_create(
        user=request.user,
        shop=request.shop,
        name=form.cleaned_data["name"],
        defaults={"query": form.cleaned_data["query"]},
    )
    messages.success(
        request,
        (_("View “%(name)s” saved.") if created else _("View “%(name)s” updated.")) % {"name": saved.name},
    )
    return HttpResponseRedirect(f"{reverse('dashboard:orders')}?view={saved.pk}")


@require_POST
@seller_view(Role.STAFF)
def saved_view_delete(request, pk: int):
    saved = get_object_or_404(SavedView, pk=pk, user=request.user, shop=request.shop)
    saved.delete()
    messages.success(request, _("View “%(name)s” deleted.") % {"name": saved.name})
    return HttpResponseRedirect(reverse("dashboard:orders"))


urlpatterns = [
    path("orders/", order_list_view, name="orders"),
    path("orders/bulk/", orders_bulk, name="orders_bulk"),
    path("orders/export/", orders_export, name="orders_export"),
    path("orders/views/", saved_view_save, name="orders_view_save"),
    path("orders/views/<int:pk>/delete/", saved_view_delete, name="orders_view_delete"),
]
