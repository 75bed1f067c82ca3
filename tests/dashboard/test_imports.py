"""Dashboard imports: upload a platform's orders file, preview it, map unknown statuses, apply, see the
result; wrong files and the size limit; the history; the tracking file back to the platform; shop and role
scoping."""

import csv
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from orders.models import ExternalOrderRef, Order
from orders.models.imports import (
    ImportSource,
    ImportState,
    ImportStatusMapping,
    ItemOutcome,
    OrderImport,
    OrderImportItem,
)
from orders.states import OrderStatus
from tests.factories import order_in

pytestmark = pytest.mark.django_db

TIKTOK_COLUMNS = [
    "Order ID", "Order Status", "Order Substatus", "Cancelation/Return Type", "SKU ID", "Seller SKU",
    "Product Name", "Variation", "Quantity", "Sku Quantity of return", "SKU Unit Original Price",
    "SKU Subtotal After Discount", "Shipping Fee After Discount", "Taxes", "Order Amount",
    "Order Refund Amount", "Created Time", "Paid Time", "Shipped Time", "Delivered Time", "Cancelled Time",
    "Cancel Reason", "Tracking ID", "Shipping Provider Name", "Buyer Message", "Buyer Username", "Recipient",
    "Phone #", "Country", "State", "City", "Zipcode", "Detail Address", "Additional address information",
    "Payment Method", "Package ID", "Seller Note",
]  # fmt: skip
UNKNOWN_STATUS = "Wartet auf Versand"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(17)


def tiktok_row(order_id: str, status: str, **cells) -> dict:
    row = {
        "Order ID": order_id,
        "Order Status": status,
        "SKU ID": "1729" + order_id[-4:],
        "Seller SKU": "TEE-M-BLK",
        "Product Name": "Organic T-shirt",
        "Variation": "M, Black",
        "Quantity": "2",
        "Sku Quantity of return": "0",
        "SKU Unit Original Price": "15.00",
        "SKU Subtotal After Discount": "30.00",
        "Shipping Fee After Discount": "4.50",
        "Taxes": "0.00",
        "Order Amount": "34.50",
        "Order Refund Amount": "0.00",
        "Created Time": "08/03/2026 9:14:22 AM",
        "Paid Time": "08/03/2026 9:15:01 AM",
        "Buyer Username": "ada_buys",
        "Recipient": "Ada Buyer",
        "Phone #": "(+1)555-0100",
        "Country": "United States",
        "State": "California",
        "City": "Torrance",
        "Zipcode": "90503",
        "Detail Address": "12 Harbour Street",
        "Payment Method": "Credit card",
    }
    return row | cells


def tiktok_csv(rows: list[dict], name: str = "All order-2026-05-04-14_03.csv") -> SimpleUploadedFile:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=TIKTOK_COLUMNS, restval="", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return SimpleUploadedFile(name, out.getvalue().encode("utf-8-sig"), content_type="text/csv")


def three_orders() -> SimpleUploadedFile:
    return tiktok_csv(
        [
            tiktok_row("576461413038785001", "Awaiting shipment"),
            tiktok_row(
                "576461413038785002",
                "In transit",
                **{"Shipped Time": "08/04/2026 2:00:00 PM", "Tracking ID": "1Z999AA10123456784"},
                **{"Shipping Provider Name": "UPS"},
            ),
            tiktok_row("576461413038785003", UNKNOWN_STATUS),
        ]
    )


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def post(django_capture_on_commit_callbacks):
    """A POST whose after-commit work (queueing the preview or apply task, which runs eagerly in tests) is
    done before it returns, as it is outside the test's transaction."""

    def post(client, url, data=None, *, follow=False):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(url, data or {})
        if follow and response.status_code == 302:
            return client.get(response["Location"])
        return response

    return post


def upload(post, client, file, format="auto"):
    return post(client, reverse("dashboard:import_upload"), {"file": file, "format": format})


def page_text(response) -> str:
    """The page's visible words, tags dropped and spaces collapsed, for asserting what a person reads."""
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def an_import(shop, user=None, **fields) -> OrderImport:
    return OrderImport.objects.create(
        shop=shop, created_by=user, original_name=fields.pop("original_name", "orders.csv"), **fields
    )


# --- The journey --------------------------------------------------------------------------------------------


