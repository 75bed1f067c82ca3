"""Buyer self-service on the tracking page: address changes, cancelling, returns, messages, feedback.

``page_context`` gives the order page (``views.order_page``) what ``tracking/_actions.html`` shows: only the
forms the order's state allows. Each action is a plain form POSTed to ``/track/<token>/<action>/``: on
success it redirects back to the page with a message; on a mistake (the form's or a service's refusal) it
renders the page again with the error beside the field and the typed input kept.
"""

from collections import Counter
from dataclasses import dataclass, field

from django.contrib import messages
from django.db.models import Prefetch
from django.http import Http404, HttpResponseRedirect
from django.middleware.csrf import CsrfViewMiddleware, RejectRequest
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone, translation
from django.utils.decorators import decorator_from_middleware
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from orders.errors import ShipshapeError
from orders.models import (
    BuyerRequest,
    EventKind,
    Feedback,
    Order,
    OrderEvent,
    RequestKind,
    RequestStatus,
    Return,
    ReturnLine,
)
from orders.models.returns import OPEN_OR_DONE_RETURN_STATES
from orders.services import (
    Actor,
    leave_feedback,
    post_buyer_message,
    request_address_change,
    request_cancellation,
    request_return,
    set_return_tracking_number,
)
from orders.services.buyer import RETURNS_AWAITING_PARCEL, return_window_closes_at
from orders.states import OrderStatus, PaymentStatus

from . import form_tokens
from .forms import AddressChangeForm, CancelForm, FeedbackForm, MessageForm, ReturnForm, ReturnTrackingForm
from .lookup import Limit, count_attempt, minutes
from .privacy import private_page

BUYER = Actor.buyer()
THREAD_LIMIT = 200
# Actions per order and hour: plenty for a buyer, a stop for a script filling the seller's inbox.
ACTION_LIMIT = Limit("buyer-actions", 30, 3600)
# Request rows the page lists: the open ones, and answers from the seller (not the ones settled at once).
SHOWN_REQUEST_STATUSES = (RequestStatus.OPEN, RequestStatus.APPROVED, RequestStatus.DECLINED)


# --- What the page shows ----------------------------------------------------------------------------------


@dataclass
class ReturnCard:
    return_request: Return
    items: list[tuple[int, str]]
    tracking_form: ReturnTrackingForm | None


@dataclass
class BuyerActions:
    token: str
    requests: list[BuyerRequest] = field(default_factory=list)
    open_address_request: BuyerRequest | None = None
    open_cancellation_request: BuyerRequest | None = None
    address_form: AddressChangeForm | None = None
    address_closed: bool = False  # shipped: the address can no longer change (said plainly)
    cancel_form: CancelForm | None = None
    cancel_mode: str = ""  # "now" (pending) or "request" (processed)
    cancel_closed: bool = False  # shipped, not delivered yet: cancelling is over, a return comes later
    refund_on_cancel: bool = False
    returns: list[ReturnCard] = field(default_factory=list)
    return_form: ReturnForm | None = None
    return_window_closes_at: object = None
    return_window_closed: bool = False
    nothing_left_to_return: bool = False
    feedback: Feedback | None = None
    feedback_form: FeedbackForm | None = None
    thread: list[OrderEvent] = field(default_factory=list)
    message_form: MessageForm | None = None
    modification: object = None  # modification.ModificationCard, or None when there is nothing to say
    refusal: str = ""  # a failed action's refusal, when the page is shown again


def page_context(request, order) -> dict:
    """What the order page needs to show the buyer's actions (merged into the page's context).

    ``order`` comes from the page's selector with its lines and parcels (with their lines) prefetched. A
    failed action puts its bound forms on the request (``buyer_action_forms``) to show them again.
    Queries: requests, returns and their lines, the message thread, and the feedback once delivered.
    """
    actions = buyer_actions(order, bound=getattr(request, "buyer_action_forms", {}))
    actions.refusal = getattr(request, "buyer_action_refusal", "")
    return {"actions": actions, "form_token": form_tokens.for_order(order.public_token)}


