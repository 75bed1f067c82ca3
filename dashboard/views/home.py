"""Dashboard: the home page — the seller's to-do tiles and the headline numbers."""

from urllib.parse import urlencode

from django.shortcuts import render
from django.urls import NoReverseMatch, path, reverse
from django.utils.translation import gettext as _

from shop.models import Role

from ..access import seller_view
from ..selectors.home import delayed_orders, headline_numbers, todo_counts


def link(name: str, **query) -> str:
    """The URL of a dashboard list with its filter, or "" while that area is not wired."""
    try:
        url = reverse(name)
    except NoReverseMatch:
        return ""
    return f"{url}?{urlencode(query)}" if query else url


@seller_view(Role.STAFF)
def home(request):
    counts = todo_counts(request.shop)
    tiles = [
        {
            "label": _("To process"),
            "count": counts.to_process,
            "url": link("dashboard:orders", status="pending"),
        },
        {"label": _("To ship"), "count": counts.to_ship, "url": link("dashboard:orders", status="processed")},
        {
            "label": _("Late"),
            "help": _("Not shipped within %(days)s days") % {"days": request.shop.handling_days},
            "count": counts.late,
            "url": link("dashboard:orders", late="1"),
            "attention": True,
        },
        {
            "label": _("Delayed in transit"),
            "count": counts.delayed,
            "url": link("dashboard:orders", delayed="1"),
            "attention": True,
        },
        {
            "label": _("Return requests"),
            "count": counts.return_requests,
            "url": link("dashboard:returns", status="requested"),
        },
        {"label": _("Buyer requests"), "count": counts.buyer_requests, "url": link("dashboard:requests")},
        {
            "label": _("Item change requests"),
            "count": counts.modification_requests,
            "url": link("dashboard:requests", status="open", kind="modification"),
        },
        {
            "label": _("Messages waiting"),
            "count": counts.awaiting_reply,
            "url": link("dashboard:orders", awaiting_reply="1"),
        },
    ]
    headlines = headline_numbers(
        request.shop, labels={1: _("Today"), 7: _("Last 7 days"), 30: _("Last 30 days")}
    )
    return render(
        request,
        "dashboard/home/home.html",
        {
            "tiles": tiles,
            "headlines": headlines,
            "numbers_url": link("dashboard:numbers"),
            "delayed_orders": delayed_orders(request.shop, counts.delayed_order_ids),
            "delayed_count": counts.delayed,
        },
    )


urlpatterns = [path("", home, name="home")]
