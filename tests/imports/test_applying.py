"""The importer's applier: preview writes nothing, apply writes each order whole or not at all, through the
state machine, never twice, never backwards, and tells no buyer about history.

The files are written here in the platforms' real column sets (a few orders, hand-picked states) or made
by ``orders.imports.samples`` (many orders in every state).
"""

import csv
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from django.forms.models import model_to_dict

from orders.imports import applying, samples, tasks
from orders.models import (
    ActorKind,
    EventKind,
    ExternalOrderRef,
    ImportState,
    ItemOutcome,
    Notification,
    Order,
    OrderEvent,
    OrderImport,
    Return,
    WebhookEndpoint,
)
from orders.services import Actor, cancel_order, process_order
from shipping.models import Carrier, Shipment, ShipmentStatus, TrackingEvent
from shop.models import Customer
from tests.factories import ShopFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


# --- files -----------------------------------------------------------------------------------------------


def tiktok_row(
    order_id: str,
    status: str = "To ship",
    substatus: str = "Awaiting shipment",
    *,
    sku: str = "TEE-M",
    product: str = "T-shirt",
    quantity: int = 1,
    price: str = "15.00",
    returned: int = 0,
    total: str | None = None,
    tracking: str = "",
    carrier: str = "",
    created: str = "03/02/2026 9:14:22 AM",
    paid: str = "03/02/2026 9:15:00 AM",
    shipped: str = "",
    delivered: str = "",
    cancelled: str = "",
    email: str = "",
    recipient: str = "Ada Buyer",
    currency_total: str | None = None,
) -> dict:
    line = Decimal(price) * quantity
    return {
        "Order ID": f"{order_id}\t",
        "Order Status": status,
        "Order Substatus": substatus,
        "Seller SKU": sku,
        "Product Name": product,
        "Quantity": str(quantity),
        "Sku Quantity of return": str(returned),
        "SKU Unit Original Price": price,
        "SKU Subtotal After Discount": f"{line:.2f}",
        "Shipping Fee After Discount": "0.00",
        "Taxes": "0.00",
        "Order Amount": total or currency_total or f"{line:.2f}",
        "Created Time": created,
        "Paid Time": paid,
        "Shipped Time": shipped,
        "Delivered Time": delivered,
        "Cancelled Time": cancelled,
        "Tracking ID": tracking,
        "Shipping Provider Name": carrier,
        "Buyer Username": "ada_b",
        "Buyer Email": email,
        "Recipient": recipient,
        "Phone #": "+15550001111",
        "Country": "United States",
        "State": "California",
        "City": "Torrance",
        "Zipcode": "'90503",
        "Detail Address": "1 Harbour Way",
    }


def write_tiktok(path: Path, rows: list[dict]) -> Path:
    columns = [*samples.TIKTOK_COLUMNS, "Buyer Email"]
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=columns, restval="")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
    return path


def shopify_rows(
    name: str,
    *,
    fulfillment: str = "unfulfilled",
    financial: str = "paid",
    tags: str = "",
    source: str = "web",
    lines=(("MUG-1", "Mug", 1, "12.00"),),
    currency: str = "USD",
    email: str = "grace@example.net",
    cancelled: str = "",
) -> list[dict]:
    subtotal = sum(Decimal(price) * quantity for _sku, _name, quantity, price in lines)
    rows = []
    for index, (sku, product, quantity, price) in enumerate(lines):
        row = {
            "Name": name,
            "Email": email,
            "Created at": "2026-03-02 10:00:00 -0500",
            "Lineitem quantity": str(quantity),
            "Lineitem name": product,
            "Lineitem price": price,
            "Lineitem sku": sku,
            "Lineitem requires shipping": "true",
        }
        if index == 0:
            row.update(
                {
                    "Financial Status": financial,
                    "Paid at": "2026-03-02 10:01:00 -0500" if financial == "paid" else "",
                    "Fulfillment Status": fulfillment,
                    "Fulfilled at": "2026-03-03 12:00:00 -0500" if fulfillment == "fulfilled" else "",
                    "Currency": currency,
                    "Subtotal": f"{subtotal:.2f}",
                    "Shipping": "0.00",
                    "Taxes": "0.00",
                    "Total": f"{subtotal:.2f}",
                    "Discount Amount": "0.00",
                    "Shipping Name": "Grace Hopper",
                    "Shipping Address1": "2 Quay Street",
                    "Shipping City": "Leith",
                    "Shipping Zip": "EH6 6AA",
                    "Shipping Country": "GB",
                    "Cancelled at": cancelled,
                    "Tags": tags,
                    "Source": source,
                    "Billing Name": "Grace Hopper",
                }
            )
        rows.append(row)
    return rows


