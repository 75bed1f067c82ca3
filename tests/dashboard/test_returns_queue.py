"""The returns queue: tabs, decisions by role, refunds (partial, capped), and an order that comes back."""

from decimal import Decimal

import pytest
from django.urls import reverse

from orders.models import EventKind, Return, ReturnStatus
from orders.services import Actor, approve_return, receive_return, request_return
from orders.states import OrderStatus, PaymentStatus
from tests.factories import order_in

pytestmark = pytest.mark.django_db


def requested_return(shop, **lines_by_name):
    order = order_in(OrderStatus.DELIVERED, shop=shop)
    lines = {line.pk: line.quantity for line in order.lines.all()}
    return request_return(order, lines=lines, reason="Does not fit", by=Actor.buyer())


def received_return(shop):
    return_request = requested_return(shop)
    approve_return(return_request, by=Actor.system())
    receive_return(return_request, by=Actor.system())
    return return_request


def act(client, return_request, action, data=None, **kwargs):
    return client.post(reverse(f"dashboard:return_{action}", args=[return_request.pk]), data or {}, **kwargs)


def fresh(return_request):
    return Return.objects.select_related("order").get(pk=return_request.pk)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_queue_opens_on_requests_with_order_items_and_reason(staff_client, shop):
    requested = requested_return(shop)
    received = received_return(shop)
    response = staff_client.get(reverse("dashboard:returns"))
    assert response.status_code == 200
    html = response.content.decode()
    assert requested.order.number in html and received.order.number not in html
    assert "Does not fit" in html and "2 × T-shirt (M / black)" in html
    tabs = response.context["tabs"]
    assert [t["status"] for t in tabs][:1] == ["requested"]
    assert {t["status"]: t["count"] for t in tabs}["received"] == 1
    response = staff_client.get(reverse("dashboard:returns"), {"status": "received"})
    assert received.order.number in response.content.decode()


def test_another_shops_return_is_404_and_not_listed(other_client, shop):
    return_request = requested_return(shop)
    assert return_request.order.number not in other_client.get(reverse("dashboard:returns")).content.decode()
    assert act(other_client, return_request, "approve").status_code == 404
    assert act(other_client, return_request, "receive").status_code == 404
    assert fresh(return_request).status == ReturnStatus.REQUESTED


@pytest.mark.parametrize("action", ["approve", "reject", "refund"])
def test_staff_cannot_decide(staff_client, shop, action):
    return_request = requested_return(shop)
    assert act(staff_client, return_request, action, {"reason": "no", "amount": "1"}).status_code == 403
    assert fresh(return_request).status == ReturnStatus.REQUESTED


def test_staff_see_no_decision_buttons_but_may_mark_received(staff_client, shop):
    return_request = requested_return(shop)
    html = staff_client.get(reverse("dashboard:returns")).content.decode()
    assert reverse("dashboard:return_approve", args=[return_request.pk]) not in html
    approve_return(return_request, by=Actor.system())
    response = act(staff_client, return_request, "receive")
    assert response.status_code == 302 and response["Location"].endswith("?status=approved")
    assert fresh(return_request).status == ReturnStatus.RECEIVED


def test_manager_approves(manager_client, shop):
    return_request = requested_return(shop)
    response = act(manager_client, return_request, "approve", follow=True)
    assert fresh(return_request).status == ReturnStatus.APPROVED
    assert f"Return for order {return_request.order.number} approved." in messages_of(response)


def test_reject_needs_a_reason_shown_beside_the_field(manager_client, shop):
    return_request = requested_return(shop)
    response = act(manager_client, return_request, "reject", {"reason": ""})
    assert response.status_code == 422
    assert f'id="id_r{return_request.pk}_reason"' in response.content.decode()
    assert "This field is required." in response.content.decode()
    act(manager_client, return_request, "reject", {"reason": "Worn"})
    assert fresh(return_request).status == ReturnStatus.REJECTED
    assert fresh(return_request).rejection_reason == "Worn"


def test_a_move_the_return_cannot_make_is_explained(manager_client, shop):
    return_request = requested_return(shop)
    response = act(manager_client, return_request, "receive", follow=True)
    assert "A return that is requested cannot become received." in messages_of(response)


def test_refund_defaults_to_the_lines_value_and_is_capped(manager_client, shop):
    return_request = received_return(shop)
    response = manager_client.get(reverse("dashboard:returns"), {"status": "received"})
    form = response.context["returns"][0].refund_form
    assert form.initial["amount"] == Decimal("39.50")  # 2 × 15.00 + 9.50; shipping is not refunded by default
    response = act(manager_client, return_request, "refund", {"amount": "1000"})
    assert response.status_code == 422
    assert "At most $44.00 can be refunded." in response.content.decode()
    assert 'value="1000"' in response.content.decode()
    assert fresh(return_request).status == ReturnStatus.RECEIVED


def test_partial_refund(manager_client, shop):
    return_request = received_return(shop)
    act(manager_client, return_request, "refund", {"amount": "10.00"})
    return_request = fresh(return_request)
    assert return_request.status == ReturnStatus.REFUNDED and return_request.refund_amount == Decimal("10.00")
    assert return_request.order.payment_status == PaymentStatus.PARTIALLY_REFUNDED


def test_whole_flow_through_the_pages_returns_the_order(manager_client, staff_client, shop):
    return_request = requested_return(shop)
    act(manager_client, return_request, "approve")
    act(staff_client, return_request, "receive")
    amount = str(
        manager_client.get(reverse("dashboard:returns"), {"status": "received"})
        .context["returns"][0]
        .refund_form.initial["amount"]
    )
    response = act(manager_client, return_request, "refund", {"amount": amount}, follow=True)
    order = fresh(return_request).order
    assert order.status == OrderStatus.RETURNED
    assert order.events.filter(kind=EventKind.RETURNED).exists()
    assert f"Return for order {order.number} refunded." in messages_of(response)
    refunded_tab = manager_client.get(reverse("dashboard:returns"), {"status": "refunded"}).content.decode()
    assert order.number in refunded_tab and "$39.50" in refunded_tab
