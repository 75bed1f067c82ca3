"""Customers: the list (search, pages, order count, total spent) and a customer's page, scoped to the shop."""

from decimal import Decimal

import pytest
from django.urls import reverse

from orders.models import Order
from orders.states import OrderStatus
from shop.models import Customer
from tests.factories import CouponFactory, CustomerFactory, order_in, place

pytestmark = pytest.mark.django_db


def test_list_shows_orders_and_total_spent(staff_client, shop, other_shop):
    place(shop, email="ada@example.net")
    place(shop, email="ada@example.net")
    order_in(OrderStatus.CANCELLED, shop=shop, email="ada@example.net")  # not spent
    place(other_shop, email="ada@example.net")  # another shop's customer with the same email
    response = staff_client.get(reverse("dashboard:customers"))
    assert response.status_code == 200
    customers = response.context["customers"]
    assert [c.email for c in customers] == ["ada@example.net"]
    assert customers[0].spent == Decimal("88.00")
    assert customers[0].order_count == 3
    assert "$88.00" in response.content.decode()


def test_search_by_email_and_name(staff_client, shop):
    CustomerFactory(shop=shop, email="grace@example.net", name="Grace Hopper")
    CustomerFactory(shop=shop, email="alan@example.net", name="Alan Turing")
    url = reverse("dashboard:customers")
    assert [c.name for c in staff_client.get(url, {"q": "GRACE@example.net"}).context["customers"]] == [
        "Grace Hopper"
    ]
    assert [c.name for c in staff_client.get(url, {"q": "turing"}).context["customers"]] == ["Alan Turing"]
    response = staff_client.get(url, {"q": "nobody"})
    assert response.context["customers"] == []
    assert "No customer matches." in response.content.decode()


def test_pages_continue_after_the_last_id(staff_client, shop, monkeypatch):
    made = [CustomerFactory(shop=shop) for _ in range(5)]
    from dashboard.selectors import customers as selector

    original = selector.customer_list_for_shop
    monkeypatch.setattr(
        "dashboard.views.customers.customer_list_for_shop", lambda *a, **k: original(*a, **{**k, "limit": 2})
    )
    url = reverse("dashboard:customers")
    first = staff_client.get(url)
    assert [c.pk for c in first.context["customers"]] == [made[4].pk, made[3].pk]
    second = staff_client.get(url, {"after": first.context["next_after"]})
    assert [c.pk for c in second.context["customers"]] == [made[2].pk, made[1].pk]
    third = staff_client.get(url, {"after": second.context["next_after"]})
    assert [c.pk for c in third.context["customers"]] == [made[0].pk]
    assert third.context["next_after"] is None


def test_list_query_count(staff_client, shop, django_assert_num_queries):
    for n in range(4):
        place(shop, email=f"buyer{n}@example.net")
    # session, user, memberships; one page of customers with their totals.
    with django_assert_num_queries(4):
        staff_client.get(reverse("dashboard:customers"))


def test_customer_page(staff_client, shop):
    coupon = CouponFactory(shop=shop, code="HELLO", value=Decimal("10"))
    first = place(shop, email="ada@example.net")
    second = place(shop, email="ada@example.net", coupon_code="HELLO")
    customer = Customer.objects.get(shop=shop, email="ada@example.net")
    response = staff_client.get(reverse("dashboard:customer", args=[customer.pk]))
    assert response.status_code == 200
    page = response.context["page"]
    assert [o.number for o in page.orders] == [second.number, first.number]
    second.refresh_from_db()
    assert page.spent == first.total + second.total
    assert [r.coupon for r in page.redemptions] == [coupon]
    html = response.content.decode()
    assert first.number in html and "HELLO" in html


def test_another_shops_customer_is_404(staff_client, other_shop):
    theirs = CustomerFactory(shop=other_shop)
    assert staff_client.get(reverse("dashboard:customer", args=[theirs.pk])).status_code == 404


def test_refunds_are_left_out_of_total_spent(staff_client, shop):
    order = order_in(OrderStatus.DELIVERED, shop=shop)
    Order.objects.filter(pk=order.pk).update(refunded_total=Decimal("10.00"))
    response = staff_client.get(reverse("dashboard:customer", args=[order.customer_id]))
    assert response.context["page"].spent == order.total - Decimal("10.00")