def write_shopify(path: Path, rows: list[dict]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=samples.SHOPIFY_COLUMNS, restval="", extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
    return path


def received(shop, path: Path, **kwargs) -> OrderImport:
    with open(path, "rb") as upload:
        return applying.receive_file(shop, upload, name=path.name, size=path.stat().st_size, **kwargs)


def previewed(shop, path: Path) -> OrderImport:
    order_import = applying.preview(received(shop, path))
    assert order_import.state == ImportState.PREVIEWED, order_import.error
    return order_import


def imported(shop, path: Path, by=None) -> OrderImport:
    order_import = applying.apply(previewed(shop, path), by=by)
    assert order_import.state == ImportState.DONE, order_import.error
    return order_import


def outcomes(order_import) -> dict[str, str]:
    return dict(order_import.items.values_list("external_id", "outcome"))


def snapshot(shop) -> dict:
    return {
        "orders": [
            model_to_dict(o) | {"version": o.version, "status": o.status}
            for o in Order.objects.for_shop(shop).order_by("pk")
        ],
        "events": OrderEvent.objects.filter(order__shop=shop).count(),
        "shipments": Shipment.objects.filter(shop=shop).count(),
        "scans": TrackingEvent.objects.filter(shipment__shop=shop).count(),
        "refs": ExternalOrderRef.objects.filter(shop=shop).count(),
        "customers": Customer.objects.filter(shop=shop).count(),
        "returns": Return.objects.filter(order__shop=shop).count(),
    }


def order_for(shop, source: str, external_id: str) -> Order:
    return Order.objects.for_shop(shop).get(
        external_refs__source=source, external_refs__external_id=external_id
    )


# --- preview ---------------------------------------------------------------------------------------------


def test_preview_says_what_each_order_becomes_and_writes_nothing_else(shop, tmp_path):
    summary = samples.write_tiktok_csv(tmp_path / "All order.csv", orders=40, seed=5)
    order_import = previewed(shop, tmp_path / "All order.csv")

    assert order_import.format == "tiktok"
    assert order_import.rows_total == summary.rows
    assert order_import.rows_done == summary.rows
    assert order_import.orders_new == summary.orders == order_import.items.count()
    assert order_import.started_at and order_import.finished_at
    assert set(order_import.items.values_list("outcome", flat=True)) == {ItemOutcome.NEW}
    assert set(order_import.items.values_list("status", flat=True)) >= {"pending", "shipped", "delivered"}
    assert not Order.objects.exists() and not Customer.objects.exists()
    assert not Notification.objects.exists() and not ExternalOrderRef.objects.exists()


def test_a_file_that_cannot_be_read_ends_failed_with_the_message(shop, tmp_path):
    order_import = received(shop, write_tiktok(tmp_path / "All order.csv", [tiktok_row("1001")]))
    Path(order_import.file.path).write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))

    order_import = applying.preview(order_import)

    assert order_import.state == ImportState.FAILED
    assert order_import.error
    assert not order_import.items.exists()


def test_an_xlsx_upload_is_read_once_then_from_the_csv_copy_of_its_rows(shop, tmp_path):
    summary = samples.write_tiktok_xlsx(tmp_path / "To Ship order.xlsx", orders=30, seed=4)
    order_import = previewed(shop, tmp_path / "To Ship order.xlsx")
    assert order_import.orders_new == summary.orders
    order_import.refresh_from_db()
    copy = Path(order_import.rows_copy.path)
    assert copy.suffix == ".csv" and copy.read_bytes().startswith(b"\xef\xbb\xbfOrder ID,")

    Path(order_import.file.path).unlink()  # from here on the sheet is never read again
    again = applying.preview(order_import)
    assert again.state == ImportState.PREVIEWED and again.orders_new == summary.orders
    applied = applying.apply(again)

    assert applied.state == ImportState.DONE, applied.error
    assert applied.orders_new == summary.orders == Order.objects.for_shop(shop).count()
    applied.refresh_from_db()
    assert not applied.rows_copy and not copy.exists()  # an applied import needs it no more