def test_upload_preview_map_a_status_apply_and_see_the_result(manager_client, manager, shop, post):
    response = upload(post, manager_client, three_orders())
    order_import = OrderImport.objects.get(shop=shop)
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:import", args=[order_import.pk])
    assert order_import.created_by == manager
    assert order_import.original_name == "All order-2026-05-04-14_03.csv"
    assert order_import.file.name.startswith("imports/")

    # Celery runs in-process here: the preview has finished by the time the page is drawn.
    response = manager_client.get(response["Location"])
    order_import.refresh_from_db()
    assert order_import.state == ImportState.PREVIEWED
    assert order_import.format == ImportSource.TIKTOK
    assert not Order.objects.for_shop(shop).exists()  # the preview writes no order
    text = page_text(response)
    assert "What the file holds" in text
    assert "2 new orders" in text and "1 order rejected" in text  # until its status is known
    assert "A status in the file is new to Shipshape" in text
    html = response.content.decode()
    assert re.search(r'<label for="id_status_0">Wartet auf Versand</label>', html)
    apply_button = re.search(r"<button[^>]*>Import 2 orders</button>", html).group(0)
    assert "disabled" in apply_button
    assert "before importing" in text
    rows = re.findall(r"<tr>.*?</tr>", html, flags=re.S)[1:]
    assert len(rows) == 3
    assert "576461413038785002" in rows[1] and "In transit" in rows[1] and "Shipped" in rows[1]
    assert UNKNOWN_STATUS in rows[2] and "(unknown)" in rows[2]

    # Applying is refused while a status is unknown.
    response = post(manager_client, reverse("dashboard:import_apply", args=[order_import.pk]), follow=True)
    assert f"Say what these statuses mean first: {UNKNOWN_STATUS}." in page_text(response)
    order_import.refresh_from_db()
    assert order_import.state == ImportState.PREVIEWED

    # Mapping the status remembers it for the shop and checks the file again.
    response = post(
        manager_client,
        reverse("dashboard:import_statuses", args=[order_import.pk]),
        {"status_0": OrderStatus.PENDING},
        follow=True,
    )
    mapping = ImportStatusMapping.objects.get(shop=shop)
    assert (mapping.source, mapping.status) == (ImportSource.TIKTOK, OrderStatus.PENDING)
    order_import.refresh_from_db()
    assert order_import.state == ImportState.PREVIEWED
    text = page_text(response)
    assert "Statuses remembered for this shop" in text
    assert "new to Shipshape" not in text
    html = response.content.decode()
    apply_button = re.search(r"<button[^>]*>Import 3 orders</button>", html).group(0)
    assert "disabled" not in apply_button
    assert order_import.items.get(external_id="576461413038785003").status == OrderStatus.PENDING

    response = post(manager_client, reverse("dashboard:import_apply", args=[order_import.pk]))
    assert response.status_code == 302
    response = manager_client.get(response["Location"])
    order_import.refresh_from_db()
    assert order_import.state == ImportState.DONE
    assert order_import.orders_new == 3
    text = page_text(response)
    assert "Import finished" in text and "3 orders created" in text
    imported = Order.objects.for_shop(shop)
    assert imported.count() == 3
    html = response.content.decode()
    for order in imported:
        assert reverse("dashboard:order", args=[order.number]) in html
    assert {ref.external_id for ref in ExternalOrderRef.objects.filter(shop=shop)} >= {
        "576461413038785001",
        "576461413038785002",
        "576461413038785003",
    }

    # The same file again: every order unchanged, nothing to import.
    upload(post, manager_client, three_orders())
    again = OrderImport.objects.filter(shop=shop).first()
    response = manager_client.get(reverse("dashboard:import", args=[again.pk]))
    again.refresh_from_db()
    assert (again.orders_new, again.orders_unchanged) == (0, 3)
    text = page_text(response)
    assert "Nothing to import" in text
    nothing = re.search(r"<button[^>]*>Import 0 orders</button>", response.content.decode()).group(0)
    assert "disabled" in nothing


def test_a_rejected_order_is_listed_with_its_row_and_column(manager_client, shop, post):
    bad = tiktok_row("576461413038785009", "Awaiting shipment", Quantity="two")
    upload(post, manager_client, tiktok_csv([tiktok_row("576461413038785008", "Awaiting shipment"), bad]))
    order_import = OrderImport.objects.get(shop=shop)
    url = reverse("dashboard:import", args=[order_import.pk])

    response = manager_client.get(url, {"outcome": ItemOutcome.REJECTED})
    order_import.refresh_from_db()
    assert (order_import.orders_new, order_import.orders_rejected) == (1, 1)
    item = order_import.items.get(outcome=ItemOutcome.REJECTED)
    problem = next(p for p in item.problems if p["level"] == "error")
    text = page_text(response)
    assert "576461413038785009" in text and "576461413038785008" not in text
    assert f"Row {problem['row']}, {problem['column']}: {problem['message']}" in text
    assert "The rejected order is left out." in text

    response = post(manager_client, reverse("dashboard:import_apply", args=[order_import.pk]), follow=True)
    text = page_text(response)
    assert "1 order created" in text and "1 order rejected" in text
    assert "See the rejected order and why" in text
    assert Order.objects.for_shop(shop).count() == 1


