"""``manage.py import_orders``: the summary it prints, what --dry-run leaves alone, and its exit codes."""

import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from orders.imports import samples
from orders.models import ImportState, Notification, Order, OrderImport

from .test_applying import tiktok_row, write_tiktok

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def run(*args) -> str:
    out = StringIO()
    call_command("import_orders", *args, stdout=out)
    return out.getvalue()


def mixed_file(tmp_path) -> Path:
    return write_tiktok(
        tmp_path / "All order.csv",
        [
            tiktok_row("1001"),
            tiktok_row("1002", "En tránsito", ""),
            tiktok_row("1003", quantity=1),
            {**tiktok_row("1003"), "Quantity": "lots"},
        ],
    )


def test_dry_run_prints_what_would_happen_and_writes_no_order(shop, tmp_path):
    output = run("--shop", shop.slug, "--dry-run", str(mixed_file(tmp_path)))

    assert "nothing was written" in output
    assert "1 order would be created" in output
    assert "2 orders rejected" in output
    assert "row 3, order 1002: Unknown status “En tránsito”" in output
    assert "rows 4–5, order 1003:" in output and "(row 5, column Quantity)" in output
    assert "Unknown statuses: “En tránsito”" in output
    assert not Order.objects.exists()
    assert OrderImport.objects.get().state == ImportState.PREVIEWED


def test_an_import_prints_the_summary_with_the_rejected_rows(shop, tmp_path):
    output = run("--shop", shop.slug, str(mixed_file(tmp_path)))

    assert f"Imported All order.csv (TikTok Shop orders export, 4 rows) into {shop.name}." in output
    assert "1 order created" in output
    assert "0 orders updated" in output and "0 orders unchanged" in output
    assert "2 orders rejected" in output
    assert "row 3, order 1002" in output
    assert Order.objects.for_shop(shop).count() == 1
    assert OrderImport.objects.get().state == ImportState.DONE
    assert not Notification.objects.exists()

    again = run("--shop", shop.slug, str(mixed_file(tmp_path)))
    assert "1 order unchanged" in again and "0 orders created" in again


def test_a_sample_export_of_every_state_imports(shop, tmp_path):
    summary = samples.write_shopify_csv(tmp_path / "orders_export_1.csv", orders=30, seed=4)

    output = run("--shop", shop.slug, "--format", "shopify", str(tmp_path / "orders_export_1.csv"))

    assert f"{summary.orders} orders created" in output
    assert Order.objects.for_shop(shop).count() == summary.orders


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"Colour,Size\nred,M\n", "Shopify or TikTok"),
    ],
)
def test_a_whole_file_error_is_a_command_error(shop, tmp_path, content, message):
    path = tmp_path / "orders.csv"
    path.write_bytes(content)
    with pytest.raises(CommandError, match=message):
        run("--shop", shop.slug, str(path))
    assert not Order.objects.exists()


def test_unknown_shop_and_missing_file_are_errors(shop, tmp_path):
    with pytest.raises(CommandError, match="no shop"):
        run("--shop", "nope", str(mixed_file(tmp_path)))
    with pytest.raises(CommandError, match="no file"):
        run("--shop", shop.slug, str(tmp_path / "missing.csv"))


def test_the_exit_code_is_not_zero_on_a_whole_file_error(tmp_path):
    """The real command line: a CommandError exits with 1 (no database needed to refuse a missing file)."""
    result = subprocess.run(
        [sys.executable, "manage.py", "import_orders", "--shop", "any", str(tmp_path / "missing.csv")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