def test_a_lost_copy_of_the_rows_means_the_sheet_is_read_again(shop, tmp_path):
    summary = samples.write_tiktok_xlsx(tmp_path / "To Ship order.xlsx", orders=30, seed=4)
    order_import = previewed(shop, tmp_path / "To Ship order.xlsx")
    order_import.refresh_from_db()
    Path(order_import.rows_copy.path).unlink()

    applied = applying.apply(order_import)

    assert applied.state == ImportState.DONE, applied.error
    assert applied.orders_new == summary.orders == Order.objects.for_shop(shop).count()
    applied.refresh_from_db()
    assert not applied.rows_copy and not list((tmp_path / "media").rglob("*.csv"))


def test_a_csv_upload_or_a_sheet_that_cannot_be_read_leaves_no_copy(shop, tmp_path):
    order_import = previewed(shop, write_tiktok(tmp_path / "All order.csv", [tiktok_row("1001")]))
    order_import.refresh_from_db()
    assert not order_import.rows_copy

    samples.write_tiktok_xlsx(tmp_path / "To Ship order.xlsx", orders=30, seed=4)
    broken = received(shop, tmp_path / "To Ship order.xlsx")
    data = Path(broken.file.path).read_bytes()
    Path(broken.file.path).write_bytes(data[: len(data) // 2])  # the sheet's zip entry is cut short

    broken = applying.preview(broken)

    assert broken.state == ImportState.FAILED and broken.error
    broken.refresh_from_db()
    assert not broken.rows_copy
    assert sorted(p.suffix for p in (tmp_path / "media").rglob("*.*")) == [".csv", ".xlsx"]  # the uploads


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "unreadable_file"),
        (b"\x89PNG\r\n\x1a\n" + bytes(100), "unreadable_file"),
        (b"Colour,Size\nred,M\n", "unreadable_file"),
    ],
)
def test_a_wrong_file_is_refused_with_a_message(shop, tmp_path, content, code):
    path = tmp_path / "orders.csv"
    path.write_bytes(content)
    with pytest.raises(applying.ImportRefused) as refused:
        received(shop, path)
    assert refused.value.code == code and refused.value.http_status == 400
    assert refused.value.message
    assert not OrderImport.objects.exists()


def test_a_file_of_the_other_platform_is_refused_when_a_format_is_chosen(shop, tmp_path):
    path = write_tiktok(tmp_path / "All order.csv", [tiktok_row("1001")])
    with pytest.raises(applying.ImportRefused) as refused:
        received(shop, path, format="shopify")
    assert refused.value.code == "wrong_format"


def test_a_file_too_large_is_refused(shop, tmp_path, settings):
    settings.SHIPSHAPE = {**settings.SHIPSHAPE, "IMPORT_MAX_UPLOAD_BYTES": 100}
    path = samples.write_tiktok_csv(tmp_path / "All order.csv", orders=5) and tmp_path / "All order.csv"
    with pytest.raises(applying.ImportRefused) as refused:
        received(shop, path)
    assert refused.value.http_status == 413


# --- new orders ------------------------------------------------------------------------------------------


