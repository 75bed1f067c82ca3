"""Coupons: list with usage, create / edit / deactivate with errors beside the fields, roles, the apology."""

from decimal import Decimal

import pytest
from django.urls import reverse

from orders.models import Coupon, CouponKind, EventKind, Notification
from orders.states import OrderStatus
from tests.factories import CouponFactory, order_in

pytestmark = pytest.mark.django_db


def coupon_data(**overrides) -> dict:
    data = {
        "code": "spring10",
        "kind": CouponKind.PERCENTAGE,
        "value": "10",
        "description": "Spring sale",
        "valid_from": "",
        "valid_until": "",
        "usage_limit": "",
        "per_customer_limit": "1",
        "min_subtotal": "0",
        "min_quantity": "0",
        "is_active": "on",
    }
    return {**data, **overrides}


def test_list_shows_usage(manager_client, shop, other_shop):
    CouponFactory(shop=shop, code="WELCOME", times_used=3, usage_limit=10)
    CouponFactory(shop=other_shop, code="THEIRS")
    response = manager_client.get(reverse("dashboard:coupons"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "WELCOME" in page and "3 / 10" in page
    assert "THEIRS" not in page


def test_create_a_coupon(manager_client, shop):
    response = manager_client.post(reverse("dashboard:coupon_create"), coupon_data())
    assert response.status_code == 302
    coupon = Coupon.objects.get(shop=shop)
    assert (coupon.code, coupon.kind, coupon.value, coupon.per_customer_limit) == (
        "SPRING10",
        CouponKind.PERCENTAGE,
        Decimal("10"),
        1,
    )


def test_duplicate_code_is_refused_beside_the_field(manager_client, shop):
    CouponFactory(shop=shop, code="SPRING10")
    response = manager_client.post(reverse("dashboard:coupon_create"), coupon_data(code="Spring10"))
    assert response.status_code == 200
    assert response.context["form"].errors["code"] == ["This shop already has a coupon SPRING10."]
    page = response.content.decode()
    assert 'id="id_code_error"' in page
    assert 'value="Spring sale"' in page  # what was typed is kept
    assert Coupon.objects.filter(shop=shop).count() == 1


def test_same_code_in_another_shop_is_fine(manager_client, shop, other_shop):
    CouponFactory(shop=other_shop, code="SPRING10")
    assert manager_client.post(reverse("dashboard:coupon_create"), coupon_data()).status_code == 302


@pytest.mark.parametrize("value", ["0", "101", "-5"])
def test_invalid_percent_is_refused(manager_client, shop, value):
    response = manager_client.post(reverse("dashboard:coupon_create"), coupon_data(value=value))
    assert response.status_code == 200
    assert "value" in response.context["form"].errors
    assert not Coupon.objects.filter(shop=shop).exists()


def test_end_before_start_is_refused(manager_client, shop):
    response = manager_client.post(
        reverse("dashboard:coupon_create"),
        coupon_data(valid_from="2026-05-01T00:00", valid_until="2026-04-01T00:00"),
    )
    assert response.context["form"].errors["valid_until"] == ["The end must come after the start."]


def test_edit_a_coupon(manager_client, shop):
    coupon = CouponFactory(shop=shop, code="OLD", value=Decimal("5"))
    url = reverse("dashboard:coupon_edit", args=[coupon.pk])
    assert manager_client.get(url).status_code == 200
    response = manager_client.post(url, coupon_data(code="OLD", kind=CouponKind.FIXED, value="7.50"))
    assert response.status_code == 302
    coupon.refresh_from_db()
    assert (coupon.kind, coupon.value) == (CouponKind.FIXED, Decimal("7.50"))


def test_usage_limit_cannot_go_below_uses(manager_client, shop):
    coupon = CouponFactory(shop=shop, code="USED", times_used=4)
    response = manager_client.post(
        reverse("dashboard:coupon_edit", args=[coupon.pk]), coupon_data(code="USED", usage_limit="2")
    )
    assert "usage_limit" in response.context["form"].errors


def test_deactivate(manager_client, shop):
    coupon = CouponFactory(shop=shop)
    response = manager_client.post(reverse("dashboard:coupon_deactivate", args=[coupon.pk]))
    assert response.status_code == 302
    coupon.refresh_from_db()
    assert coupon.is_active is False


def test_deactivate_needs_post(manager_client, shop):
    coupon = CouponFactory(shop=shop)
    assert manager_client.get(reverse("dashboard:coupon_deactivate", args=[coupon.pk])).status_code == 405


def test_another_shops_coupon_is_404(manager_client, other_shop):
    theirs = CouponFactory(shop=other_shop)
    assert manager_client.get(reverse("dashboard:coupon_edit", args=[theirs.pk])).status_code == 404
    assert manager_client.post(reverse("dashboard:coupon_deactivate", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.is_active


@pytest.mark.parametrize(
    "name,args,method",
    [
        ("dashboard:coupons", [], "get"),
        ("dashboard:coupon_create", [], "get"),
        ("dashboard:coupon_create", [], "post"),
        ("dashboard:apology_coupon", [], "post"),
    ],
)
def test_staff_are_forbidden(staff_client, name, args, method):
    response = getattr(staff_client, method)(reverse(name, args=args), {})
    assert response.status_code == 403


def test_staff_cannot_edit_or_deactivate(staff_client, shop):
    coupon = CouponFactory(shop=shop)
    assert staff_client.get(reverse("dashboard:coupon_edit", args=[coupon.pk])).status_code == 403
    assert staff_client.post(reverse("dashboard:coupon_deactivate", args=[coupon.pk])).status_code == 403


def test_owner_may_manage_coupons(owner_client):
    assert owner_client.get(reverse("dashboard:coupons")).status_code == 200


# --- The one-click apology --------------------------------------------------------------------------


def test_apology_coupon_is_created_emailed_and_recorded(manager_client, shop, manager):
    shop.delay_coupon_percent = 15
    shop.save(update_fields=["delay_coupon_percent"])
    order = order_in(OrderStatus.SHIPPED, shop=shop)
    response = manager_client.post(reverse("dashboard:apology_coupon"), {"order": order.number})
    assert response.status_code == 302
    coupon = Coupon.objects.get(shop=shop, code__startswith="SORRY-")
    assert (coupon.kind, coupon.value, coupon.usage_limit, coupon.per_customer_limit) == (
        CouponKind.PERCENTAGE,
        Decimal("15"),
        1,
        1,
    )
    event = order.events.get(kind=EventKind.COUPON_SENT)
    assert event.data["coupon"] == coupon.code and event.actor == manager
    notification = Notification.objects.get(order=order, template="apology_coupon")
    assert notification.recipient == order.email
    assert notification.context["coupon_code"] == coupon.code


def test_apology_with_the_number_in_the_url_and_a_percent(manager_client, shop):
    order = order_in(OrderStatus.SHIPPED, shop=shop)
    url = reverse("dashboard:apology_coupon", args=[order.number])
    assert manager_client.post(url, {"percent": "20"}).status_code == 302
    assert Coupon.objects.get(shop=shop).value == Decimal("20")


def test_a_second_apology_needs_confirmation(manager_client, shop):
    order = order_in(OrderStatus.SHIPPED, shop=shop)
    url = reverse("dashboard:apology_coupon")
    manager_client.post(url, {"order": order.number})
    response = manager_client.post(url, {"order": order.number})
    assert response.status_code == 409
    assert "already sent" in response.content.decode()
    assert Coupon.objects.filter(shop=shop).count() == 1
    response = manager_client.post(url, {"order": order.number, "confirm": "on"})
    assert response.status_code == 302
    assert Coupon.objects.filter(shop=shop).count() == 2
    assert order.events.filter(kind=EventKind.COUPON_SENT).count() == 2


def test_apology_for_another_shops_order_is_404(manager_client, other_shop):
    theirs = order_in(OrderStatus.SHIPPED, shop=other_shop)
    response = manager_client.post(reverse("dashboard:apology_coupon"), {"order": theirs.number})
    assert response.status_code == 404
    assert not Coupon.objects.exists()


def test_apology_rendered_email(shop):
    from orders.notifications.email import render_message

    order = order_in(OrderStatus.SHIPPED, shop=shop)
    subject, text, html = render_message(
        order, "apology_coupon", extra={"coupon_code": "SORRY-1", "coupon_percent": 10, "valid_days": 90}
    )
    assert order.number in subject
    assert "SORRY-1" in text and "10% off" in text and "90 days" in text
    assert "<strong>SORRY-1</strong>" in html
