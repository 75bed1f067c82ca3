"""The fulfilment checklist: picked, packed, address verified. A shop may require it before shipping."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..errors import InvalidInput
from ..models import EventKind, Order
from ..states import NOT_YET_SHIPPED
from .changes import Actor, lock_order, record_event, save_change

# step name → the order's timestamp field, in the order the work is done.
CHECKLIST_STEPS = {
    "picked": "picked_at",
    "packed": "packed_at",
    "address_verified": "address_verified_at",
}
STEP_LABELS = {
    "picked": gettext_lazy("picked"),
    "packed": gettext_lazy("packed"),
    "address_verified": gettext_lazy("address verified"),
}


def missing_checklist_steps(order: Order) -> list[str]:
    """The steps not ticked yet, by name."""
    return [step for step, stamp in CHECKLIST_STEPS.items() if getattr(order, stamp) is None]


@transaction.atomic
def update_checklist(
    order: Order,
    *,
    picked: bool,
    packed: bool,
    address_verified: bool,
    by: Actor,
    expected_version: int | None = None,
) -> Order:
    """Tick or untick the steps while the order has not shipped. A ticked step keeps the time it was first
    ticked; the change is recorded on the timeline. Nothing changed records nothing."""
    order = lock_order(order, expected_version=expected_version)
    if order.status not in NOT_YET_SHIPPED:
        raise InvalidInput(
            _("The checklist can only change before the order ships."), field="checklist", code="closed"
        )
    wanted = {"picked": picked, "packed": packed, "address_verified": address_verified}
    now = timezone.now()
    changed = {}
    for step, stamp in CHECKLIST_STEPS.items():
        ticked = getattr(order, stamp) is not None
        if wanted[step] and not ticked:
            setattr(order, stamp, now)
            changed[step] = True
        elif not wanted[step] and ticked:
            setattr(order, stamp, None)
            changed[step] = False
    if not changed:
        return order
    save_change(order, [CHECKLIST_STEPS[step] for step in changed])
    done = [str(STEP_LABELS[step]) for step, value in changed.items() if value]
    undone = [str(STEP_LABELS[step]) for step, value in changed.items() if not value]
    parts = []
    if done:
        parts.append(_("Ticked: %(steps)s") % {"steps": ", ".join(done)})
    if undone:
        parts.append(_("Unticked: %(steps)s") % {"steps": ", ".join(undone)})
    record_event(
        order,
        EventKind.CHECKLIST,
        by=by,
        message="; ".join(parts),
        data={"changed": changed, "missing": missing_checklist_steps(order)},
    )
    return order


def checklist_refusal(order: Order) -> str | None:
    """Why the shop's checklist rule stops this order from shipping, or None."""
    if not order.shop.require_checklist:
        return None
    missing = missing_checklist_steps(order)
    if not missing:
        return None
    return _("This shop requires the fulfilment checklist before shipping; not done yet: %(steps)s.") % {
        "steps": ", ".join(str(STEP_LABELS[step]) for step in missing)
    }
