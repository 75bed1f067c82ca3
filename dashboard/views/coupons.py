"""Dashboard: coupons (managers and owners) — list with usage, create, edit, deactivate — and the one-click
apology coupon sent from an order."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from orders.errors import ShipshapeError
from orders.models import Coupon, Order
from orders.services import Actor
from orders.services.coupons import send_apology_coupon
from shop.models import Role

from ..access import seller_view
from ..forms.coupons import ApologyCouponForm, CouponForm

PAGE_SIZE = 50


@seller_view(Role.MANAGER)
def coupon_list(request):
    coupons = Coupon.objects.filter(shop=request.shop).order_by("-created_at", "-id")
    page = Paginator(coupons, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "dashboard/coupons/list.html", {"page": page, "coupons": page.object_list})


@seller_view(Role.MANAGER)
def coupon_create(request):
    form = CouponForm(request.POST or None, shop=request.shop)
    if request.method == "POST" and form.is_valid():
        coupon = form.save()
        messages.success(request, _("Coupon %(code)s created.") % {"code": coupon.code})
        return redirect("dashboard:coupons")
    return render(request, "dashboard/coupons/form.html", {"form": form, "coupon": None})


@seller_view(Role.MANAGER)
def coupon_edit(request, pk: int):
    coupon = get_object_or_404(Coupon, shop=request.shop, pk=pk)
    form = CouponForm(request.POST or None, instance=coupon, shop=request.shop)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Coupon %(code)s saved.") % {"code": coupon.code})
        return redirect("dashboard:coupons")
    return render(request, "dashboard/coupons/form.html", {"form": form, "coupon": coupon})


@require_POST
@seller_view(Role.MANAGER)
def coupon_deactivate(request, pk: int):
    """Stop a coupon being used on new orders; orders that already have it keep it."""
    coupon = get_object_or_404(Coupon, shop=request.shop, pk=pk)
    Coupon.objects.filter(pk=coupon.pk).update(is_active=False)
    messages.success(request, _("Coupon %(code)s deactivated.") % {"code": coupon.code})
    return redirect("dashboard:coupons")


def _back_to_order(request, number: str) -> str:
    wanted = request.POST.get("next", "")
    if wanted and url_has_allowed_host_and_scheme(wanted, {request.get_host()}, request.is_secure()):
        return wanted
    try:
        return reverse("dashboard:order", args=[number])
    except NoReverseMatch:  # the order page not wired yet
        return reverse("dashboard:coupons")


@require_POST
@seller_view(Role.MANAGER)
def apology_coupon(request, number: str = ""):
    """POSTed from an order (its number in the URL or the ``order`` field): send the buyer a single-use
    apology coupon. A second one for the same order needs ``confirm``; without it a confirmation page
    is shown."""
    form = ApologyCouponForm({**request.POST.dict(), **({"order": number} if number else {})})
    if not form.is_valid():
        messages.error(request, _("Say which order to apologise for."))
        return redirect("dashboard:coupons")
    order = get_object_or_404(Order.objects.for_shop(request.shop), number=form.cleaned_data["order"].upper())
    try:
        sent = send_apology_coupon(
            order,
            by=Actor.seller(request.user),
            percent=form.cleaned_data["percent"],
            again=form.cleaned_data["confirm"],
        )
    except ShipshapeError as error:
        if getattr(error, "code", "") == "coupon_already_sent":
            return render(
                request,
                "dashboard/coupons/apology_confirm.html",
                {"order": order, "error": error, "form": form, "next": _back_to_order(request, order.number)},
                status=409,
            )
        messages.error(request, error.message)
        return redirect(_back_to_order(request, order.number))
    if sent.emailed:
        messages.success(
            request,
            _("Apology coupon %(code)s sent to %(email)s.")
            % {"code": sent.coupon.code, "email": order.email},
        )
    else:
        messages.warning(
            request,
            _(
                "Coupon %(code)s created, but %(email)s unsubscribed from such emails: "
                "give them the code yourself."
            )
            % {"code": sent.coupon.code, "email": order.email},
        )
    return redirect(_back_to_order(request, order.number))


urlpatterns = [
    path("coupons/", coupon_list, name="coupons"),
    path("coupons/new/", coupon_create, name="coupon_create"),
    path("coupons/<int:pk>/", coupon_edit, name="coupon_edit"),
    path("coupons/<int:pk>/deactivate/", coupon_deactivate, name="coupon_deactivate"),
    path("coupons/apology/", apology_coupon, name="apology_coupon"),
    path("coupons/apology/<str:number>/", apology_coupon, name="apology_coupon"),
]
