"""Dashboard: one order — what it holds, its timeline, and the actions its state allows.

Every action is a POST carrying the order's version. Without JavaScript a successful action redirects back to
the order page and a form with errors is shown again with what was typed; with htmx the order's main block
(``detail.html#detail``) is swapped in place, so the timeline and the offered actions refresh together.
"""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from orders.errors import InvalidInput, ShipshapeError, StaleVersion
from orders.services import (
    Actor,
    ParcelSpec,
    add_note,
    cancel_order,
    change_shipping_address,
    deliver_order,
    message_buyer,
    process_order,
    ship_order,
    update_checklist,
)
from shop.models import Role

from ..access import seller_view
from ..forms.order_detail import (
    AddressForm,
    CancelForm,
    ChecklistForm,
    DeliverForm,
    NoteForm,
    ProcessForm,
    ReplyForm,
    ShipForm,
)
from ..selectors.order_detail import (
    active_carriers,
    checklist_state,
    order_actions,
    order_for_action,
    order_for_detail,
    order_timeline,
    unshipped_lines,
)

DETAIL = "dashboard/order/detail.html"


def _ship_form(order, data=None) -> ShipForm:
    return ShipForm(
        data,
        initial={"version": order.version},
        order=order,
        lines_left=unshipped_lines(order),
        carriers=active_carriers(),
    )


def _context(order, **bound) -> dict:
    """The page's context; ``bound`` replaces a blank form with one that holds what was typed."""
    actions = order_actions(order)
    version = {"version": order.version}
    context = {
        "order": order,
        "timeline": order_timeline(order),
        "actions": actions,
        "checklist": checklist_state(order),
        "process_form": ProcessForm(initial=version),
        "deliver_form": DeliverForm(initial=version),
        "cancel_form": CancelForm(initial=version),
        "note_form": NoteForm(initial=version),
        "reply_form": ReplyForm(initial=version),
        "checklist_form": ChecklistForm.for_order(order),
        "ship_form": _ship_form(order) if actions.ship else None,
        "open_dialog": "",
    }
    context.update(bound)
    return context


def _fresh(request, number: str):
    """After an action (done or refused): the order as it is now."""
    if request.htmx:
        order = order_for_detail(request.shop, number)
        return render(request, f"{DETAIL}#detail", _context(order))
    return redirect("dashboard:order", number=number)


def _form_field(error_field: str | None, form) -> str | None:
    """The form field a service error points at: 'parcels.0.tracking_number' → 'tracking_number'."""
    if not error_field:
        return None
    name = error_field.rsplit(".", 1)[-1]
    return name if name in form.fields else None


def _perform(request, number: str, form, action, *, done: str, show_errors):
    """Validate, call the service, and answer: the fresh order on success or refusal, the form on errors."""
    if form.is_valid():
        try:
            action(form.cleaned_data)
        except (StaleVersion, InvalidInput) as error:
            field = _form_field(getattr(error, "field", None), form)
            if isinstance(error, StaleVersion) or (field is None and not form.fields.keys() - {"version"}):
                messages.error(request, error.message)
                return _fresh(request, number)
            form.add_error(field, error.message)
        except ShipshapeError as error:  # an illegal or blocked move: say why, show the order as it is
            messages.error(request, error.message)
            return _fresh(request, number)
        else:
            messages.success(request, done)
            return _fresh(request, number)
    return show_errors(form)


def _errors_on_page(request, number: str, form_name: str, dialog: str = ""):
    """Show a form again, with its errors, on the order page (in place with htmx)."""

    def show(form):
        order = order_for_detail(request.shop, number)
        context = _context(order, **{form_name: form}, open_dialog=dialog)
        if request.htmx:
            return render(request, f"{DETAIL}#detail", context)
        return render(request, DETAIL, context, status=422)

    return show


def _seller(request) -> Actor:
    return Actor.seller(request.user)


@require_GET
@seller_view(Role.STAFF)
def order_detail(request, number: str):
    order = order_for_detail(request.shop, number)
    return render(request, DETAIL, _context(order))


@require_POST
@seller_view(Role.STAFF)
def process(request, number: str):
    order = order_for_action(request.shop, number)
    return _perform(
        request,
        number,
        ProcessForm(request.POST),
        lambda data: process_order(order, by=_seller(request), expected_version=data["version"]),
        done=_("Order %(number)s is processed.") % {"number": number},
        show_errors=_errors_on_page(request, number, "process_form"),
    )


@require_POST
@seller_view(Role.STAFF)
def deliver(request, number: str):
    order = order_for_action(request.shop, number)
    return _perform(
        request,
        number,
        DeliverForm(request.POST),
        lambda data: deliver_order(order, by=_seller(request), expected_version=data["version"]),
        done=_("Order %(number)s is marked delivered.") % {"number": number},
        show_errors=_errors_on_page(request, number, "deliver_form"),
    )