def test_a_second_apply_does_not_start_the_import_again(manager_client, shop, post):
    upload(post, manager_client, tiktok_csv([tiktok_row("576461413038785011", "Awaiting shipment")]))
    order_import = OrderImport.objects.get(shop=shop)
    apply_url = reverse("dashboard:import_apply", args=[order_import.pk])
    post(manager_client, apply_url)

    response = post(manager_client, apply_url, follow=True)

    assert "Only a checked import can be applied; the state of this one is “Done”." in page_text(response)
    assert Order.objects.for_shop(shop).count() == 1


def test_an_unmapped_status_form_says_what_is_missing(manager_client, shop, post):
    upload(post, manager_client, tiktok_csv([tiktok_row("576461413038785021", UNKNOWN_STATUS)]))
    order_import = OrderImport.objects.get(shop=shop)

    response = post(manager_client, reverse("dashboard:import_statuses", args=[order_import.pk]), {})

    assert response.status_code == 422
    assert f"Choose what “{UNKNOWN_STATUS}” means." in page_text(response)
    assert not ImportStatusMapping.objects.exists()


# --- Wrong files --------------------------------------------------------------------------------------------


def test_an_empty_file_is_refused_in_the_form(manager_client, shop, post):
    response = upload(post, manager_client, SimpleUploadedFile("orders.csv", b"", content_type="text/csv"))

    assert response.status_code == 422
    assert "The file is empty. Export the orders again and upload that file." in page_text(response)
    assert not OrderImport.objects.exists()


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("photo.png", PNG),
        ("orders.csv", b"Customer,Amount,Date\nAda,12.00,2026-01-01\n"),
    ],
    ids=["an image", "a CSV with no known header"],
)
def test_a_file_that_is_not_an_orders_export_is_refused_with_the_reason(manager_client, name, content, post):
    response = upload(post, manager_client, SimpleUploadedFile(name, content))

    assert response.status_code == 422
    errors = re.search(r'<ul class="errorlist"[^>]*>(.*?)</ul>', response.content.decode(), flags=re.S)
    assert errors and len(errors.group(1)) > 40  # a sentence, not a code
    assert not OrderImport.objects.exists()


def test_a_tiktok_file_uploaded_as_shopify_is_refused(manager_client, post):
    response = upload(
        post, manager_client, tiktok_csv([tiktok_row("576461413038785071", "Delivered")]), "shopify"
    )

    assert response.status_code == 422
    assert "not “Shopify orders export”" in page_text(response)
    assert not OrderImport.objects.exists()


def test_an_import_that_failed_in_the_background_shows_the_error_and_a_way_on(manager_client, shop):
    order_import = an_import(
        shop, state=ImportState.FAILED, error="Row 7 could not be read: the file ends in the middle of it."
    )

    response = manager_client.get(reverse("dashboard:import", args=[order_import.pk]))

    text = page_text(response)
    assert "This file could not be imported" in text
    assert "Row 7 could not be read: the file ends in the middle of it." in text
    assert (
        f'<a class="button primary" href="{reverse("dashboard:import_upload")}">Upload another file</a>'
        in (response.content.decode())
    )


def test_a_file_over_the_size_limit_is_refused_with_the_limit_in_mb(manager_client, shop, settings, post):
    settings.SHIPSHAPE = {**settings.SHIPSHAPE, "IMPORT_MAX_UPLOAD_BYTES": 1024 * 1024}
    big = SimpleUploadedFile("orders.csv", b"x" * (1024 * 1024 + 1), content_type="text/csv")

    response = upload(post, manager_client, big)

    assert response.status_code == 422
    text = page_text(response)
    assert "The file is larger than 1 MB" in text
    assert "CSV or XLSX, up to 1 MB." in text
    assert not OrderImport.objects.exists()


def test_the_upload_page_says_which_export_to_download(manager_client):
    response = manager_client.get(reverse("dashboard:import_upload"))

    html = response.content.decode()
    assert 'accept=".csv,.xlsx' in html
    assert 'enctype="multipart/form-data"' in html
    text = page_text(response)
    assert "Seller Center" in text and "Shopify admin" in text
    assert "CSV or XLSX, up to 50 MB." in text
    assert re.search(r'<option value="auto" selected>Find out from the file</option>', html)