def buyer_actions(order: Order, *, bound: dict | None = None, now=None) -> BuyerActions:
    bound = bound or {}
    now = now or timezone.now()
    actions = BuyerActions(token=order.public_token)
    requests = list(
        BuyerRequest.objects.filter(order=order, status__in=SHOWN_REQUEST_STATUSES)
        .exclude(status=RequestStatus.APPROVED, decided_by__isnull=True)
        .order_by("-created_at", "-id")
    )
    actions.requests = requests
    open_requests = {r.kind: r for r in requests if r.status == RequestStatus.OPEN}
    actions.open_address_request = open_requests.get(RequestKind.ADDRESS_CHANGE)
    actions.open_cancellation_request = open_requests.get(RequestKind.CANCELLATION)
    from .modification import modification_card  # that module builds on this one's actions

    actions.modification = modification_card(order, requests, bound=bound.get("modification"))

    shipped = has_shipped_prefetched(order)
    if order.status in (OrderStatus.PENDING, OrderStatus.PROCESSED) and not shipped:
        actions.address_form = bound.get("address") or AddressChangeForm()
        if not actions.open_cancellation_request:
            actions.cancel_form = bound.get("cancel") or CancelForm()
            actions.cancel_mode = "now" if order.status == OrderStatus.PENDING else "request"
            actions.refund_on_cancel = order.payment_status == PaymentStatus.PAID
    elif order.status in (OrderStatus.PROCESSED, OrderStatus.SHIPPED):
        actions.address_closed = actions.cancel_closed = True

    lines = {line.pk: line for line in order.lines.all()}
    returns = list(
        Return.objects.filter(order=order)
        .prefetch_related(Prefetch("lines", queryset=ReturnLine.objects.order_by("id")))
        .order_by("-requested_at", "-id")
    )
    held = Counter()
    for return_request in returns:
        if return_request.status in OPEN_OR_DONE_RETURN_STATES:
            for return_line in return_request.lines.all():
                held[return_line.order_line_id] += return_line.quantity
        awaiting = return_request.status in RETURNS_AWAITING_PARCEL
        key = f"tracking-{return_request.pk}"
        actions.returns.append(
            ReturnCard(
                return_request=return_request,
                items=[
                    (rl.quantity, _line_name(lines.get(rl.order_line_id)))
                    for rl in return_request.lines.all()
                ],
                tracking_form=(
                    bound.get(key)
                    or ReturnTrackingForm(
                        prefix=key, initial={"tracking_number": return_request.return_tracking_number}
                    )
                )
                if awaiting
                else None,
            )
        )

    if order.status == OrderStatus.DELIVERED:
        closes_at = return_window_closes_at(order)
        actions.return_window_closes_at = closes_at
        if now > closes_at:
            actions.return_window_closed = True
        else:
            in_parcels = shipped_quantities_prefetched(order)
            returnable = [
                (line, in_parcels[line.pk] - held[line.pk])
                for line in lines.values()
                if in_parcels[line.pk] - held[line.pk] > 0
            ]
            if returnable:
                actions.return_form = bound.get("return") or ReturnForm(returnable=returnable)
            else:
                actions.nothing_left_to_return = True

    if order.delivered_at is not None and order.status in (OrderStatus.DELIVERED, OrderStatus.RETURNED):
        actions.feedback = Feedback.objects.filter(order=order).first()
        if actions.feedback is None:
            actions.feedback_form = bound.get("feedback") or FeedbackForm()

    thread = (
        OrderEvent.objects.filter(
            order=order, kind__in=(EventKind.MESSAGE_FROM_BUYER, EventKind.MESSAGE_TO_BUYER)
        )
        .only("kind", "message", "data", "created_at", "order_id")
        .order_by("-created_at", "-id")[:THREAD_LIMIT]
    )
    actions.thread = list(reversed(thread))
    actions.message_form = bound.get("message") or MessageForm()
    return actions


def _line_name(line) -> str:
    if line is None:
        return ""
    return line.name + (f" ({line.variant})" if line.variant else "")


def has_shipped_prefetched(order: Order) -> bool:
    """``has_shipped`` on the page's prefetched parcels (no query)."""
    return order.status not in (OrderStatus.PENDING, OrderStatus.PROCESSED) or bool(order.shipments.all())


def shipped_quantities_prefetched(order: Order) -> Counter:
    """Units of each line in a parcel, from the page's prefetched parcels and their lines (no query)."""
    quantities = Counter()
    for shipment in order.shipments.all():
        for shipment_line in shipment.lines.all():
            quantities[shipment_line.order_line_id] += shipment_line.quantity
    return quantities


# --- The actions ------------------------------------------------------------------------------------------


def _order_for(token: str) -> Order:
    order = Order.objects.select_related("shop").filter(public_token=token).first()
    if order is None:
        raise Http404
    return order