def test_a_delivered_order_is_created_whole_through_the_state_machine(shop, owner, tmp_path):
    path = write_tiktok(
        tmp_path / "All order.csv",
        [
            tiktok_row(
                "576461413038785752",
                "Completed",
                "Completed",
                sku="TEE-M",
                quantity=2,
                price="15.00",
                total="39.50",
                tracking="1Z999AA10123456784",
                carrier="UPS",
                shipped="03/03/2026 2:00:00 PM",
                delivered="03/06/2026 11:30:00 AM",
                email="Ada@Example.net",
            ),
            tiktok_row(
                "576461413038785752",
                "Completed",
                "Completed",
                sku="CAP-RED",
                product="Cap",
                price="9.50",
                total="39.50",
                tracking="1Z999AA10123456784",
                carrier="UPS",
                shipped="03/03/2026 2:00:00 PM",
                delivered="03/06/2026 11:30:00 AM",
                email="Ada@Example.net",
            ),
        ],
    )
    number_before = shop.last_order_number

    order_import = imported(shop, path, by=owner)

    assert order_import.orders_new == 1 and order_import.finished_at
    order = order_for(shop, "tiktok", "576461413038785752")
    assert order.number == f"{shop.order_prefix}-{number_before + 1}"
    assert order.status == "delivered" and order.payment_status == "paid"
    assert order.payment_method == "platform"
    assert (order.total, order.subtotal) == (Decimal("39.50"), Decimal("39.50"))
    assert order.placed_at.isoformat() == "2026-03-02T09:14:22+00:00"
    assert order.shipped_at.isoformat() == "2026-03-03T14:00:00+00:00"
    assert order.delivered_at.isoformat() == "2026-03-06T11:30:00+00:00"
    assert order.processed_at == order.placed_at.replace(second=0, minute=15)
    assert (order.ship_postal_code, order.ship_country, order.ship_region) == ("90503", "US", "California")
    assert order.customer.email == order.email == "ada@example.net"
    assert order.customer.order_count == 1
    assert [(line.sku, line.quantity) for line in order.lines.all()] == [("TEE-M", 2), ("CAP-RED", 1)]
    (parcel,) = order.shipments.all()
    assert (parcel.carrier.code, parcel.tracking_number, parcel.status) == (
        "ups",
        "1Z999AA10123456784",
        ShipmentStatus.DELIVERED,
    )
    assert sorted(parcel.lines.values_list("quantity", flat=True)) == [1, 2]
    assert order.unshipped_quantities() == {}
    (event,) = order.events.all()
    assert event.kind == EventKind.IMPORTED and event.actor_kind == ActorKind.IMPORT and event.actor == owner
    assert event.data["source"] == "tiktok" and event.data["file"] == "All order.csv"
    assert event.data["external_id"] == "576461413038785752"
    item = order_import.items.get()
    assert (item.outcome, item.order, item.applied, item.status) == ("new", order, True, "delivered")
    assert not Notification.objects.exists()


def test_every_state_of_a_sample_export_is_created_and_nobody_is_emailed(shop, tmp_path):
    summary = samples.write_shopify_csv(tmp_path / "orders_export_1.csv", orders=80, seed=11)

    order_import = imported(shop, tmp_path / "orders_export_1.csv")

    assert order_import.orders_new == summary.orders == Order.objects.for_shop(shop).count()
    assert order_import.orders_rejected == 0
    statuses = set(Order.objects.for_shop(shop).values_list("status", flat=True))
    assert statuses >= {"pending", "processed", "shipped", "cancelled"}
    assert Order.objects.for_shop(shop).filter(status="shipped", shipments__isnull=True).count() == 0
    assert OrderEvent.objects.filter(order__shop=shop).exclude(kind=EventKind.IMPORTED).count() == 0
    assert not Notification.objects.exists()


def test_returned_quantities_become_a_refunded_return(shop, tmp_path):
    path = write_tiktok(
        tmp_path / "All order.csv",
        [
            tiktok_row(
                "9001",
                "Completed",
                "",
                quantity=2,
                returned=1,
                tracking="1Z999AA10123456784",
                carrier="UPS",
                shipped="03/03/2026 2:00:00 PM",
                delivered="03/06/2026 11:30:00 AM",
            ),
            tiktok_row(
                "9002",
                "Completed",
                "",
                quantity=1,
                returned=1,
                tracking="1Z999AA10000000012",
                carrier="UPS",
                shipped="03/03/2026 2:00:00 PM",
                delivered="03/06/2026 11:30:00 AM",
            ),
        ],
    )

    imported(shop, path)

    partly = order_for(shop, "tiktok", "9001")
    assert partly.status == "delivered" and partly.payment_status == "partially_refunded"
    (return_request,) = partly.returns.all()
    assert return_request.status == "refunded" and return_request.lines.get().quantity == 1
    assert partly.refunded_total == Decimal("15.00")
    whole = order_for(shop, "tiktok", "9002")
    assert whole.status == "returned" and whole.returned_at and whole.unreturned_quantities() == {}


def test_an_order_shipped_unpaid_is_rejected_by_the_state_machine(shop, tmp_path):
    path = write_shopify(
        tmp_path / "orders_export_1.csv", shopify_rows("#1001", fulfillment="fulfilled", financial="pending")
    )

    order_import = imported(shop, path)

    item = order_import.items.get()
    assert item.outcome == "rejected"
    assert "not paid" in item.problems[-1]["message"]
    assert not Order.objects.exists() and not Customer.objects.exists()