def test_choosing_the_format_is_kept_on_the_import(manager_client, shop, post):
    upload(post, manager_client, tiktok_csv([tiktok_row("576461413038785031", "Delivered")]), format="tiktok")

    assert OrderImport.objects.get(shop=shop).format == ImportSource.TIKTOK


# --- Progress -----------------------------------------------------------------------------------------------


def test_a_running_import_shows_a_progress_bar_that_the_partial_refreshes(manager_client, shop):
    order_import = an_import(shop, state=ImportState.APPLYING, rows_total=100_000, rows_done=12_000)

    response = manager_client.get(reverse("dashboard:import", args=[order_import.pk]))

    html = response.content.decode()
    progress_url = reverse("dashboard:import_progress", args=[order_import.pk])
    assert re.search(r'<progress id="import-progress-bar" max="100000" value="12000"', html)
    assert "Imported 12,000 of 100,000 rows" in page_text(response)
    assert re.search(rf'aria-live="polite"[^>]*hx-get="{progress_url}" hx-trigger="every 1s"', html)
    assert '<noscript><meta http-equiv="refresh"' in html

    OrderImport.objects.filter(pk=order_import.pk).update(rows_done=50_000)
    response = manager_client.get(progress_url, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert '<progress id="import-progress-bar" max="100000" value="50000"' in response.content.decode()
    assert "Imported 50,000 of 100,000 rows" in page_text(response)
    assert "<html" not in response.content.decode()
    assert "HX-Refresh" not in response

    OrderImport.objects.filter(pk=order_import.pk).update(state=ImportState.DONE, rows_done=100_000)
    response = manager_client.get(progress_url, headers={"HX-Request": "true"})
    assert response["HX-Refresh"] == "true"
    response = manager_client.get(progress_url)
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:import", args=[order_import.pk])


def test_a_preview_that_has_not_counted_its_rows_yet_says_it_is_reading(manager_client, shop):
    order_import = an_import(shop, state=ImportState.PREVIEWING)

    response = manager_client.get(reverse("dashboard:import", args=[order_import.pk]))

    assert "Checking the file" in page_text(response)
    assert "Reading the file…" in page_text(response)
    assert re.search(r'<progress id="import-progress-bar" aria-labelledby', response.content.decode())


# --- History ------------------------------------------------------------------------------------------------


def test_the_history_lists_the_shops_imports_newest_first(manager_client, manager, shop, other_shop):
    older = an_import(shop, manager, original_name="older.csv", state=ImportState.DONE, orders_new=12_345)
    newer = an_import(shop, manager, original_name="newer.xlsx", state=ImportState.FAILED, error="x")
    an_import(other_shop, original_name="someone-elses.csv")

    response = manager_client.get(reverse("dashboard:imports"))

    text = page_text(response)
    assert text.index("newer.xlsx") < text.index("older.csv")
    assert "someone-elses.csv" not in text
    assert "12,345" in text
    assert "manager@example.com" in text
    assert "Failed" in text and "Done" in text
    html = response.content.decode()
    assert reverse("dashboard:import", args=[newer.pk]) in html
    assert reverse("dashboard:import", args=[older.pk]) in html


def test_the_empty_history_explains_what_imports_are_for(manager_client):
    response = manager_client.get(reverse("dashboard:imports"))

    text = page_text(response)
    assert "No imports yet" in text
    assert "TikTok Shop or Shopify" in text
    assert "Tracking numbers back" not in text  # nothing imported, nothing to send back


def test_imports_are_in_the_navigation_and_on_the_orders_page_for_managers(manager_client, staff_client):
    response = manager_client.get(reverse("dashboard:orders"))
    html = response.content.decode()
    assert f'<a href="{reverse("dashboard:imports")}">Imports</a>' in html
    assert f'href="{reverse("dashboard:import_upload")}">Import orders</a>' in html

    html = staff_client.get(reverse("dashboard:orders")).content.decode()
    assert reverse("dashboard:imports") not in html


# --- Tracking numbers back ----------------------------------------------------------------------------------


def test_the_tracking_file_for_tiktok_lists_the_parcels_of_shipped_imported_orders(
    manager_client, shop, other_shop
):
    shipped = order_in(OrderStatus.SHIPPED, shop=shop)
    ExternalOrderRef.objects.create(shop=shop, order=shipped, source=ImportSource.TIKTOK, external_id="=1+2")
    pending = order_in(OrderStatus.PENDING, shop=shop)
    ExternalOrderRef.objects.create(
        shop=shop, order=pending, source=ImportSource.TIKTOK, external_id="576461413038785099"
    )
    elsewhere = order_in(OrderStatus.SHIPPED, shop=other_shop)
    ExternalOrderRef.objects.create(
        shop=other_shop, order=elsewhere, source=ImportSource.TIKTOK, external_id="576461413038785098"
    )

    history = page_text(manager_client.get(reverse("dashboard:imports")))
    assert "Tracking numbers back" in history and "Tracking file for TikTok Shop (CSV)" in history
    assert "Tracking file for Shopify" not in history

    response = manager_client.get(reverse("dashboard:imports_tracking", args=[ImportSource.TIKTOK]))

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert re.fullmatch(
        r'attachment; filename="tiktok-tracking-\d{4}-\d{2}-\d{2}\.csv"', response["Content-Disposition"]
    )
    content = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(content)))
    assert {"Order ID", "Tracking ID", "Shipping Provider Name"} <= set(rows[0])
    parcel = shipped.shipments.get()
    assert [(row["Order ID"], row["Tracking ID"]) for row in rows] == [("'=1+2", parcel.tracking_number)]


