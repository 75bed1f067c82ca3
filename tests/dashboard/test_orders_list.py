"""The order list page: tabs, every filter and kind of search, sorts, keyset pages, saved views, tenancy."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboard.models import SavedView
from dashboard.selectors.orders import Cursor
from orders.models import Order
from orders.services import Actor, LineSpec, ParcelSpec, request_return, ship_order
from orders.states import OrderStatus
from shipping.models import Shipment
from tests.factories import CouponFactory, order_in, place

pytestmark = pytest.mark.django_db
URL = "/dashboard/orders/"
SELLER = Actor.system()


def listed(response) -> list[str]:
    """The order numbers in the table, in the order shown."""
    return re.findall(r'name="orders" value="([^"]+)"', response.content.decode())


def get(client, **params):
    response = client.get(URL, params)
    assert response.status_code == 200
    return response


def test_the_url_names_the_page(owner_client):
    assert reverse("dashboard:orders") == URL


def test_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("dashboard:login"))


def test_staff_see_the_list(staff_client, shop):
    order = place(shop)
    assert listed(get(staff_client)) == [order.number]


def test_no_orders_yet_says_so(owner_client):
    response = get(owner_client)
    assert "No orders yet" in response.content.decode()
    assert listed(response) == []


def test_nothing_matches_offers_to_clear_the_filters(owner_client, shop):
    place(shop)
    response = get(owner_client, q="nobody-like-this")
    page = response.content.decode()
    assert "No orders match these filters." in page
    assert 'href="/dashboard/orders/" hx-get="/dashboard/orders/">Clear filters' in page


def test_a_row_shows_what_a_seller_needs(owner_client, shop):
    order = place(shop, email="row@example.net", customer_name="Rowena Buyer")
    page = get(owner_client).content.decode()
    assert f'href="/dashboard/orders/{order.number}/"' in page  # the detail page's address
    assert "Rowena Buyer" in page
    assert "row@example.net" in page
    assert "$44.00" in page  # 2 × 15.00 + 9.50 + 4.50 shipping
    assert '<td class="number optional">3</td>' in page  # items
    assert "Paid" in page
    assert '<span class="badge pending">Pending</span>' in page


def test_another_shops_orders_are_never_listed(owner_client, shop, other_shop):
    mine = place(shop, email="mine@example.net")
    theirs = place(other_shop, email="theirs@example.net")
    page = get(owner_client).content.decode()
    assert listed(get(owner_client)) == [mine.number]
    assert "theirs@example.net" not in page
    assert listed(get(owner_client, q="theirs@example.net")) == []
    assert theirs.number == mine.number  # same number in each shop: only ours shows, once


def test_status_tabs_count_and_filter(owner_client, shop):
    pending = [order_in(OrderStatus.PENDING, shop=shop) for _ in range(2)]
    processed = order_in(OrderStatus.PROCESSED, shop=shop)
    shipped = order_in(OrderStatus.SHIPPED, shop=shop)
    delivered = order_in(OrderStatus.DELIVERED, shop=shop)
    cancelled = order_in(OrderStatus.CANCELLED, shop=shop)
    returned = order_in(OrderStatus.RETURNED, shop=shop)
    page = get(owner_client).content.decode()
    for label, count in [
        ("All", 7),
        ("To process", 2),
        ("To ship", 1),
        ("Shipped", 1),
        ("Delivered", 1),
        ("Cancelled", 1),
        ("Returned", 1),
    ]:
        assert re.search(rf'>{label} <span class="count">{count}</span>', page), label
    expected = {
        "pending": {o.number for o in pending},
        "processed": {processed.number},
        "shipped": {shipped.number},
        "delivered": {delivered.number},
        "cancelled": {cancelled.number},
        "returned": {returned.number},
    }
    for status, numbers in expected.items():
        assert set(listed(get(owner_client, status=status))) == numbers
    current = get(owner_client, status="processed").content.decode()
    assert re.search(r'aria-current="page">To ship <span class="count">1</span>', current)


def test_tab_counts_follow_the_other_filters_and_tabs_keep_them(owner_client, shop):
    order_in(OrderStatus.PENDING, shop=shop, email="a@example.net")
    order_in(OrderStatus.PROCESSED, shop=shop, email="a@example.net")
    order_in(OrderStatus.PENDING, shop=shop, email="b@example.net")
    page = get(owner_client, q="a@example.net").content.decode()
    assert re.search(r'>All <span class="count">2</span>', page)
    assert re.search(r'>To process <span class="count">1</span>', page)
    assert 'href="/dashboard/orders/?q=a%40example.net&amp;status=pending"' in page


def test_tab_counts_stop_at_the_cap(owner_client, shop, monkeypatch):
    from dashboard.selectors import orders as selectors

    monkeypatch.setattr(selectors, "COUNT_CAP", 2)
    for _ in range(3):
        place(shop)
    order_in(OrderStatus.PROCESSED, shop=shop)
    page = get(owner_client).content.decode()
    assert re.search(r'>All <span class="count">2\+</span>', page)
    assert re.search(r'>To process <span class="count">2\+</span>', page)
    assert re.search(r'>To ship <span class="count">1</span>', page)


def test_tab_counts_of_a_filter_that_reads_each_order_count_the_matches_once(owner_client, shop, monkeypatch):
    from dashboard.selectors import orders as selectors

    for status in (OrderStatus.PENDING, OrderStatus.PROCESSED, OrderStatus.PENDING):
        returned = order_in(OrderStatus.DELIVERED, shop=shop)
        request_return(returned, lines={returned.lines.first().pk: 1}, reason="Too small", by=Actor.buyer())
        order_in(status, shop=shop)
    page = get(owner_client, open_return="1").content.decode()
    assert re.search(r'>All <span class="count">3</span>', page)
    assert re.search(r'>Delivered <span class="count">3</span>', page)
    assert re.search(r'>To process <span class="count">0</span>', page)
    monkeypatch.setattr(selectors, "COUNT_CAP", 2)  # the matches stop at the cap: counts so far, with "+"
    page = get(owner_client, open_return="1").content.decode()
    assert re.search(r'>All <span class="count">2\+</span>', page)
    assert re.search(r'>Delivered <span class="count">2\+</span>', page)


def test_a_name_search_shows_tabs_without_counts(owner_client, shop):
    order_in(OrderStatus.PENDING, shop=shop, email="g1@example.net", customer_name="Grace Hopper")
    order_in(OrderStatus.PROCESSED, shop=shop, email="g2@example.net", customer_name="Grace Kelly")
    order_in(OrderStatus.PENDING, shop=shop, email="a@example.net", customer_name="Alan Turing")
    response = get(owner_client, q="grace")
    assert len(listed(response)) == 2
    page = response.content.decode()
    assert '<span class="count">' not in page
    assert ">To process</a>" in page


def test_payment_status_filter(owner_client, shop):
    paid = place(shop)
    unpaid = place(shop, paid=False)
    assert listed(get(owner_client, payment_status="unpaid")) == [unpaid.number]
    assert listed(get(owner_client, payment_status="paid")) == [paid.number]


def test_date_range_is_read_in_the_shops_timezone(owner_client, shop):
    shop.timezone = "America/New_York"
    shop.save()
    # 02:00 UTC on 10 March is still 9 March in New York.
    late_evening = place(shop, placed_at=timezone.datetime(2026, 3, 10, 2, 0, tzinfo=timezone.UTC))
    next_morning = place(shop, placed_at=timezone.datetime(2026, 3, 10, 15, 0, tzinfo=timezone.UTC))
    place(shop, placed_at=timezone.datetime(2026, 3, 12, 15, 0, tzinfo=timezone.UTC))
    assert listed(get(owner_client, **{"from": "2026-03-09", "to": "2026-03-09"})) == [late_evening.number]
    assert listed(get(owner_client, **{"from": "2026-03-10", "to": "2026-03-10"})) == [next_morning.number]
    assert len(listed(get(owner_client, **{"from": "2026-03-09", "to": "2026-03-11"}))) == 2
    assert len(listed(get(owner_client, **{"from": "2026-03-11"}))) == 1


def test_an_invalid_date_is_ignored(owner_client, shop):
    order = place(shop)
    assert listed(get(owner_client, **{"from": "not-a-date"})) == [order.number]


def test_carrier_filter(owner_client, shop):
    by_ups = order_in(OrderStatus.SHIPPED, shop=shop)
    by_royal_mail = order_in(OrderStatus.PROCESSED, shop=shop)
    ship_order(
        by_royal_mail,
        parcels=[ParcelSpec(carrier_code="royal-mail", tracking_number="AB123456789GB")],
        by=SELLER,
    )
    place(shop)
    assert listed(get(owner_client, carrier="ups")) == [by_ups.number]
    assert listed(get(owner_client, carrier="royal-mail")) == [by_royal_mail.number]


def test_coupon_filter_ignores_case(owner_client, shop):
    CouponFactory(shop=shop, code="SPRING10")
    with_coupon = place(shop, coupon_code="SPRING10")
    place(shop)
    assert listed(get(owner_client, coupon="spring10")) == [with_coupon.number]
    assert listed(get(owner_client, coupon="NOPE")) == []


def test_late_filter_and_marker(owner_client, shop):
    late = place(shop, placed_at=timezone.now() - timedelta(days=5))
    place(shop)  # within the two handling days
    response = get(owner_client, late="1")
    assert listed(response) == [late.number]
    assert '<span class="badge late">Late</span>' in response.content.decode()


def test_delayed_in_transit_filter_and_marker(owner_client, shop):
    delayed = order_in(OrderStatus.SHIPPED, shop=shop)
    Shipment.objects.filter(order=delayed).update(delay_reported_at=timezone.now())
    order_in(OrderStatus.SHIPPED, shop=shop)
    delivered_after_delay = order_in(OrderStatus.DELIVERED, shop=shop)
    Shipment.objects.filter(order=delivered_after_delay).update(delay_reported_at=timezone.now())
    response = get(owner_client, delayed="1")
    assert listed(response) == [delayed.number]
    assert '<span class="badge late">Delayed</span>' in response.content.decode()


def test_open_return_filter_and_marker(owner_client, shop):
    returning = order_in(OrderStatus.DELIVERED, shop=shop)
    request_return(
        returning,
        lines={line.pk: 1 for line in returning.lines.all()[:1]},
        reason="Too small",
        by=Actor.buyer(),
    )
    order_in(OrderStatus.DELIVERED, shop=shop)
    response = get(owner_client, open_return="1")
    assert listed(response) == [returning.number]
    assert "Return open" in response.content.decode()


def test_awaiting_reply_filter(owner_client, shop):
    waiting = place(shop)
    Order.objects.filter(pk=waiting.pk).update(awaiting_reply_since=timezone.now())
    place(shop)
    response = get(owner_client, awaiting_reply="1")
    assert listed(response) == [waiting.number]
    assert "Awaiting reply" in response.content.decode()


class TestSearch:
    def test_by_order_number_in_any_case(self, owner_client, shop):
        order, _other = place(shop), place(shop)
        assert listed(get(owner_client, q=order.number.lower())) == [order.number]

    def test_by_a_bare_number_with_the_shops_prefix(self, owner_client, shop):
        order, _other = place(shop), place(shop)
        assert listed(get(owner_client, q=order.number.split("-")[1])) == [order.number]

    def test_several_numbers_pasted_at_once(self, owner_client, shop):
        a, b, c, _d = (place(shop) for _ in range(4))
        pasted = f"{a.number}, {b.number}\n{c.number.lower()}"
        assert set(listed(get(owner_client, q=pasted))) == {a.number, b.number, c.number}

    def test_by_customer_email(self, owner_client, shop):
        order = place(shop, email="Someone@Example.net")
        place(shop)
        assert listed(get(owner_client, q="SOMEONE@example.net")) == [order.number]

    def test_by_customer_name(self, owner_client, shop):
        order = place(shop, email="grace@example.net", customer_name="Grace Hopper")
        place(shop)
        assert listed(get(owner_client, q="grace hop")) == [order.number]

    def test_by_recipient_name(self, owner_client, shop):
        order = place(
            shop, address={"name": "Linus Parcel", "line1": "1 Road", "city": "Oslo", "country": "NO"}
        )
        place(shop)
        assert listed(get(owner_client, q="Parcel")) == [order.number]

    def test_by_tracking_number_with_spaces(self, owner_client, shop):
        order = order_in(OrderStatus.SHIPPED, shop=shop)
        order_in(OrderStatus.SHIPPED, shop=shop)
        number = order.shipments.get().tracking_number
        spaced = " ".join(number[i : i + 4] for i in range(0, len(number), 4)).lower()
        assert listed(get(owner_client, q=spaced)) == [order.number]

    def test_by_sku(self, owner_client, shop):
        mug = place(
            shop, lines=[LineSpec(sku="MUG-BLUE", name="Mug", quantity=1, unit_price=Decimal("8.00"))]
        )
        place(shop)
        assert listed(get(owner_client, q="mug-blue")) == [mug.number]

    def test_never_finds_another_shops_order_by_tracking_number(self, owner_client, shop, other_shop):
        theirs = order_in(OrderStatus.SHIPPED, shop=other_shop)
        assert listed(get(owner_client, q=theirs.shipments.get().tracking_number)) == []


def test_sorts(owner_client, shop):
    now = timezone.now()
    cheap = place(
        shop,
        placed_at=now - timedelta(hours=3),
        lines=[LineSpec(sku="A", name="A", quantity=1, unit_price=Decimal("1.00"))],
    )
    dear = place(
        shop,
        placed_at=now - timedelta(hours=2),
        lines=[LineSpec(sku="B", name="B", quantity=1, unit_price=Decimal("100.00"))],
    )
    middle = place(
        shop,
        placed_at=now - timedelta(hours=1),
        lines=[LineSpec(sku="C", name="C", quantity=1, unit_price=Decimal("10.00"))],
    )
    assert listed(get(owner_client)) == [middle.number, dear.number, cheap.number]
    assert listed(get(owner_client, sort="oldest")) == [cheap.number, dear.number, middle.number]
    assert listed(get(owner_client, sort="total_high")) == [dear.number, middle.number, cheap.number]
    assert listed(get(owner_client, sort="total_low")) == [cheap.number, middle.number, dear.number]
    assert listed(get(owner_client, sort="bogus")) == [middle.number, dear.number, cheap.number]


def _next_url(response) -> str | None:
    found = re.search(r'rel="next" href="([^"]+)"', response.content.decode())
    return found.group(1).replace("&amp;", "&") if found else None


def _previous_url(response) -> str | None:
    found = re.search(r'rel="prev" href="([^"]+)"', response.content.decode())
    return found.group(1).replace("&amp;", "&") if found else None


@pytest.mark.parametrize("sort", ["newest", "oldest", "total_high", "total_low"])
def test_keyset_pages_walk_forwards_and_back_without_gaps(owner_client, shop, sort):
    now = timezone.now()
    # 60 orders, some sharing a time and a total, so ties are broken by id.
    for n in range(60):
        place(
            shop,
            placed_at=now - timedelta(minutes=n // 2),
            lines=[LineSpec(sku="X", name="X", quantity=1, unit_price=Decimal(n % 7))],
        )
    first = get(owner_client, sort=sort)
    assert _previous_url(first) is None
    pages = [listed(first)]
    response = first
    while url := _next_url(response):
        response = owner_client.get(url)
        pages.append(listed(response))
    assert [len(p) for p in pages] == [25, 25, 10]
    seen = [n for p in pages for n in p]
    assert len(set(seen)) == 60
    column, descending = {
        "newest": ("placed_at", True),
        "oldest": ("placed_at", False),
        "total_high": ("total", True),
        "total_low": ("total", False),
    }[sort]
    expected = list(
        Order.objects.filter(shop=shop)
        .order_by(f"-{column}" if descending else column, "-id" if descending else "id")
        .values_list("number", flat=True)
    )
    assert seen == expected
    # Back from the last page: the same pages in reverse, and no "Previous" on the first.
    back = owner_client.get(_previous_url(response))
    assert listed(back) == pages[1]
    back = owner_client.get(_previous_url(back))
    assert listed(back) == pages[0]
    assert _previous_url(back) is None
    assert _next_url(back) is not None


def test_a_malformed_cursor_shows_the_first_page(owner_client, shop):
    orders = [place(shop) for _ in range(3)]
    assert len(listed(get(owner_client, cursor="garbage!!"))) == len(orders)
    bad_time = Cursor(value=Decimal("1"), pk=1).encode()  # a total where a time belongs
    assert len(listed(get(owner_client, cursor=bad_time))) == len(orders)


def test_the_list_uses_the_same_number_of_queries_whatever_the_page_holds(
    owner_client, shop, django_assert_num_queries
):
    def render() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            get(owner_client)
        return len(captured)

    place(shop)
    few = render()
    for status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.PENDING):
        for _ in range(10):
            order_in(status, shop=shop)
    many = render()
    assert few == many
    # Session, user, memberships, the carriers of the filter, the page's ids, its rows, the tab counts
    # and the saved views.
    with django_assert_num_queries(8):
        get(owner_client)


def test_a_search_adds_only_its_lookups(owner_client, shop, django_assert_num_queries):
    orders = [place(shop) for _ in range(30)]
    with django_assert_num_queries(9):  # the 8 above and the order number's existence check
        get(owner_client, q=orders[3].number)


def test_htmx_gets_only_the_listing(owner_client, shop):
    place(shop)
    response = owner_client.get(
        URL, {"status": "pending"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="order-listing"
    )
    page = response.content.decode()
    assert page.lstrip().startswith('<div id="order-listing"')
    assert "<html" not in page


class TestSavedViews:
    def test_save_list_and_open_a_view(self, owner_client, owner, shop):
        late = place(shop, placed_at=timezone.now() - timedelta(days=5))
        place(shop)
        response = owner_client.post(
            reverse("dashboard:orders_view_save"),
            {"name": "Late ones", "query": "late=1&cursor=abc&status=pending&bogus=1"},
        )
        saved = SavedView.objects.get(user=owner, shop=shop)
        assert saved.query == "status=pending&late=1"
        assert response.status_code == 302
        assert response["Location"] == f"{URL}?view={saved.pk}"
        opened = get(owner_client, view=saved.pk)
        assert listed(opened) == [late.number]
        page = opened.content.decode()
        assert (
            f'href="{URL}?view={saved.pk}" hx-get="{URL}?view={saved.pk}" aria-current="page">Late ones'
            in page
        )

    def test_saving_the_same_name_replaces_the_filters(self, owner_client, owner, shop):
        SavedView.objects.create(user=owner, shop=shop, name="Mine", query="late=1")
        owner_client.post(reverse("dashboard:orders_view_save"), {"name": "Mine", "query": "delayed=1"})
        assert list(SavedView.objects.values_list("name", "query")) == [("Mine", "delayed=1")]

    def test_a_view_needs_a_name(self, owner_client):
        response = owner_client.post(
            reverse("dashboard:orders_view_save"), {"name": "", "query": "late=1"}, follow=True
        )
        assert "This field is required." in response.content.decode()
        assert not SavedView.objects.exists()

    def test_views_are_per_user_and_shop(self, owner_client, staff_client, owner, staff, shop, other_shop):
        mine = SavedView.objects.create(user=owner, shop=shop, name="Owner's view", query="late=1")
        SavedView.objects.create(user=owner, shop=other_shop, name="Elsewhere", query="late=1")
        SavedView.objects.create(user=staff, shop=shop, name="Staff view", query="delayed=1")
        page = get(owner_client).content.decode()
        assert "Owner&#x27;s view" in page
        assert "Elsewhere" not in page and "Staff view" not in page
        # Someone else's view id is ignored (the plain list shows).
        place(shop)
        assert len(listed(get(staff_client, view=mine.pk))) == 1

    def test_delete_own_view_only(self, owner_client, staff_client, owner, staff, shop):
        mine = SavedView.objects.create(user=owner, shop=shop, name="Mine", query="late=1")
        assert staff_client.post(reverse("dashboard:orders_view_delete", args=[mine.pk])).status_code == 404
        assert SavedView.objects.filter(pk=mine.pk).exists()
        response = owner_client.post(reverse("dashboard:orders_view_delete", args=[mine.pk]))
        assert response.status_code == 302
        assert not SavedView.objects.filter(pk=mine.pk).exists()

    def test_the_save_form_appears_on_a_filtered_list(self, owner_client, shop):
        place(shop)
        assert "Save these filters as a view" not in get(owner_client).content.decode()
        page = get(owner_client, late="1").content.decode()
        assert "Save these filters as a view" in page
        assert 'name="query" value="late=on"' in page or 'name="query" value="late=1"' in page