def _page_url(order: Order, anchor: str) -> str:
    return reverse("tracking:order", args=[order.public_token]) + f"#{anchor}"


def _see_other(url: str) -> HttpResponseRedirect:
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response


def _field_at_fault(form, error: ShipshapeError) -> str | None:
    """The form field a service's refusal is about (``shipping_address.city`` → ``city``), if any."""
    name = (getattr(error, "field", None) or "").removeprefix("shipping_address.")
    return name if name in form.fields else None


def _render_page(request, order: Order, forms: dict, *, refusal: str = "", status: int = 422):
    """The order page again, with the failed form bound (never cached: it holds what the buyer typed).
    ``refusal``: a rule of the order's state said no; it is shown above the actions (the form it came from
    may no longer be on the page, e.g. the address form once the order has shipped)."""
    from . import selectors
    from .views import buyer_zone

    request.buyer_action_forms = forms
    request.buyer_action_refusal = refusal
    zone = buyer_zone(request, order.shop.timezone)
    with timezone.override(zone):
        page = selectors.tracking_page(order.pk, zone=zone)
        context = {
            "page": page,
            "order": page.order,
            "shop": page.order.shop,
            "zone_name": zone.key,
            **page_context(request, page.order),
        }
        return render(request, "tracking/order.html", context, status=status)


def _act(request, order: Order, *, key: str, form, perform, anchor: str):
    """Validate, call the service, and redirect with its message; or show the page again with the error."""
    refusal = ""
    if form.is_valid():
        try:
            message = perform(form)
        except ShipshapeError as error:
            if field_name := _field_at_fault(form, error):
                form.add_error(field_name, error.message)
            else:
                refusal = error.message
        else:
            messages.success(request, message)
            return _see_other(_page_url(order, anchor))
    if form.errors:
        _focus_first_error(form)
    return _render_page(request, order, {key: form}, refusal=refusal)


def _focus_first_error(form) -> None:
    """The page comes back scrolled to the top: focusing the first field at fault brings the buyer to it
    (and a screen reader announces it) without any script."""
    name = next((name for name in form.fields if name in form.errors), None) or next(iter(form.fields))
    form.fields[name].widget.attrs["autofocus"] = True


class BuyerFormCsrf(CsrfViewMiddleware):
    """CSRF protection for forms on pages sent with ``Referrer-Policy: no-referrer``.

    Under that policy browsers post the page's forms with ``Origin: null`` and no Referer, which Django's
    check refuses (and, over HTTPS, a missing Referer too). The token is still checked as always; the origin
    is taken from the browser's ``Sec-Fetch-Site`` instead: a post from another site or from plain HTTP says
    ``cross-site`` or ``same-site`` and is refused. A browser too old to send it is judged on the token.
    """

    def _same_origin_by_fetch_metadata(self, request) -> bool:
        return request.META.get("HTTP_SEC_FETCH_SITE", "same-origin") == "same-origin"

    def _origin_verified(self, request) -> bool:
        if request.META.get("HTTP_ORIGIN") == "null":
            return self._same_origin_by_fetch_metadata(request)
        return super()._origin_verified(request)

    def _check_referer(self, request) -> None:
        if not request.META.get("HTTP_REFERER"):
            if not self._same_origin_by_fetch_metadata(request):
                raise RejectRequest("Sec-Fetch-Site is not same-origin and no Referer was sent.")
            return
        super()._check_referer(request)


buyer_csrf_protect = decorator_from_middleware(BuyerFormCsrf)


class OrderFormCsrf(BuyerFormCsrf):
    """The order page's forms: the same origin checks, and the token bound to the order's link
    (``form_tokens``) in place of the cookie's."""

    def _check_token(self, request) -> None:
        link = (request.resolver_match.kwargs if request.resolver_match else {}).get("token", "")
        if not form_tokens.is_valid(request.POST.get(form_tokens.FIELD, ""), link):
            raise RejectRequest("The order page's form token is missing or wrong.")


order_form_csrf_protect = decorator_from_middleware(OrderFormCsrf)