def test_a_tracking_number_already_used_rejects_the_new_order(shop, tmp_path):
    first = write_tiktok(
        tmp_path / "a.csv",
        [
            tiktok_row(
                "1",
                "Shipped",
                "In transit",
                tracking="1Z999AA10123456784",
                carrier="UPS",
                shipped="03/03/2026 2:00:00 PM",
            )
        ],
    )
    imported(shop, first)
    second = write_tiktok(
        tmp_path / "b.csv",
        [
            tiktok_row(
                "2",
                "Shipped",
                "In transit",
                tracking="1Z999AA10123456784",
                carrier="UPS",
                shipped="03/03/2026 2:00:00 PM",
            ),
            tiktok_row("3"),
        ],
    )

    order_import = imported(shop, second)

    assert outcomes(order_import) == {"2": "rejected", "3": "new"}
    assert "1Z999AA10123456784" in order_import.items.get(external_id="2").problems[-1]["message"]


def test_an_order_that_fails_to_write_leaves_nothing_and_the_others_apply(shop, tmp_path):
    """A row the database refuses (a trigger here) fails its own order only, whole."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            CREATE FUNCTION refuse_exploding_lines() RETURNS trigger AS $$
            BEGIN
                IF NEW.sku = 'EXPLODE' THEN RAISE EXCEPTION 'this line cannot be stored'; END IF;
                RETURN NEW;
            END $$ LANGUAGE plpgsql;
            CREATE TRIGGER refuse_exploding_lines BEFORE INSERT ON orders_orderline
                FOR EACH ROW EXECUTE FUNCTION refuse_exploding_lines();
            """
        )
    path = write_tiktok(
        tmp_path / "All order.csv",
        [
            tiktok_row(
                "1",
                "Shipped",
                "In transit",
                tracking="1Z999AA10000000012",
                carrier="UPS",
                email="one@example.net",
                shipped="03/03/2026 2:00:00 PM",
            ),
            tiktok_row(
                "2",
                "Shipped",
                "In transit",
                sku="EXPLODE",
                tracking="1Z999AA10123456784",
                carrier="UPS",
                email="two@example.net",
                shipped="03/03/2026 2:00:00 PM",
            ),
            tiktok_row("3", email="three@example.net"),
        ],
    )

    order_import = imported(shop, path)

    assert outcomes(order_import) == {"1": "new", "2": "rejected", "3": "new"}
    assert "this line cannot be stored" in order_import.items.get(external_id="2").problems[-1]["message"]
    assert sorted(Customer.objects.filter(shop=shop).values_list("email", flat=True)) == [
        "one@example.net",
        "three@example.net",
    ]
    assert not ExternalOrderRef.objects.filter(external_id="2").exists()
    assert not Shipment.objects.filter(tracking_number="1Z999AA10123456784").exists()
    assert Order.objects.for_shop(shop).count() == 2 == OrderEvent.objects.count()
    numbers = sorted(Order.objects.for_shop(shop).values_list("number", flat=True))
    assert len(set(numbers)) == 2


# --- known orders ----------------------------------------------------------------------------------------


def test_importing_the_same_file_again_changes_nothing(shop, tmp_path):
    samples.write_tiktok_csv(tmp_path / "All order.csv", orders=60, seed=2)
    first = imported(shop, tmp_path / "All order.csv")
    before = snapshot(shop)

    again = imported(shop, tmp_path / "All order.csv")

    assert again.orders_unchanged == first.orders_new
    assert again.orders_new == again.orders_updated == again.orders_rejected == 0
    assert snapshot(shop) == before


