"""The buyer's doors under /track/: the order page (by token), the lookup, and the order history link.

Every page is private (``private_page``): Cache-Control: private, no-store; Referrer-Policy: no-referrer;
X-Robots-Tag: noindex. Views parse, call one selector or one function, render.
"""

import hashlib
import zoneinfo
from functools import cache

from django.conf import settings
from django.core import signing
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from shop.models import Shop

from . import actions, history, lookup, page_cache, selectors
from .lookup_forms import HistoryRequestForm, OrderLookupForm
from .privacy import private_page

TZ_COOKIE = "tz"


def see_other(url: str) -> HttpResponseRedirect:
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response


@cache
def _known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def buyer_zone(request, shop_timezone: str) -> zoneinfo.ZoneInfo:
    """The zone the buyer's browser reported (the ``tz`` cookie set by static/tracking/tz.js), else the
    shop's, else UTC."""
    for name in (request.COOKIES.get(TZ_COOKIE, ""), shop_timezone, "UTC"):
        if name in _known_zones():
            return zoneinfo.ZoneInfo(name)
    return zoneinfo.ZoneInfo("UTC")


def page_language(order_language: str) -> str:
    supported = {code for code, _name in settings.LANGUAGES}
    language = (order_language or "").lower()
    if language in supported:
        return language
    base = language.split("-")[0]
    return base if base in supported else settings.LANGUAGE_CODE


# --- The order page --------------------------------------------------------------------------------


@private_page
@require_GET
def order_page(request, token: str):
    """The order, in the order's language and the buyer's time zone.

    The rendered page is cached per token and per change stamp (version, latest event, latest scan, day,
    language, zone); the stamp is cached too (``stamps``), so a repeated view reads no database. Its forms
    carry a token bound to the order's link (``form_tokens``), the same in every view: nothing per response.
    """
    stamp = selectors.page_stamp(token)
    if stamp is None:
        return render(request, "tracking/not_found.html", status=404)
    language = page_language(stamp.language)
    translation.activate(language)
    request.LANGUAGE_CODE = language
    zone = buyer_zone(request, stamp.shop_timezone)
    # A page with flash messages or query parameters (the actions' own states) is rendered fresh.
    cacheable = not request.GET and "messages" not in request.COOKIES
    key = _page_cache_key(token, stamp, language, zone)
    body = page_cache.get(key) if cacheable else None
    if body is None:
        with timezone.override(zone):
            page = selectors.tracking_page(stamp.order_id, zone=zone)
            context = {
                "page": page,
                "order": page.order,
                "shop": page.order.shop,
                "zone_name": zone.key,
                **actions.page_context(request, page.order),
            }
            body = render_to_string("tracking/order.html", context, request=request)
        if cacheable:
            card = context["actions"].modification
            page_cache.put(key, body, until=card.fresh_until if card else None)
    return HttpResponse(body)


def _page_cache_key(token: str, stamp, language: str, zone) -> str:
    digest = hashlib.sha256(token.encode()).hexdigest()[:32]
    return f"tracking:page:{digest}:{stamp.cache_part()}:{language}:{zone.key}:{timezone.now().date()}"


# --- Lookup by number and email or postcode --------------------------------------------------------


@csrf_exempt  # the site-wide check refuses the Origin: null that no-referrer causes; checked below instead
@private_page
@actions.buyer_csrf_protect
@require_http_methods(["GET", "POST"])
def lookup_page(request):
    """Every miss — wrong email, wrong postcode, unknown number — is the same 303 to the same URL."""
    if request.method == "GET":
        form = OrderLookupForm()
        return render(
            request, "tracking/lookup.html", {"form": form, "not_found": "not-found" in request.GET}
        )
    form = OrderLookupForm(request.POST)
    if not form.is_valid():
        return render(request, "tracking/lookup.html", {"form": form}, status=400)
    number = form.cleaned_data["number"]
    wait = lookup.count_attempt(lookup.lookup_limits(request, number))
    if wait:
        return _too_many_tries(request, wait)
    token = lookup.find_order_token(number, form.cleaned_data["email_or_postcode"])
    if token is None:
        return see_other(reverse("tracking:lookup") + "?not-found=1")
    return see_other(reverse("tracking:order", args=[token]))


def _too_many_tries(request, wait: int):
    response = render(request, "tracking/too_many_tries.html", {"minutes": lookup.minutes(wait)}, status=429)
    response["Retry-After"] = str(wait)
    return response


# --- Order history ---------------------------------------------------------------------------------


@csrf_exempt  # as lookup_page
@private_page
@actions.buyer_csrf_protect
@require_http_methods(["GET", "POST"])
def history_request(request):
    """Ask for the link. The answer never says whether the address has orders."""
    if request.method == "GET":
        form = HistoryRequestForm(initial={"shop": request.GET.get("shop", "")[:60]})
        return render(request, "tracking/history_request.html", {"form": form, "sent": "sent" in request.GET})
    form = HistoryRequestForm(request.POST)
    if not form.is_valid():
        return render(request, "tracking/history_request.html", {"form": form}, status=400)
    email = form.cleaned_data["email"]
    wait = lookup.count_attempt(lookup.history_limits(request, email))
    if wait:
        return _too_many_tries(request, wait)
    history.request_history_link(email=email, shop_slug=form.cleaned_data["shop"])
    return see_other(reverse("tracking:history_request") + "?sent=1")


@private_page
@require_GET
def history_page(request, signed: str):
    try:
        shop_id, email = history.read_history_token(signed)
    except history.ExpiredLink as expired:
        return _history_link_refused(request, expired=True, shop_id=expired.shop_id)
    except signing.BadSignature:
        return _history_link_refused(request, expired=False, shop_id=None)
    orders = selectors.history_orders(shop_id, email)
    shop = orders[0].shop if orders else Shop.objects.filter(pk=shop_id).first()
    return render(request, "tracking/history.html", {"orders": orders, "shop": shop})


def _history_link_refused(request, *, expired: bool, shop_id: int | None):
    slug = Shop.objects.filter(pk=shop_id).values_list("slug", flat=True).first() if shop_id else ""
    form = HistoryRequestForm(initial={"shop": slug or ""})
    return render(
        request,
        "tracking/history_link_refused.html",
        {"form": form, "expired": expired},
        status=410 if expired else 400,
    )
