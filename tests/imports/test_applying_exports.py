"""Tracking numbers back to the platform: one row per parcel of the shipped imported orders, cells defused."""

import csv
import io

import pytest

from orders.imports.exports import tracking_rows, write_tracking_csv
from orders.services import Actor, ParcelSpec, process_order, ship_order
from shipping.models import Carrier
from tests.factories import place

from .test_applying import imported, order_for, shopify_rows, tiktok_row, write_shopify, write_tiktok

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_tiktok_rows_list_each_parcel_of_shipped_imported_orders(shop, other_shop, owner, tmp_path):
    imported(
        shop,
        write_tiktok(
            tmp_path / "All order.csv",
            [
                tiktok_row(
                    "111",
                    "Shipped",
                    "In transit",
                    tracking="1Z999AA10123456784",
                    carrier="UPS",
                    shipped="03/03/2026 2:00:00 PM",
                ),
                tiktok_row("222"),  # awaiting shipment: shipped below, in Shipshape, in two parcels
                tiktok_row("222", sku="CAP", product="Cap"),
                tiktok_row(
                    "333",
                    "Completed",
                    "",
                    tracking="1Z999AA10000000012",
                    carrier="UPS",
                    shipped="03/03/2026 2:00:00 PM",
                    delivered="03/05/2026 4:00:00 PM",
                ),
            ],
        ),
    )
    order = process_order(order_for(shop, "tiktok", "222"), by=Actor.seller(owner))
    first, second = order.lines.order_by("id")
    ship_order(
        order,
        parcels=[
            ParcelSpec(tracking_number="1Z999AA10000000023", carrier_code="ups", lines={first.pk: 1}),
            ParcelSpec(tracking_number="JT0001234567890", carrier_code="jt-express", lines={second.pk: 1}),
        ],
        by=Actor.seller(owner),
    )
    place(shop, email="direct@example.net")  # not imported: never in the file
    imported(
        other_shop,
        write_tiktok(
            tmp_path / "other.csv",
            [
                tiktok_row(
                    "999",
                    "Shipped",
                    "In transit",
                    tracking="1Z999AA10000000034",
                    carrier="UPS",
                    shipped="03/03/2026 2:00:00 PM",
                ),
            ],
        ),
    )

    rows = list(tracking_rows(shop, "tiktok"))

    assert rows == [
        ["Order ID", "Tracking ID", "Shipping Provider Name"],
        ["111", "1Z999AA10123456784", "UPS"],
        ["222", "1Z999AA10000000023", "UPS"],
        ["222", "JT0001234567890", "J&T Express"],
    ]
    assert list(tracking_rows(shop, "shopify")) == [
        ["Name", "Tracking Number", "Tracking Company", "Tracking URL"]
    ]


def test_shopify_rows_carry_the_order_name_and_the_tracking_link(shop, owner, tmp_path):
    imported(shop, write_shopify(tmp_path / "orders_export_1.csv", shopify_rows("#1001")))
    order = process_order(order_for(shop, "shopify", "#1001"), by=Actor.seller(owner))
    ship_order(order, parcels=[ParcelSpec(tracking_number="1Z999AA10123456784")], by=Actor.seller(owner))

    rows = list(tracking_rows(shop, "shopify"))

    assert rows[1] == [
        "#1001",
        "1Z999AA10123456784",
        "UPS",
        "https://www.ups.com/track?tracknum=1Z999AA10123456784",
    ]


def test_every_cell_that_a_spreadsheet_would_run_is_defused(shop, owner, tmp_path):
    Carrier.objects.create(code="formula", name='=HYPERLINK("http://x")')
    imported(shop, write_shopify(tmp_path / "orders_export_1.csv", shopify_rows("-1001")))
    order = process_order(order_for(shop, "shopify", "-1001"), by=Actor.seller(owner))
    ship_order(
        order, parcels=[ParcelSpec(tracking_number="@123", carrier_code="formula")], by=Actor.seller(owner)
    )
    out = io.StringIO()

    count = write_tracking_csv(shop, "shopify", out)

    assert count == 1
    header, row = list(csv.reader(io.StringIO(out.getvalue())))
    assert header == ["Name", "Tracking Number", "Tracking Company", "Tracking URL"]
    assert row[:3] == ["'-1001", "'@123", '\'=HYPERLINK("http://x")']