def test_a_newer_export_moves_orders_forward_through_the_services_and_tells_nobody(shop, owner, tmp_path):
    imported(shop, write_tiktok(tmp_path / "1.csv", [tiktok_row("7001"), tiktok_row("7002")]))
    order = order_for(shop, "tiktok", "7001")
    assert order.status == "pending"

    newer = write_tiktok(
        tmp_path / "2.csv",
        [
            tiktok_row(
                "7001",
                "Shipped",
                "In transit",
                tracking="1Z999AA10123456784",
                carrier="UPS",
                shipped="03/03/2026 2:00:00 PM",
            ),
            tiktok_row("7002", "Cancelled", "", cancelled="03/02/2026 11:00:00 AM"),
        ],
    )
    order_import = imported(shop, newer, by=owner)

    assert outcomes(order_import) == {"7001": "update", "7002": "update"}
    order.refresh_from_db()
    assert order.status == "shipped"
    assert order.shipments.get().tracking_number == "1Z999AA10123456784"
    kinds = list(order.events.order_by("id").values_list("kind", "actor_kind"))
    assert kinds == [
        ("imported", "import"),
        ("processed", "import"),
        ("shipped", "import"),
    ]
    cancelled = order_for(shop, "tiktok", "7002")
    assert cancelled.status == "cancelled" and cancelled.payment_status == "refunded"
    assert not Notification.objects.exists()

    latest = write_tiktok(
        tmp_path / "3.csv",
        [
            tiktok_row(
                "7001",
                "Completed",
                "",
                tracking="1Z999AA10123456784",
                carrier="UPS",
                shipped="03/03/2026 2:00:00 PM",
                delivered="03/05/2026 4:00:00 PM",
            )
        ],
    )
    assert outcomes(imported(shop, latest)) == {"7001": "update"}
    order.refresh_from_db()
    assert order.status == "delivered" and order.shipments.get().status == "delivered"
    assert Order.objects.for_shop(shop).count() == 2
    assert not Notification.objects.exists()


def test_an_older_export_never_moves_an_order_back(shop, tmp_path):
    imported(
        shop,
        write_tiktok(
            tmp_path / "new.csv",
            [
                tiktok_row(
                    "8001",
                    "Completed",
                    "",
                    tracking="1Z999AA10123456784",
                    carrier="UPS",
                    shipped="03/03/2026 2:00:00 PM",
                    delivered="03/05/2026 4:00:00 PM",
                )
            ],
        ),
    )
    before = snapshot(shop)

    order_import = imported(shop, write_tiktok(tmp_path / "old.csv", [tiktok_row("8001")]))

    item = order_import.items.get()
    assert (item.outcome, item.status) == ("unchanged", "delivered")
    assert item.problems[-1]["level"] == "warning" and "never move back" in item.problems[-1]["message"]
    assert snapshot(shop) == before


def test_a_move_the_state_machine_does_not_allow_is_rejected(shop, tmp_path):
    imported(shop, write_tiktok(tmp_path / "1.csv", [tiktok_row("8101")]))
    order = order_for(shop, "tiktok", "8101")
    cancel_order(order, reason="Out of stock", by=Actor.seller(None))

    order_import = imported(
        shop,
        write_tiktok(
            tmp_path / "2.csv", [tiktok_row("8101", "Completed", "", delivered="03/05/2026 4:00:00 PM")]
        ),
    )

    item = order_import.items.get()
    assert item.outcome == "rejected" and "cancelled" in item.problems[-1]["message"]
    order.refresh_from_db()
    assert order.status == "cancelled"


def test_another_currency_for_a_known_order_is_rejected(shop, tmp_path):
    imported(shop, write_shopify(tmp_path / "1.csv", shopify_rows("#1001")))

    order_import = imported(shop, write_shopify(tmp_path / "2.csv", shopify_rows("#1001", currency="EUR")))

    item = order_import.items.get()
    assert item.outcome == "rejected" and "EUR" in item.problems[-1]["message"]


@pytest.mark.parametrize("first", ["shopify", "tiktok"])
def test_a_tiktok_order_synced_through_shopify_is_never_created_twice(shop, tmp_path, first):
    shopify = write_shopify(
        tmp_path / "orders_export_1.csv",
        shopify_rows("#1042", tags="TikTokOrderID:576461413038785999, tiktok", source="tiktok"),
    )
    tiktok = write_tiktok(tmp_path / "All order.csv", [tiktok_row("576461413038785999")])
    files = [shopify, tiktok] if first == "shopify" else [tiktok, shopify]

    created = imported(shop, files[0])
    second = imported(shop, files[1])

    assert created.orders_new == 1
    assert (second.orders_new, second.orders_unchanged) == (0, 1)
    order = Order.objects.for_shop(shop).get()
    assert set(order.external_refs.values_list("source", "external_id")) == {
        ("shopify", "#1042"),
        ("tiktok", "576461413038785999"),
    }
    assert second.items.get().order == order


def test_an_imported_order_notifies_when_the_seller_changes_it_later(shop, owner, tmp_path):
    imported(shop, write_shopify(tmp_path / "1.csv", shopify_rows("#1001")))
    order = order_for(shop, "shopify", "#1001")
    assert not Notification.objects.exists()

    process_order(order, by=Actor.seller(owner))

    (notification,) = Notification.objects.all()
    assert (notification.template, notification.recipient) == ("order_processed", "grace@example.net")


