""" "Change an item" on the tracking page: the shop's policy in plain words, the buyer's request, its answer.

``modification_card`` gives ``tracking/modification/_card.html`` what to show, from what the page already
read (the order with its shop and lines, the buyer's requests): no query of its own. The form is offered
only within the shop's policy (``modification_policy``) and while no request waits for the seller; outside
it the card says why and points to the message form. ``request_item_change`` is the form's POST, built
like the other buyer actions (``actions.buyer_action``): a redirect with a message on success, the page
again with the error beside the field and the typed input kept otherwise.
"""

from dataclasses import dataclass
from datetime import datetime

from django.contrib import messages
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.errors import ShipshapeError
from orders.models import BuyerRequest, Order, RequestKind, RequestStatus
from orders.services.modifications import ModificationPolicy, modification_policy, request_modification
from orders.states import OrderStatus

from .actions import BUYER, _focus_first_error, _page_url, _render_page, _see_other, buyer_action
from .forms import ItemChangeForm, MessageForm
from .views import buyer_zone

FORM_KEY = "modification"
ANCHOR = "actions-modification"
# Where the card shows even without a request to show: items can change (pending), or have just stopped
# changing and the buyer may still wonder (processed).
POLICY_SHOWN_STATUSES = (OrderStatus.PENDING, OrderStatus.PROCESSED)


@dataclass
class ModificationCard:
    policy: ModificationPolicy
    latest: BuyerRequest | None = None  # the buyer's latest item change request (open or answered)
    form: ItemChangeForm | None = None

    @property
    def waiting(self) -> bool:
        return self.latest is not None and self.latest.status == RequestStatus.OPEN

    @property
    def latest_changes(self) -> list[tuple[str, str]]:
        """What the latest request asks, item by item: (as it was, as asked), in words."""
        if self.latest is None:
            return []
        return [
            (_item_words(change["name"], **change["before"]), _item_words(change["name"], **change["after"]))
            for change in self.latest.payload.get("changes", [])
        ]

    @property
    def fresh_until(self) -> datetime | None:
        """When the card stops being true by itself (the window closes): a cached page must not outlive it."""
        return self.policy.deadline if self.policy.allowed else None


def modification_card(order: Order, requests: list[BuyerRequest], *, bound=None) -> ModificationCard | None:
    """The card for ``order`` (its shop and lines loaded) given the requests the page lists, newest first;
    None where there is nothing to say (an order past processing with no item change request).

    The policy's times are in the current time zone: the page renders under the buyer's."""
    latest = next((r for r in requests if r.kind == RequestKind.MODIFICATION), None)
    if latest is None and order.status not in POLICY_SHOWN_STATUSES:
        return None
    card = ModificationCard(
        policy=modification_policy(order, zone=timezone.get_current_timezone()), latest=latest
    )
    if card.policy.allowed and not card.waiting:
        card.form = bound or ItemChangeForm(order_lines=order.lines.all())
    return card


@buyer_action
def request_item_change(request, order: Order):
    """Send the buyer's item change to the seller; while one waits, a new one replaces it (the service's
    rule), which only a page opened before the first was sent can do."""
    form = ItemChangeForm(request.POST, order_lines=order.lines.all())
    forms, refusal = {}, ""
    if form.is_valid():
        changes = form.changes()
        waiting = BuyerRequest.objects.filter(
            order=order, kind=RequestKind.MODIFICATION, status=RequestStatus.OPEN
        ).exists()
        try:
            request_modification(order, changes=changes, message=form.cleaned_data["message"], by=BUYER)
        except ShipshapeError as error:
            if getattr(error, "code", "").startswith("modification_"):
                # The policy says no now (the order was processed meanwhile, the window closed): the page
                # shows the order as it is, and what the buyer asked waits in the message form.
                refusal = _(
                    "Your item change could not be sent: %(reason)s What you asked is copied into the "
                    "message form below; send it to the seller if you wish."
                ) % {"reason": policy_refusal(request, order) or error.message}
                forms["message"] = MessageForm(initial={"text": written_request(form, changes)})
            else:
                form.add_error(form.field_for(getattr(error, "field", "") or "", changes), error.message)
        else:
            messages.success(
                request,
                _("Your item change request was updated. The seller will see the new one.")
                if waiting
                else _("Your item change request was sent to the seller. We will email you their answer."),
            )
            return _see_other(_page_url(order, ANCHOR))
    if form.errors:
        _focus_first_error(form)
        forms[FORM_KEY] = form
        # A mistake in a form the policy no longer allows: the form is not on the page any more, say why.
        refusal = policy_refusal(request, order)
    return _render_page(request, order, forms, refusal=refusal)


def policy_refusal(request, order: Order) -> str:
    """The policy's reason, in the buyer's zone, when it does not allow a change now; else ""."""
    order.refresh_from_db(fields=["status"])
    policy = modification_policy(order, zone=buyer_zone(request, order.shop.timezone))
    return "" if policy.allowed else policy.reason


def _item_words(name: str, *, variant: str, quantity: int) -> str:
    if variant:
        return _("%(quantity)s × %(item)s (%(variant)s)") % {
            "quantity": quantity,
            "item": name,
            "variant": variant,
        }
    return _("%(quantity)s × %(item)s") % {"quantity": quantity, "item": name}


def written_request(form: ItemChangeForm, changes: list[dict]) -> str:
    """The buyer's item change in words, to send as a message when the form can no longer be sent."""
    lines = {line.pk: line for line in form.order_lines}
    asked = []
    for change in changes:
        line = lines[change["line_id"]]
        variant = change.get("variant", line.variant)
        quantity = change.get("quantity", line.quantity)
        asked.append(_item_words(line.name, variant=variant, quantity=quantity))
    text = _("Could I change my items to: %(items)s?") % {"items": "; ".join(asked)}
    note = form.cleaned_data.get("message", "")
    return f"{text}\n{note}" if note else text


urlpatterns = [
    path("<str:token>/item-change/", request_item_change, name="item_change"),
]
