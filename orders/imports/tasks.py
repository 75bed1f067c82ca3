"""The import's Celery tasks: check the file (preview), then apply it, with progress on the import row.

Each task takes ids, reloads and calls ``applying``; both are safe to run twice: a preview runs only while
its import is ``previewing``, an apply only while ``applying`` (a done import is never applied again, and a
re-delivered apply goes on after the last committed chunk). ``start_preview`` / ``start_apply`` set the
state and publish after the commit; the dashboard and the API call them.
"""

import logging
import uuid

from celery import shared_task
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import ImportState, OrderImport
from . import applying

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def preview_import_task(import_id: int) -> str:
    order_import = OrderImport.objects.select_related("shop").filter(pk=import_id).first()
    if order_import is None or order_import.state != ImportState.PREVIEWING:
        return "skipped"
    return applying.preview(order_import).state


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def apply_import_task(import_id: int, user_id: int | None = None) -> str:
    order_import = OrderImport.objects.select_related("shop").filter(pk=import_id).first()
    if order_import is None or order_import.state != ImportState.APPLYING:
        return "skipped"
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    return applying.apply(order_import, by=user).state


def _publish(task, order_import: OrderImport, *args) -> None:
    try:
        task.apply_async(args=[order_import.pk, *args], task_id=order_import.task_id, retry=False)
    except Exception:
        logger.warning("Could not queue import %s", order_import.pk, exc_info=True)
        OrderImport.objects.filter(pk=order_import.pk, task_id=order_import.task_id).update(
            state=ImportState.FAILED, error=_("The import could not be started; try again in a minute.")
        )


def start_preview(order_import: OrderImport) -> OrderImport:
    """Check (or check again, after a status was mapped) the file in the background."""
    with transaction.atomic():
        locked = OrderImport.objects.select_for_update().get(pk=order_import.pk)
        if locked.state in (ImportState.APPLYING, ImportState.DONE):
            raise applying.ImportRefused(
                _("This import is already applied; upload the file again to check it again."),
                code="import_already_applied",
                state=locked.state,
            )
        locked.state, locked.error, locked.rows_done = ImportState.PREVIEWING, "", 0
        locked.task_id = str(uuid.uuid4())
        locked.save(update_fields=["state", "error", "rows_done", "task_id"])
        transaction.on_commit(lambda: _publish(preview_import_task, locked))
    return locked


def start_apply(order_import: OrderImport, by=None) -> OrderImport:
    """Apply a checked import in the background; refused unless it is checked and every status is known."""
    with transaction.atomic():
        locked = OrderImport.objects.select_for_update().get(pk=order_import.pk)
        if locked.state != ImportState.PREVIEWED:
            raise applying.ImportRefused(
                _("Only a checked import can be applied; the state of this one is “%(state)s”.")
                % {"state": locked.get_state_display()},
                code="import_not_previewed",
                state=locked.state,
            )
        unknown = applying.unknown_status_texts(locked)
        if unknown:
            raise applying.ImportRefused(
                _("Say what these statuses mean first: %(texts)s.") % {"texts": ", ".join(unknown)},
                code="unknown_status_texts",
                status_texts=unknown,
            )
        # The preview's items give way to what applying does; from now on every item is an applied one, so
        # a re-delivered task knows where to go on.
        locked.items.all().delete()
        locked.state, locked.task_id = ImportState.APPLYING, str(uuid.uuid4())
        locked.started_at, locked.finished_at, locked.rows_done = timezone.now(), None, 0
        locked.save(update_fields=["state", "task_id", "started_at", "finished_at", "rows_done"])
        user_id = by.pk if getattr(by, "pk", None) else None
        transaction.on_commit(lambda: _publish(apply_import_task, locked, user_id))
    return locked