def test_a_buyer_without_an_email_is_never_written_to(shop, tmp_path):
    order_import = imported(shop, write_tiktok(tmp_path / "1.csv", [tiktok_row("5555")]))

    order = order_for(shop, "tiktok", "5555")
    assert order.email.endswith("@imported.invalid")
    # TikTok Shop never exports emails: the import's page says so once, not every order.
    assert not any("email" in p["message"] for p in order_import.items.get().problems)


def test_a_shopify_order_without_an_email_is_flagged(shop, tmp_path):
    rows = shopify_rows("#1001")
    for row in rows:
        row["Email"] = ""
    order_import = imported(shop, write_shopify(tmp_path / "1.csv", rows))

    assert order_for(shop, "shopify", "#1001").email.endswith("@imported.invalid")
    (problem,) = [p for p in order_import.items.get().problems if p["column"] == "Email"]
    assert problem["level"] == "warning" and "the buyer cannot be told" in problem["message"]


# --- status mappings -------------------------------------------------------------------------------------


def test_an_unknown_status_is_asked_once_then_remembered_for_the_shop(shop, owner, tmp_path):
    path = write_tiktok(
        tmp_path / "All order.csv",
        [
            tiktok_row(
                "6001",
                "En tránsito",
                "",
                tracking="1Z999AA10123456784",
                carrier="UPS",
                shipped="03/03/2026 2:00:00 PM",
            ),
            tiktok_row("6002"),
        ],
    )
    order_import = previewed(shop, path)
    assert outcomes(order_import) == {"6001": "rejected", "6002": "new"}
    problem = order_import.items.get(external_id="6001").problems[-1]
    assert (problem["code"], problem["column"], problem["row"]) == ("unknown_status", "Order Status", 2)
    assert applying.unknown_status_texts(order_import) == ["En tránsito"]
    with pytest.raises(applying.ImportRefused) as refused:
        tasks.start_apply(order_import, by=owner)
    assert refused.value.code == "unknown_status_texts"
    assert refused.value.details["status_texts"] == ["En tránsito"]

    applying.remember_status_mapping(shop, "tiktok", "  EN TRÁNSITO ", "shipped", by=owner)
    order_import = applying.preview(order_import)

    assert outcomes(order_import) == {"6001": "new", "6002": "new"}
    assert applying.unknown_status_texts(order_import) == []
    applying.apply(order_import, by=owner)
    assert order_for(shop, "tiktok", "6001").status == "shipped"
    other_shop_import = previewed(ShopFactory(slug="elsewhere"), path)
    assert applying.unknown_status_texts(other_shop_import) == ["En tránsito"]


# --- tenancy, runs -----------------------------------------------------------------------------------------


def test_the_same_external_id_in_two_shops_makes_two_orders_and_never_touches_the_other(
    shop, other_shop, tmp_path
):
    path = write_tiktok(tmp_path / "All order.csv", [tiktok_row("4242")])
    imported(shop, path)
    before = snapshot(shop)

    newer = write_tiktok(
        tmp_path / "newer.csv",
        [
            tiktok_row(
                "4242",
                "Shipped",
                "In transit",
                tracking="1Z999AA10123456784",
                carrier="UPS",
                shipped="03/03/2026 2:00:00 PM",
            )
        ],
    )
    in_other = imported(other_shop, path)
    imported(other_shop, newer)

    assert in_other.orders_new == 1
    assert order_for(other_shop, "tiktok", "4242") != order_for(shop, "tiktok", "4242")
    assert order_for(other_shop, "tiktok", "4242").status == "shipped"
    assert snapshot(shop) == before


def test_a_done_import_is_not_applied_again(shop, tmp_path):
    order_import = imported(shop, write_tiktok(tmp_path / "1.csv", [tiktok_row("3001")]))
    before = snapshot(shop)

    again = applying.apply(order_import)

    assert again.state == ImportState.DONE and again.orders_new == 1
    assert snapshot(shop) == before


