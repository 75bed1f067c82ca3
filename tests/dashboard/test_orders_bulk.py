"""Bulk actions on the selected orders: process, cancel with a reason, packing slips, CSV of the selection."""

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.urls import reverse

from orders.models import EventKind, Order
from orders.states import OrderStatus, PaymentStatus
from tests.factories import order_in, place

pytestmark = pytest.mark.django_db
URL = "/dashboard/orders/bulk/"
BACK = "/dashboard/orders/?status=pending"


def bulk(client, action, orders, **data):
    return client.post(URL, {"action": action, "orders": [o.number for o in orders], "next": BACK, **data})


def messages_of(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


def status_of(order) -> str:
    order.refresh_from_db()
    return order.status


def test_the_url_names_the_action():
    assert reverse("dashboard:orders_bulk") == URL


def test_anonymous_is_sent_to_sign_in(client, shop):
    order = place(shop)
    response = bulk(client, "process", [order])
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("dashboard:login"))
    assert status_of(order) == OrderStatus.PENDING


def test_get_is_refused(owner_client):
    assert owner_client.get(URL).status_code == 405


def test_bulk_requires_a_csrf_token(owner, shop):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    order = place(shop)
    assert bulk(client, "process", [order]).status_code == 403
    assert status_of(order) == OrderStatus.PENDING


def test_process_reports_done_and_refused_orders_one_by_one(staff_client, staff, shop):
    paid = [place(shop), place(shop)]
    unpaid = place(shop, paid=False)
    shipped = order_in(OrderStatus.SHIPPED, shop=shop)
    response = bulk(staff_client, "process", [*paid, unpaid, shipped])
    assert response.status_code == 302
    assert response["Location"] == BACK
    assert [status_of(o) for o in paid] == [OrderStatus.PROCESSED] * 2
    assert status_of(unpaid) == OrderStatus.PENDING
    assert status_of(shipped) == OrderStatus.SHIPPED
    got = messages_of(response)
    assert ("error", f"{unpaid.number}: The order is not paid and is not cash on delivery.") in got
    assert (
        "error",
        f"{shipped.number}: An order that is shipped cannot become processed. "
        "Allowed next: Delivered, Returned.",
    ) in got
    done = [text for level, text in got if level == "success"]
    assert len(done) == 1
    assert done[0].startswith("2 orders processed: ")
    assert set(done[0].split(": ")[1].split(", ")) == {o.number for o in paid}
    assert paid[0].events.filter(kind=EventKind.PROCESSED, actor=staff).exists()


def test_nothing_selected_says_so(owner_client):
    response = owner_client.post(URL, {"action": "process", "next": BACK})
    assert response["Location"] == BACK
    assert messages_of(response) == [("error", "Select at least one order.")]


def test_an_unknown_action_does_nothing(owner_client, shop):
    order = place(shop)
    response = bulk(owner_client, "delete_everything", [order])
    assert messages_of(response) == [("error", "Choose what to do with the selected orders.")]
    assert status_of(order) == OrderStatus.PENDING


def test_next_never_leaves_the_site(owner_client, shop):
    order = place(shop)
    response = owner_client.post(
        URL, {"action": "process", "orders": [order.number], "next": "https://evil.example/"}
    )
    assert response["Location"] == "/dashboard/orders/"


def test_another_shops_orders_are_left_alone(owner_client, shop, other_shop):
    theirs = place(other_shop)
    theirs_only = [place(other_shop) for _ in range(2)][-1]  # a number this shop has not reached yet
    mine = place(shop)
    assert mine.number == theirs.number  # numbers repeat across shops: the selection is this shop's
    response = bulk(owner_client, "process", [mine, theirs_only])
    assert status_of(mine) == OrderStatus.PROCESSED
    assert status_of(theirs) == OrderStatus.PENDING
    assert status_of(theirs_only) == OrderStatus.PENDING
    assert (
        "warning",
        f"This order number is not in this shop and was skipped: {theirs_only.number}",
    ) in messages_of(response)
    bulk(owner_client, "cancel", [theirs_only], reason="Nope")
    assert status_of(theirs_only) == OrderStatus.PENDING