@require_POST
@seller_view(Role.STAFF)
def cancel(request, number: str):
    order = order_for_action(request.shop, number)
    return _perform(
        request,
        number,
        CancelForm(request.POST),
        lambda data: cancel_order(
            order, reason=data["reason"], by=_seller(request), expected_version=data["version"]
        ),
        done=_("Order %(number)s is cancelled.") % {"number": number},
        show_errors=_errors_on_page(request, number, "cancel_form", dialog="cancel"),
    )


@require_POST
@seller_view(Role.STAFF)
def note(request, number: str):
    order = order_for_action(request.shop, number)
    # A note only adds to the timeline, so it is not refused when the order moved on meanwhile.
    return _perform(
        request,
        number,
        NoteForm(request.POST),
        lambda data: add_note(order, text=data["text"], by=_seller(request)),
        done=_("Note added."),
        show_errors=_errors_on_page(request, number, "note_form"),
    )


@require_POST
@seller_view(Role.STAFF)
def reply(request, number: str):
    order = order_for_action(request.shop, number)
    # Like a note, a message does not depend on the order's state; the version is not enforced.
    return _perform(
        request,
        number,
        ReplyForm(request.POST),
        lambda data: message_buyer(order, text=data["text"], by=_seller(request)),
        done=_("Message sent to the buyer."),
        show_errors=_errors_on_page(request, number, "reply_form"),
    )


@require_POST
@seller_view(Role.STAFF)
def checklist(request, number: str):
    order = order_for_action(request.shop, number)
    return _perform(
        request,
        number,
        ChecklistForm(request.POST),
        lambda data: update_checklist(
            order,
            picked=data["picked"],
            packed=data["packed"],
            address_verified=data["address_verified"],
            by=_seller(request),
            expected_version=data["version"],
        ),
        done=_("Checklist saved."),
        show_errors=_errors_on_page(request, number, "checklist_form"),
    )


@require_http_methods(["GET", "POST"])
@seller_view(Role.STAFF)
def ship(request, number: str):
    """The ship form: in a dialog on the order page, and on this page of its own without JavaScript."""
    order = order_for_detail(request.shop, number)
    if request.method == "GET":
        if not order_actions(order).ship:
            messages.error(request, _("This order cannot be shipped now."))
            return redirect("dashboard:order", number=number)
        return render(request, "dashboard/order/ship.html", {"order": order, "ship_form": _ship_form(order)})

    def ship_parcel(data):
        parcel = ParcelSpec(
            tracking_number=data["tracking_number"],
            carrier_code=data["carrier"],
            lines=data["quantities"] or None,
            no_tracking=data["no_tracking"],
        )
        ship_order(order, parcels=[parcel], by=_seller(request), expected_version=data["version"])

    def show_errors(form):
        if request.htmx:
            return _errors_on_page(request, number, "ship_form", dialog="ship")(form)
        return render(request, "dashboard/order/ship.html", {"order": order, "ship_form": form}, status=422)

    return _perform(
        request,
        number,
        _ship_form(order, request.POST),
        ship_parcel,
        done=_("Parcel shipped."),
        show_errors=show_errors,
    )


@require_http_methods(["GET", "POST"])
@seller_view(Role.STAFF)
def edit_address(request, number: str):
    order = order_for_detail(request.shop, number)
    if request.method == "GET":
        if not order_actions(order).edit_address:
            messages.error(request, _("The order has already shipped; its address can no longer change."))
            return redirect("dashboard:order", number=number)
        form = AddressForm.for_order(order)
        return render(request, "dashboard/order/address.html", {"order": order, "form": form})

    def show_errors(form):
        return render(request, "dashboard/order/address.html", {"order": order, "form": form}, status=422)

    return _perform(
        request,
        number,
        AddressForm(request.POST),
        lambda data: change_shipping_address(
            order, address=AddressForm.address(data), by=_seller(request), expected_version=data["version"]
        ),
        done=_("Shipping address changed."),
        show_errors=show_errors,
    )


urlpatterns = [
    path("orders/<str:number>/", order_detail, name="order"),
    path("orders/<str:number>/process/", process, name="order_process"),
    path("orders/<str:number>/ship/", ship, name="order_ship"),
    path("orders/<str:number>/deliver/", deliver, name="order_deliver"),
    path("orders/<str:number>/cancel/", cancel, name="order_cancel"),
    path("orders/<str:number>/address/", edit_address, name="order_address"),
    path("orders/<str:number>/note/", note, name="order_note"),
    path("orders/<str:number>/reply/", reply, name="order_reply"),
    path("orders/<str:number>/checklist/", checklist, name="order_checklist"),
]
