"""CSV export of the whole filter: streamed, one row per order, formula-safe, this shop's orders only."""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from dashboard import exports
from dashboard.selectors.orders import OrderListQuery, orders_for_export
from orders.models import Order
from orders.services import LineSpec
from orders.states import OrderStatus
from tests.factories import CouponFactory, order_in, place

pytestmark = pytest.mark.django_db
URL = "/dashboard/orders/export/"


def rows_of(response) -> list[dict]:
    assert response.streaming
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(body.lstrip("\ufeff"))))


def test_the_url_names_the_export():
    assert reverse("dashboard:orders_export") == URL


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("dashboard:login"))


def test_one_row_per_order_with_every_column(staff_client, shop):
    CouponFactory(shop=shop, code="TEN", value=Decimal("10"))
    shipped = order_in(OrderStatus.SHIPPED, shop=shop, email="ship@example.net", customer_name="Sam Shipper")
    with_coupon = place(shop, email="coupon@example.net", coupon_code="TEN")
    response = staff_client.get(URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="orders-demo-threads-all-')
    rows = rows_of(response)
    assert list(rows[0]) == [
        "Order number",
        "Placed (UTC)",
        "Status",
        "Payment status",
        "Customer email",
        "Customer name",
        "Items",
        "Subtotal",
        "Discount",
        "Shipping",
        "Total",
        "Currency",
        "Carriers",
        "Tracking numbers",
        "Ship-to city",
        "Ship-to country",
    ]
    by_number = {row["Order number"]: row for row in rows}
    assert set(by_number) == {shipped.number, with_coupon.number}
    row = by_number[shipped.number]
    assert row["Placed (UTC)"] == shipped.placed_at.strftime("%Y-%m-%d %H:%M:%S")
    assert row["Status"] == "shipped"
    assert row["Payment status"] == "paid"
    assert row["Customer email"] == "ship@example.net"
    assert row["Customer name"] == "Sam Shipper"
    assert row["Items"] == "3"
    assert (row["Subtotal"], row["Discount"], row["Shipping"], row["Total"]) == (
        "39.50",
        "0.00",
        "4.50",
        "44.00",
    )
    assert row["Currency"] == "USD"
    assert row["Carriers"] == "UPS"
    assert row["Tracking numbers"] == shipped.shipments.get().tracking_number
    assert (row["Ship-to city"], row["Ship-to country"]) == ("Portsmouth", "GB")
    assert by_number[with_coupon.number]["Discount"] == "3.95"
    assert by_number[with_coupon.number]["Carriers"] == ""


def test_the_export_follows_the_filter_and_sort(owner_client, shop):
    pending = [place(shop) for _ in range(3)]
    order_in(OrderStatus.CANCELLED, shop=shop)
    rows = rows_of(owner_client.get(URL, {"status": "pending", "sort": "oldest"}))
    assert [row["Order number"] for row in rows] == [o.number for o in pending]


def test_another_shops_orders_never_appear(owner_client, shop, other_shop):
    mine = place(shop, email="mine@example.net")
    place(other_shop, email="theirs@example.net")
    rows = rows_of(owner_client.get(URL))
    assert [row["Customer email"] for row in rows] == ["mine@example.net"]
    assert [row["Order number"] for row in rows] == [mine.number]


@pytest.mark.parametrize("dangerous", ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)"])
def test_spreadsheet_formulas_are_defused(owner_client, shop, dangerous):
    place(
        shop,
        customer_name=dangerous,
        address={"name": "X", "line1": "1 Road", "city": dangerous, "country": "GB"},
    )
    row = rows_of(owner_client.get(URL))[0]
    assert row["Customer name"] == "'" + dangerous
    assert row["Ship-to city"] == "'" + dangerous


def test_defuse_leaves_ordinary_text_alone():
    assert exports.defuse("Ada Lovelace") == "Ada Lovelace"
    assert exports.defuse("12.50") == "12.50"
    assert exports.defuse(None) == ""
    assert exports.defuse("=1+1") == "'=1+1"
    assert exports.defuse("\t=1") == "'\t=1"
    assert exports.defuse("\r=1") == "'\r=1"


def test_large_exports_say_how_many_first(owner_client, shop, monkeypatch):
    from dashboard.views import orders as views

    monkeypatch.setattr(views, "EXPORT_CONFIRM_ABOVE", 2)
    for _ in range(3):
        place(shop)
    response = owner_client.get(URL, {"status": "pending"})
    assert response.status_code == 200
    assert not response.streaming
    page = response.content.decode()
    assert "Exporting 3 orders; the download starts in a moment." in page
    assert 'href="/dashboard/orders/export/?status=pending&amp;confirmed=1" data-autostart' in page
    started = owner_client.get(URL, {"status": "pending", "confirmed": "1"})
    assert len(rows_of(started)) == 3


def test_export_reads_in_keyset_chunks(shop, django_assert_num_queries):
    """Chunks of ``chunk_size`` orders: each chunk is one query for the orders and one for their parcels."""
    orders = [
        place(shop, lines=[LineSpec(sku="A", name="A", quantity=1, unit_price=Decimal(n))]) for n in range(7)
    ]
    with django_assert_num_queries(8):  # chunks of 2, 2, 2 and 1 orders, 2 queries each
        exported = list(orders_for_export(shop, OrderListQuery(sort="total_low"), chunk_size=2))
    assert [row["number"] for row in exported] == [o.number for o in orders]
    assert Order.objects.count() == 7
