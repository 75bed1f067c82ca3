"""Dashboard: editing the items of a pending order (issue 9, the seller's side).

A page of its own, in two steps, that works without JavaScript:

1. **Edit**: one row per line (variant, quantity, remove) and empty rows to add items. "Review the change"
   checks the input and shows step 2; nothing is saved yet.
2. **Review**: the old and the new total, the difference the buyer owes or is due, and, when the coupon stops
   applying, why, with the choice to take it off. "Apply change" saves it through
   ``orders.services.modifications.seller_modify_lines`` (totals, coupon, timeline, the buyer's email).

The review is the real service run inside a savepoint that is rolled back, so the figures shown are the ones
"Apply change" will produce, from the same rules, with nothing written or sent. Every POST carries the
order's version: a stale form is refused with the order as it is now, and the seller's input is kept.
"""

from django.contrib import messages
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from orders.errors import CouponRejected, InvalidInput, StaleVersion
from orders.services import Actor
from orders.services.modifications import LinesChange, seller_modify_lines
from orders.states import OrderStatus
from shop.models import Role
from shop.templatetags.money import format_money

from ..access import seller_view
from ..forms.order_lines import ItemsForm
from ..selectors.order_detail import order_for_action

PAGE = "dashboard/order/lines.html"
# Editing items is order work: the role that may process, ship or cancel an order may change its items.
EDIT_ITEMS_ROLE = Role.STAFF


class _Previewed(Exception):
    """Carries the result of a dry run out of the savepoint it rolls back."""

    def __init__(self, change: LinesChange):
        super().__init__()
        self.change = change


def preview_change(order, form: ItemsForm, *, by: Actor, drop_coupon: bool) -> LinesChange:
    """What applying the form would do, from the service itself, with every write rolled back."""
    try:
        with transaction.atomic():
            raise _Previewed(
                seller_modify_lines(
                    order,
                    lines=form.line_specs(),
                    by=by,
                    expected_version=form.version,
                    drop_coupon_if_invalid=drop_coupon,
                )
            )
    except _Previewed as previewed:
        return previewed.change


def _render(request, order, form: ItemsForm, *, step: str = "edit", status: int = 200, **extra):
    context = {
        "order": order,
        "form": form,
        "step": step,
        "editable": order.status == OrderStatus.PENDING,
        **extra,
    }
    return render(request, PAGE, context, status=status)


def _refused(request, order, form: ItemsForm, error) -> HttpResponse:
    """A refusal from the service, shown in the editor with the seller's input kept."""
    if isinstance(error, StaleVersion):
        fresh = order_for_action(request.shop, order.number)
        form = ItemsForm.refreshed(fresh, form.change.data)
        form.is_valid()
        if fresh.status != OrderStatus.PENDING:
            return _not_pending(request, fresh, form)
        form.errors.insert(0, error.message)
        return _render(request, fresh, form, status=409, stale=True)
    if getattr(error, "code", "") == "not_pending":
        return _not_pending(request, order, form)
    form.add_service_error(getattr(error, "field", None), error.message)
    return _render(request, order, form, status=422)


def _not_pending(request, order, form: ItemsForm):
    form.errors.insert(
        0,
        _(
            "Order %(number)s has the status “%(status)s” now, so its items can no longer change: items "
            "change only while the order is pending."
        )
        % {"number": order.number, "status": order.get_status_display()},
    )
    return _render(request, order, form, status=409)


def _settlement_text(change: LinesChange, currency: str) -> str:
    amount = format_money(change.amount, currency)
    if change.settlement == "to_pay":
        return _("The buyer owes %(amount)s more.") % {"amount": amount}
    if change.settlement == "to_refund":
        return _("Refund %(amount)s to the buyer.") % {"amount": amount}
    return _("The total is the same; nothing to settle.")


def _review(request, order, form: ItemsForm):
    by = Actor.seller(request.user)
    coupon_problem = None
    try:
        try:
            change = preview_change(order, form, by=by, drop_coupon=False)
        except CouponRejected as rejected:
            coupon_problem = rejected.message
            change = preview_change(order, form, by=by, drop_coupon=True)
    except (StaleVersion, InvalidInput) as error:
        return _refused(request, order, form, error)
    return _render(
        request,
        order,
        form,
        step="review",
        change=change,
        settlement=_settlement_text(change, order.currency),
        coupon_problem=coupon_problem,
    )


def _apply(request, order, form: ItemsForm):
    try:
        change = seller_modify_lines(
            order,
            lines=form.line_specs(),
            by=Actor.seller(request.user),
            expected_version=form.version,
            drop_coupon_if_invalid=form.drop_coupon,
        )
    except CouponRejected as rejected:
        # Reviewed with the coupon explained, but its removal was not ticked: ask again, beside the box.
        form.change.add_error("drop_coupon", _("Tick this box to apply the change without the coupon."))
        change = preview_change(order, form, by=Actor.seller(request.user), drop_coupon=True)
        return _render(
            request,
            order,
            form,
            step="review",
            status=422,
            change=change,
            settlement=_settlement_text(change, order.currency),
            coupon_problem=rejected.message,
        )
    except (StaleVersion, InvalidInput) as error:
        return _refused(request, order, form, error)
    done = _("Items of order %(number)s changed; the buyer is told by email.") % {"number": order.number}
    if change.dropped_coupon:
        done += " " + _("The coupon %(code)s was taken off.") % {"code": change.dropped_coupon}
    messages.success(request, f"{done} {_settlement_text(change, order.currency)}")
    return redirect("dashboard:order", number=order.number)


@require_http_methods(["GET", "POST"])
@seller_view(EDIT_ITEMS_ROLE)
def edit_items(request, number: str):
    order = order_for_action(request.shop, number)
    if request.method == "GET":
        if order.status != OrderStatus.PENDING:
            messages.error(request, _("Items can only change while the order is pending."))
            return redirect("dashboard:order", number=number)
        return _render(request, order, ItemsForm(order))

    form = ItemsForm(order, request.POST)
    valid = form.is_valid()
    if order.status != OrderStatus.PENDING:
        return _not_pending(request, order, form)
    if "edit" in request.POST:  # back from the review to change the items, with what was typed
        return _render(request, order, form)
    if not valid:
        return _render(request, order, form, status=422)
    if "apply" in request.POST:
        return _apply(request, order, form)
    return _review(request, order, form)


urlpatterns = [
    path("orders/<str:number>/items/", edit_items, name="order_items"),
]