def test_an_apply_that_died_goes_on_where_it_stopped(shop, tmp_path, monkeypatch):
    monkeypatch.setattr(applying, "CHUNK_ROWS", 10)
    summary = samples.write_tiktok_csv(tmp_path / "All order.csv", orders=40, seed=9)
    order_import = previewed(shop, tmp_path / "All order.csv")

    class WorkerLost(BaseException):
        pass

    def die_after_two_chunks(rows_done, rows_total, calls=[]):  # noqa: B006 - counts the calls
        calls.append(rows_done)
        if len(calls) == 2:
            raise WorkerLost

    with pytest.raises(WorkerLost):
        applying.apply(order_import, progress=die_after_two_chunks)
    order_import.refresh_from_db()
    assert order_import.state == ImportState.APPLYING
    with connection.cursor() as cursor:  # the step's lock went with it
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")
        assert cursor.fetchone() == (0,)
    written = Order.objects.for_shop(shop).count()
    assert 0 < written < summary.orders

    order_import = applying.apply(order_import)

    assert order_import.state == ImportState.DONE
    assert Order.objects.for_shop(shop).count() == summary.orders == order_import.orders_new
    assert order_import.items.count() == summary.orders
    assert ExternalOrderRef.objects.filter(shop=shop).count() == summary.orders


@pytest.fixture
def other_process():
    """A second PostgreSQL session, as a second worker would have."""
    import psycopg

    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as other:
        yield other


def test_an_import_another_process_is_working_on_is_left_to_it(shop, tmp_path, other_process):
    summary = samples.write_tiktok_csv(tmp_path / "All order.csv", orders=20, seed=9)
    order_import = previewed(shop, tmp_path / "All order.csv")
    key = applying.IMPORT_LOCK_PREFIX | order_import.pk
    assert other_process.execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchone() == (True,)

    assert applying.apply(order_import).state == ImportState.PREVIEWED  # a re-delivered task's apply
    assert applying.preview(order_import).state == ImportState.PREVIEWED
    assert not Order.objects.for_shop(shop).exists()
    assert order_import.items.count() == summary.orders  # the preview's items, untouched

    other_process.execute("SELECT pg_advisory_unlock(%s)", [key])
    order_import = applying.apply(order_import)

    assert order_import.state == ImportState.DONE
    assert Order.objects.for_shop(shop).count() == summary.orders
    # released once done: another process could take it now
    assert other_process.execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchone() == (True,)


def test_only_a_checked_import_is_applied(shop, tmp_path):
    order_import = received(shop, write_tiktok(tmp_path / "1.csv", [tiktok_row("3001")]))
    with pytest.raises(applying.ImportRefused) as refused:
        applying.apply(order_import)
    assert refused.value.code == "import_not_previewed"


def test_carriers_are_matched_by_name_then_detected_then_other(shop, tmp_path):
    Carrier.objects.create(code="jt-express-us", name="J&T Express US")
    path = write_tiktok(
        tmp_path / "All order.csv",
        [
            tiktok_row(
                "1",
                "Shipped",
                "In transit",
                tracking="JT0001234567890",
                carrier="J&T Express",
                shipped="03/03/2026 2:00:00 PM",
            ),
            tiktok_row(
                "2",
                "Shipped",
                "In transit",
                tracking="1Z999AA10123456784",
                carrier="Some Courier",
                shipped="03/03/2026 2:00:00 PM",
            ),
            tiktok_row(
                "3",
                "Shipped",
                "In transit",
                tracking="XX-123",
                carrier="Some Courier",
                shipped="03/03/2026 2:00:00 PM",
            ),
        ],
    )

    imported(shop, path)

    carriers = {ref: order_for(shop, "tiktok", ref).shipments.get().carrier.code for ref in ("1", "2", "3")}
    assert carriers == {"1": "jt-express", "2": "ups", "3": "other"}


def test_the_shops_webhooks_hear_of_each_imported_order_and_buyers_get_nothing(shop, tmp_path):
    endpoint = WebhookEndpoint.objects.create(shop=shop, url="https://example.com/hooks", secret="s3cret")
    imported(
        shop, write_tiktok(tmp_path / "1.csv", [tiktok_row("1"), tiktok_row("2", email="b@example.net")])
    )

    rows = Notification.objects.order_by("id")
    assert [(n.channel, n.template, n.webhook_endpoint) for n in rows] == [
        ("webhook", "order.imported", endpoint),
        ("webhook", "order.imported", endpoint),
    ]
    payload = rows[0].context
    assert payload["type"] == "order.imported" and payload["shop"] == shop.slug
    assert payload["order"]["number"] == order_for(shop, "tiktok", "1").number
    assert payload["data"]["external_id"] == "1"