class TestCancel:
    def test_without_a_reason_asks_for_one_and_lists_the_orders(self, owner_client, shop):
        orders = [place(shop), place(shop)]
        response = bulk(owner_client, "cancel", orders)
        assert response.status_code == 200
        page = response.content.decode()
        assert "Cancel 2 orders" in page
        for order in orders:
            assert f'<input type="hidden" name="orders" value="{order.number}">' in page
        assert 'name="reason"' in page
        assert f'href="{BACK}"'.replace("&", "&amp;") in page
        assert all(status_of(o) == OrderStatus.PENDING for o in orders)

    def test_an_empty_reason_is_refused_beside_the_field(self, owner_client, shop):
        order = place(shop)
        response = bulk(owner_client, "cancel", [order], reason="   ")
        assert response.status_code == 422
        assert "Say why the orders are cancelled." in response.content.decode()
        assert status_of(order) == OrderStatus.PENDING

    def test_with_a_reason_cancels_refunds_and_reports_refusals(self, manager_client, shop):
        pending = place(shop)
        processed = order_in(OrderStatus.PROCESSED, shop=shop)
        shipped = order_in(OrderStatus.SHIPPED, shop=shop)
        response = bulk(manager_client, "cancel", [pending, processed, shipped], reason="Out of stock")
        assert response.status_code == 302
        assert status_of(pending) == OrderStatus.CANCELLED
        assert status_of(processed) == OrderStatus.CANCELLED
        assert status_of(shipped) == OrderStatus.SHIPPED
        pending.refresh_from_db()
        assert pending.cancel_reason == "Out of stock"
        assert pending.payment_status == PaymentStatus.REFUNDED
        got = messages_of(response)
        assert any(level == "success" and text.startswith("2 orders cancelled: ") for level, text in got)
        assert any(level == "error" and text.startswith(f"{shipped.number}: ") for level, text in got)

    def test_staff_can_cancel(self, staff_client, shop):
        order = place(shop)
        bulk(staff_client, "cancel", [order], reason="Buyer asked")
        assert status_of(order) == OrderStatus.CANCELLED


class TestPackingSlips:
    def test_one_slip_per_order_with_addresses_and_lines_but_no_prices(self, owner_client, shop):
        shop.ship_from_name = "Demo Threads Warehouse"
        shop.ship_from_line1 = "5 Dock Road"
        shop.ship_from_city = "Leeds"
        shop.ship_from_country = "GB"
        shop.save()
        orders = [place(shop, email="one@example.net"), place(shop, email="two@example.net")]
        response = bulk(owner_client, "slips", orders)
        assert response.status_code == 200
        page = response.content.decode()
        assert page.count('<article class="slip"') == 2
        for order in orders:
            assert f"Packing slip · {order.number}" in page
        assert "Demo Threads Warehouse" in page and "5 Dock Road" in page
        assert "12 Harbour Street" in page and "Portsmouth" in page
        assert "TEE-M-BLK" in page and "M / black" in page and "CAP-RED" in page
        assert "$" not in page and "15.00" not in page  # no prices on a packing slip
        assert "dashboard/orders" in page and ".css" in page  # the stylesheet with the print rules
        stylesheet = settings.BASE_DIR / "static" / "dashboard" / "orders.css"
        assert "@media print" in stylesheet.read_text()

    def test_another_shops_order_gets_no_slip(self, owner_client, shop, other_shop):
        place(other_shop)
        theirs = place(other_shop)
        response = bulk(owner_client, "slips", [theirs])
        assert '<article class="slip"' not in response.content.decode()


class TestExportSelection:
    def test_csv_of_the_selected_orders_only(self, owner_client, shop):
        chosen = [place(shop, email="a@example.net"), place(shop, email="b@example.net")]
        place(shop, email="not-chosen@example.net")
        response = bulk(owner_client, "export", chosen)
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        assert "attachment" in response["Content-Disposition"]
        body = b"".join(response.streaming_content).decode("utf-8-sig")
        assert "a@example.net" in body and "b@example.net" in body
        assert "not-chosen@example.net" not in body
        assert len(body.strip().splitlines()) == 3


def test_processing_twice_is_harmless(owner_client, shop):
    order = place(shop)
    bulk(owner_client, "process", [order])
    response = bulk(owner_client, "process", [order])
    assert status_of(order) == OrderStatus.PROCESSED
    assert Order.objects.get(pk=order.pk).events.filter(kind=EventKind.PROCESSED).count() == 1
    assert any(level == "error" for level, _text in messages_of(response))