def buyer_action(view):
    """POST only, CSRF-checked, private headers, the order found by its token, the page in the order's
    language."""

    @csrf_exempt  # the site-wide check would refuse ``Origin: null``: ``OrderFormCsrf`` checks instead
    @private_page
    @order_form_csrf_protect
    @require_POST
    def wrapped(request, token: str, *args, **kwargs):
        from .views import page_language

        order = _order_for(token)
        with translation.override(page_language(order.language)):
            request.LANGUAGE_CODE = translation.get_language()
            if wait := count_attempt([(ACTION_LIMIT, order.public_token)]):
                refusal = ngettext(
                    "Too many requests from this page. Try again in %(minutes)s minute.",
                    "Too many requests from this page. Try again in %(minutes)s minutes.",
                    minutes(wait),
                ) % {"minutes": minutes(wait)}
                response = _render_page(request, order, {}, refusal=refusal, status=429)
                response["Retry-After"] = str(wait)
                return response
            return view(request, order, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


@buyer_action
def address_change(request, order: Order):
    def perform(form):
        buyer_request = request_address_change(
            order, address=form.address(), message=form.cleaned_data["message"], by=BUYER
        )
        if buyer_request.status == RequestStatus.APPROVED:
            return _("Your new address is saved.")
        return _("Your new address was sent to the seller. We will email you their answer.")

    return _act(
        request,
        order,
        key="address",
        form=AddressChangeForm(request.POST),
        perform=perform,
        anchor="actions-requests",
    )


@buyer_action
def cancel(request, order: Order):
    def perform(form):
        buyer_request = request_cancellation(order, reason=form.reason_text(), by=BUYER)
        if buyer_request.status == RequestStatus.APPROVED:
            return _("Your order is cancelled.")
        return _("Your request to cancel was sent to the seller. We will email you their answer.")

    return _act(
        request,
        order,
        key="cancel",
        form=CancelForm(request.POST),
        perform=perform,
        anchor="actions-requests",
    )


@buyer_action
def return_items(request, order: Order):
    context = buyer_actions(order_with_parcels(order))
    if context.return_form is None:
        # No form on the page any more (window closed, nothing left): the page explains why.
        message = (
            _("The return window of %(days)s days has closed.") % {"days": order.shop.return_window_days}
            if context.return_window_closed
            else _("This order cannot be returned.")
        )
        messages.error(request, message)
        return _see_other(_page_url(order, "actions-return"))
    form = ReturnForm(request.POST, returnable=context.return_form.returnable)

    def perform(form):
        request_return(order, lines=form.lines(), reason=form.reason_text(), by=BUYER)
        return _("Your return request was sent. Follow its progress below.")

    return _act(request, order, key="return", form=form, perform=perform, anchor="actions-return")


def order_with_parcels(order: Order) -> Order:
    """The order with the prefetch ``buyer_actions`` reads (lines, parcels and their lines)."""
    return Order.objects.select_related("shop").prefetch_related("lines", "shipments__lines").get(pk=order.pk)


@buyer_action
def return_tracking(request, order: Order, return_id: int):
    return_request = order.returns.filter(pk=return_id).first()
    if return_request is None:
        raise Http404
    key = f"tracking-{return_request.pk}"

    def perform(form):
        set_return_tracking_number(
            return_request, order=order, tracking_number=form.cleaned_data["tracking_number"], by=BUYER
        )
        return _("The tracking number of your return parcel is saved.")

    return _act(
        request,
        order,
        key=key,
        form=ReturnTrackingForm(request.POST, prefix=key),
        perform=perform,
        anchor=f"return-{return_request.pk}",
    )


@buyer_action
def message(request, order: Order):
    def perform(form):
        post_buyer_message(order, text=form.cleaned_data["text"], by=BUYER)
        return _("Your message was sent to the seller.")

    return _act(
        request,
        order,
        key="message",
        form=MessageForm(request.POST),
        perform=perform,
        anchor="actions-messages",
    )


@buyer_action
def feedback(request, order: Order):
    def perform(form):
        leave_feedback(
            order, rating=form.cleaned_data["rating"], comment=form.cleaned_data["comment"], by=BUYER
        )
        return _("Thank you for your feedback!")

    return _act(
        request,
        order,
        key="feedback",
        form=FeedbackForm(request.POST),
        perform=perform,
        anchor="actions-feedback",
    )


urlpatterns = [
    path("<str:token>/address/", address_change, name="address_change"),
    path("<str:token>/cancel/", cancel, name="cancel"),
    path("<str:token>/return/", return_items, name="return"),
    path("<str:token>/returns/<int:return_id>/tracking/", return_tracking, name="return_tracking"),
    path("<str:token>/messages/", message, name="message"),
    path("<str:token>/feedback/", feedback, name="feedback"),
]
