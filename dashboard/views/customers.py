"""Dashboard: customers — a searchable list and a page per customer."""

from django.http import Http404
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext as _

from shop.models import Customer, Role

from ..access import seller_view
from ..selectors.customers import customer_list_for_shop, customer_page_for_shop


@seller_view(Role.STAFF)
def customer_list(request):
    search = request.GET.get("q", "").strip()
    after = request.GET.get("after", "")
    customers, next_after = customer_list_for_shop(
        request.shop, search=search, after=int(after) if after.isdigit() else None
    )
    return render(
        request,
        "dashboard/customers/list.html",
        {"customers": customers, "search": search, "next_after": next_after, "paged": after.isdigit()},
    )


@seller_view(Role.STAFF)
def customer_detail(request, pk: int):
    try:
        page = customer_page_for_shop(request.shop, pk)
    except Customer.DoesNotExist:
        raise Http404(_("No such customer in this shop.")) from None
    return render(request, "dashboard/customers/detail.html", {"page": page, "customer": page.customer})


urlpatterns = [
    path("customers/", customer_list, name="customers"),
    path("customers/<int:pk>/", customer_detail, name="customer"),
]
