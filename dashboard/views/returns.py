"""Dashboard: the returns queue. Staff mark parcels received; managers and owners approve, reject, refund."""

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from orders.errors import InvalidInput, ShipshapeError
from orders.models import ReturnStatus
from orders.services import Actor, approve_return, receive_return, refund_return, reject_return
from orders.services.returns import suggested_refund
from shop.models import Role

from ..access import can, seller_view
from ..forms.returns import RefundReturnForm, RejectReturnForm
from ..selectors.returns import RETURN_TABS, return_counts, return_for_shop, return_queue

QUEUE = "dashboard/returns/queue.html"


def _refund_form(return_request, data=None) -> RefundReturnForm:
    order = return_request.order
    return RefundReturnForm(
        data,
        initial={"amount": suggested_refund(return_request)},
        refundable=order.total - order.refunded_total,
        currency=order.currency,
    )


def _tab_url(status: str) -> str:
    return f"{reverse('dashboard:returns')}?status={status}"


def _queue(request, status: str, *, bound=None, http_status: int = 200):
    """The queue of one tab; ``bound`` = (return id, form name, form) shows a form again with its errors."""
    returns = return_queue(request.shop, status)
    manage = can(request, Role.MANAGER)
    for return_request in returns:
        if manage and status == ReturnStatus.REQUESTED:
            return_request.reject_form = RejectReturnForm(auto_id=f"id_r{return_request.pk}_%s")
        if manage and status == ReturnStatus.RECEIVED:
            return_request.refund_form = _refund_form(return_request)
            return_request.refund_form.auto_id = f"id_r{return_request.pk}_%s"
        if bound and bound[0] == return_request.pk:
            setattr(return_request, bound[1], bound[2])
    counts = return_counts(request.shop)
    tabs = [
        {"status": tab, "label": ReturnStatus(tab).label, "count": counts[tab], "current": tab == status}
        for tab in RETURN_TABS
    ]
    return render(
        request,
        QUEUE,
        {
            "returns": returns,
            "tabs": tabs,
            "status": status,
            "status_label": ReturnStatus(status).label,
            "shown": len(returns),
            "total": counts[status],
        },
        status=http_status,
    )


@require_GET
@seller_view(Role.STAFF)
def returns_queue(request):
    status = request.GET.get("status") or ReturnStatus.REQUESTED
    if status not in RETURN_TABS:
        status = ReturnStatus.REQUESTED
    return _queue(request, status)


def _decide(request, pk: int, change, *, done: str, form=None, form_name: str = ""):
    """Run one change on one return: the tab it was in on success or refusal, the form again on errors."""
    return_request = return_for_shop(request.shop, pk)
    tab = return_request.status
    if form is not None:
        form = form(return_request)
        if not form.is_valid():
            return _queue(request, tab, bound=(return_request.pk, form_name, form), http_status=422)
    try:
        change(return_request, form.cleaned_data if form is not None else {})
    except InvalidInput as error:
        if form is not None and error.field in form.fields:
            form.add_error(error.field, error.message)
            return _queue(request, tab, bound=(return_request.pk, form_name, form), http_status=422)
        messages.error(request, error.message)
    except ShipshapeError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done % {"number": return_request.order.number})
    return HttpResponseRedirect(_tab_url(tab))


@require_POST
@seller_view(Role.MANAGER)
def approve(request, pk: int):
    return _decide(
        request,
        pk,
        lambda r, _data: approve_return(r, by=Actor.seller(request.user)),
        done=_("Return for order %(number)s approved."),
    )


@require_POST
@seller_view(Role.MANAGER)
def reject(request, pk: int):
    return _decide(
        request,
        pk,
        lambda r, data: reject_return(r, reason=data["reason"], by=Actor.seller(request.user)),
        done=_("Return for order %(number)s rejected."),
        form=lambda r: RejectReturnForm(request.POST, auto_id=f"id_r{r.pk}_%s"),
        form_name="reject_form",
    )


@require_POST
@seller_view(Role.STAFF)
def receive(request, pk: int):
    return _decide(
        request,
        pk,
        lambda r, _data: receive_return(r, by=Actor.seller(request.user)),
        done=_("Return for order %(number)s marked received."),
    )


@require_POST
@seller_view(Role.MANAGER)
def refund(request, pk: int):
    def refund_form(return_request):
        form = _refund_form(return_request, request.POST)
        form.auto_id = f"id_r{return_request.pk}_%s"
        return form

    return _decide(
        request,
        pk,
        lambda r, data: refund_return(r, amount=data["amount"], by=Actor.seller(request.user)),
        done=_("Return for order %(number)s refunded."),
        form=refund_form,
        form_name="refund_form",
    )


urlpatterns = [
    path("returns/", returns_queue, name="returns"),
    path("returns/<int:pk>/approve/", approve, name="return_approve"),
    path("returns/<int:pk>/reject/", reject, name="return_reject"),
    path("returns/<int:pk>/receive/", receive, name="return_receive"),
    path("returns/<int:pk>/refund/", refund, name="return_refund"),
]
