"""Dashboard: the buyers' requests (address changes, cancellations) and the seller's answer.

Staff may answer: an address change or a cancellation before shipping is everyday order work, the same as
changing the address or cancelling from the order page, which staff may do too. Each answer is a plain POST
with the order's version (a buyer who changed the proposal meanwhile makes the page stale, so nobody approves
an address they have not seen); it redirects back to the queue or to the order page it came from.
"""

from django import forms
from django.contrib import messages
from django.http import HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from orders.errors import ShipshapeError
from orders.models import RequestKind, RequestStatus
from orders.services import Actor, approve_request, decline_request
from orders.services.buyer import DECLINE_REASON_MAX_LENGTH
from shop.models import Role

from ..access import seller_view
from ..selectors.requests import (
    REQUEST_TABS,
    request_counts,
    request_for_shop,
    request_queue,
    valid_kind,
    valid_status,
)

QUEUE = "dashboard/requests/queue.html"


class DeclineForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason (the buyer reads it)"),
        max_length=DECLINE_REASON_MAX_LENGTH,
        widget=forms.TextInput(attrs={"required": True}),
    )


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "approve"), ("decline", "decline")])
    version = forms.IntegerField(required=False, min_value=1)
    # Item changes only: approve even if the order's coupon no longer applies, taking it off the order.
    drop_coupon = forms.BooleanField(required=False)


def decline_form(buyer_request, data=None) -> DeclineForm:
    return DeclineForm(data, auto_id=f"request-{buyer_request.pk}-%s")


def _queue_url(status: str = RequestStatus.OPEN, kind: str = "") -> str:
    url = f"{reverse('dashboard:requests')}?status={status}"
    return f"{url}&kind={kind}" if kind else url


def _queue(request, status: str, kind: str, *, bound=None, http_status: int = 200):
    """One tab of the queue; ``bound`` = (request id, form) shows a decline form again with its errors."""
    requests = request_queue(request.shop, status=status, kind=kind)
    for buyer_request in requests:
        if bound and bound[0] == buyer_request.pk:
            buyer_request.decline_form = bound[1]
    counts = request_counts(request.shop, kind=kind)
    tabs = [
        {
            "status": tab,
            "label": RequestStatus(tab).label,
            "count": counts[tab],
            "current": tab == status,
            "url": _queue_url(tab, kind),
        }
        for tab in REQUEST_TABS
    ]
    return render(
        request,
        QUEUE,
        {
            "requests": requests,
            "tabs": tabs,
            "status": status,
            "status_label": RequestStatus(status).label,
            "kind": kind,
            "kinds": RequestKind.choices,
            "next": _queue_url(status, kind),
        },
        status=http_status,
    )


@require_GET
@seller_view(Role.STAFF)
def requests_queue(request):
    return _queue(
        request, valid_status(request.GET.get("status", "")), valid_kind(request.GET.get("kind", ""))
    )


def _back(request) -> str:
    """Where the answer came from (the queue or the order page); only this site's own pages."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return _queue_url()


@require_POST
@seller_view(Role.STAFF)
def decide(request, pk: int):
    buyer_request = request_for_shop(request.shop, pk)
    decision = DecisionForm(request.POST)
    if not decision.is_valid():
        return HttpResponseBadRequest(_("Choose to approve or to decline."))
    back = _back(request)
    by = Actor.seller(request.user)
    number = buyer_request.order.number
    version = decision.cleaned_data["version"]
    try:
        if decision.cleaned_data["decision"] == "approve":
            decided = approve_request(
                pk,
                shop=request.shop,
                by=by,
                expected_version=version,
                drop_coupon_if_invalid=decision.cleaned_data["drop_coupon"],
            )
            if decided.status == RequestStatus.APPROVED:
                messages.success(
                    request,
                    _("Request for order %(number)s approved; the buyer is told.") % {"number": number},
                )
            else:
                messages.warning(
                    request,
                    _(
                        "The request for order %(number)s could not be granted; the buyer is told why. "
                        "Reason: %(reason)s"
                    )
                    % {"number": number, "reason": decided.decline_reason},
                )
        else:
            form = decline_form(buyer_request, request.POST)
            if not form.is_valid():
                if back.startswith(reverse("dashboard:requests")):
                    return _queue(
                        request,
                        RequestStatus.OPEN,
                        "",
                        bound=(buyer_request.pk, form),
                        http_status=422,
                    )
                messages.error(request, _("Say why the request is declined; the buyer will read it."))
                return HttpResponseRedirect(back)
            decline_request(
                pk, shop=request.shop, reason=form.cleaned_data["reason"], by=by, expected_version=version
            )
            messages.success(
                request, _("Request for order %(number)s declined; the buyer is told.") % {"number": number}
            )
    except ShipshapeError as error:
        messages.error(request, error.message)
    return HttpResponseRedirect(back)


urlpatterns = [
    path("requests/", requests_queue, name="requests"),
    path("requests/<int:pk>/decide/", decide, name="request_decide"),
]
