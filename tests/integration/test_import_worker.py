"""An import end to end on a real Celery worker and a real Redis: the check and the apply run in the worker
process, the progress on the import row moves to the end, and no buyer is emailed about history."""

import pytest

from orders.imports import applying, samples, tasks
from orders.models import ImportState, Notification, Order, OrderImport
from tests.factories import MembershipFactory, ShopFactory

from .conftest import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def state_of(order_import) -> OrderImport:
    return OrderImport.objects.get(pk=order_import.pk)


def test_a_worker_checks_then_applies_an_export_with_progress(
    shared_redis, publishing, start_worker, tmp_path, settings
):
    settings.MEDIA_ROOT = tmp_path / "media"  # the worker reads the same directory (VAR_DIR below)
    shop = ShopFactory(name="Harbour Knits", slug="harbour-knits")
    owner = MembershipFactory(shop=shop).user
    path = tmp_path / "All order.csv"
    summary = samples.write_tiktok_csv(path, rows=1500, seed=21)
    with open(path, "rb") as upload:
        order_import = applying.receive_file(shop, upload, name=path.name, size=path.stat().st_size, by=owner)
    publishing.use(shared_redis)
    worker = start_worker(shared_redis, VAR_DIR=str(tmp_path))

    tasks.start_preview(order_import)

    assert wait_until(lambda: state_of(order_import).state == ImportState.PREVIEWED, timeout=120), state_of(
        order_import
    ).error
    checked = state_of(order_import)
    assert checked.rows_done == checked.rows_total == summary.rows
    assert checked.orders_new == summary.orders and checked.items.count() == summary.orders
    assert not Order.objects.exists()

    seen_rows = set()

    def done() -> bool:
        current = state_of(order_import)
        seen_rows.add(current.rows_done)
        return current.state == ImportState.DONE

    tasks.start_apply(checked, by=owner)

    assert wait_until(done, timeout=180, interval=0.05), state_of(order_import).error
    finished = state_of(order_import)
    assert finished.rows_done == finished.rows_total == summary.rows and finished.percent_done == 100
    assert finished.orders_new == summary.orders == Order.objects.for_shop(shop).count()
    assert finished.finished_at >= finished.started_at
    assert max(seen_rows) == summary.rows
    assert not Notification.objects.filter(channel="email").exists()

    # The tasks delivered again (acks_late) do nothing the second time: the worker answers "skipped".
    tasks.apply_import_task.apply_async(args=[order_import.pk, owner.pk])
    tasks.preview_import_task.apply_async(args=[order_import.pk])
    assert wait_until(lambda: worker.log_path.read_text().count("'skipped'") >= 2, timeout=60)
    assert state_of(order_import).state == ImportState.DONE
    assert Order.objects.for_shop(shop).count() == summary.orders