def test_a_tracking_file_for_an_unknown_platform_is_a_404(manager_client):
    assert manager_client.get(reverse("dashboard:imports_tracking", args=["ebay"])).status_code == 404


# --- Who may do what ----------------------------------------------------------------------------------------


def test_another_shops_import_is_a_404(other_client, manager_client, shop, post):
    upload(post, manager_client, tiktok_csv([tiktok_row("576461413038785041", "Awaiting shipment")]))
    order_import = OrderImport.objects.get(shop=shop)

    for name in ("dashboard:import", "dashboard:import_progress"):
        assert other_client.get(reverse(name, args=[order_import.pk])).status_code == 404, name
    for name in ("dashboard:import_apply", "dashboard:import_statuses"):
        assert post(other_client, reverse(name, args=[order_import.pk])).status_code == 404, name
    order_import.refresh_from_db()
    assert order_import.state == ImportState.PREVIEWED
    assert not Order.objects.exists()


def test_staff_can_neither_upload_nor_apply(staff_client, manager_client, shop, post):
    upload(post, manager_client, tiktok_csv([tiktok_row("576461413038785051", "Awaiting shipment")]))
    order_import = OrderImport.objects.get(shop=shop)

    assert staff_client.get(reverse("dashboard:imports")).status_code == 403
    assert staff_client.get(reverse("dashboard:import_upload")).status_code == 403
    another_file = tiktok_csv([tiktok_row("576461413038785052", "Delivered")])
    assert upload(post, staff_client, another_file).status_code == 403
    assert post(staff_client, reverse("dashboard:import_apply", args=[order_import.pk])).status_code == 403
    assert OrderImport.objects.count() == 1
    assert not Order.objects.exists()


def test_upload_and_apply_need_the_csrf_token(manager, manager_client, shop, post):
    upload(post, manager_client, tiktok_csv([tiktok_row("576461413038785061", "Awaiting shipment")]))
    order_import = OrderImport.objects.get(shop=shop)
    client = Client(enforce_csrf_checks=True)
    client.force_login(manager)

    response = upload(post, client, tiktok_csv([tiktok_row("576461413038785062", "Delivered")]))
    assert response.status_code == 403
    response = post(client, reverse("dashboard:import_apply", args=[order_import.pk]))
    assert response.status_code == 403

    assert OrderImport.objects.count() == 1
    assert not Order.objects.exists()
    # The token is on every form of the pages.
    page = client.get(reverse("dashboard:import", args=[order_import.pk])).content.decode()
    assert page.count('name="csrfmiddlewaretoken"') >= 2  # sign-out and apply


def test_an_import_item_of_another_shop_never_shows(manager_client, shop, other_shop):
    mine = an_import(shop, state=ImportState.DONE)
    theirs = an_import(other_shop, state=ImportState.DONE)
    OrderImportItem.objects.create(
        order_import=theirs, external_id="THEIRS-1", first_row=2, last_row=2, outcome=ItemOutcome.NEW
    )
    OrderImportItem.objects.create(
        order_import=mine, external_id="MINE-1", first_row=2, last_row=2, outcome=ItemOutcome.NEW
    )

    text = page_text(manager_client.get(reverse("dashboard:import", args=[mine.pk])))

    assert "MINE-1" in text and "THEIRS-1" not in text
