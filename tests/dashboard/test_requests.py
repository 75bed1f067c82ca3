"""The seller's queue of buyer requests, and answering them from it or from the order page."""

from decimal import Decimal

import pytest
from django.urls import reverse

from orders.models import (
    BuyerRequest,
    CouponKind,
    EventKind,
    Notification,
    OrderEvent,
    RequestKind,
    RequestStatus,
)
from orders.services import (
    Actor,
    ParcelSpec,
    process_order,
    request_address_change,
    request_cancellation,
    request_modification,
    ship_order,
)
from orders.states import OrderStatus
from tests.factories import SELLER, CouponFactory, order_in, place, tracking_number

BUYER = Actor.buyer()
NEW_ADDRESS = {
    "name": "Ada Buyer",
    "line1": "3 Quay <Lane>",
    "line2": "Flat 2",
    "city": "Bristol",
    "postal_code": "BS1 4DJ",
    "country": "GB",
    "phone": "+44 117 496 0000",
}
QUEUE = reverse("dashboard:requests")


def decide_url(buyer_request):
    return reverse("dashboard:request_decide", args=[buyer_request.pk])


@pytest.fixture
def address_request(shop):
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    return request_address_change(order, address=NEW_ADDRESS, message="Moved <b>house</b>", by=BUYER)


@pytest.fixture
def cancellation(shop):
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    return request_cancellation(order, reason="Too slow", by=BUYER)


def version_of(buyer_request):
    buyer_request.order.refresh_from_db()
    return buyer_request.order.version


def test_the_queue_shows_open_requests_in_full_and_escaped(staff_client, address_request, cancellation):
    response = staff_client.get(QUEUE)
    assert response.status_code == 200
    page = response.content.decode()
    assert reverse("dashboard:order", args=[address_request.order.number]) in page
    assert "3 Quay &lt;Lane&gt;" in page and "Flat 2" in page and "+44 117 496 0000" in page  # in full
    assert "Moved &lt;b&gt;house&lt;/b&gt;" in page and "<b>house</b>" not in page
    assert "Too slow" in page
    assert page.count('name="decision" value="approve"') == 2


def test_the_queue_filters_by_kind_and_status(staff_client, address_request, cancellation):
    page = staff_client.get(QUEUE, {"kind": RequestKind.CANCELLATION}).content.decode()
    assert "Too slow" in page and "Bristol" not in page
    page = staff_client.get(QUEUE, {"status": RequestStatus.DECLINED}).content.decode()
    assert "No requests with this status: Declined." in page
    assert staff_client.get(QUEUE, {"status": "bogus", "kind": "bogus"}).status_code == 200


def test_the_queue_takes_a_fixed_number_of_queries(staff_client, shop, django_assert_num_queries):
    for _ in range(5):
        request_cancellation(order_in(OrderStatus.PROCESSED, shop=shop), reason="Too slow", by=BUYER)
    # session, user, memberships; the requests with their orders; the tab counts
    with django_assert_num_queries(5):
        assert staff_client.get(QUEUE).status_code == 200


def test_approving_an_address_change(staff_client, staff, address_request):
    response = staff_client.post(
        decide_url(address_request),
        {"decision": "approve", "version": version_of(address_request), "next": QUEUE + "?status=open"},
    )
    assert response.status_code == 302 and response["Location"] == QUEUE + "?status=open"
    address_request.refresh_from_db()
    assert address_request.status == RequestStatus.APPROVED and address_request.decided_by == staff
    order = address_request.order
    order.refresh_from_db()
    assert order.ship_line1 == "3 Quay <Lane>"
    assert Notification.objects.filter(order=order, template="address_change_accepted").count() == 1
    assert "approved" in staff_client.get(QUEUE).content.decode()


def test_approving_a_cancellation_cancels_the_order(staff_client, cancellation):
    staff_client.post(decide_url(cancellation), {"decision": "approve"})
    cancellation.order.refresh_from_db()
    assert cancellation.order.status == OrderStatus.CANCELLED
    assert Notification.objects.filter(order=cancellation.order, template="order_cancelled").count() == 1


def test_approving_after_the_order_shipped_declines_and_says_so(staff_client, address_request):
    ship_order(address_request.order, parcels=[ParcelSpec(tracking_number=tracking_number())], by=SELLER)
    page = staff_client.get(QUEUE).content.decode()
    assert "approving will decline the request" in page
    response = staff_client.post(decide_url(address_request), {"decision": "approve"}, follow=True)
    assert "could not be granted" in response.content.decode()
    address_request.refresh_from_db()
    assert address_request.status == RequestStatus.DECLINED
    assert (
        Notification.objects.filter(order=address_request.order, template="address_change_refused").count()
        == 1
    )


def test_declining_needs_a_reason_and_emails_it(staff_client, cancellation):
    empty = staff_client.post(decide_url(cancellation), {"decision": "decline", "reason": " ", "next": QUEUE})
    assert empty.status_code == 422
    assert "This field is required." in empty.content.decode()
    cancellation.refresh_from_db()
    assert cancellation.status == RequestStatus.OPEN
    staff_client.post(
        decide_url(cancellation), {"decision": "decline", "reason": "Already packed & labelled"}
    )
    cancellation.refresh_from_db()
    assert cancellation.status == RequestStatus.DECLINED
    assert cancellation.decline_reason == "Already packed & labelled"
    [email] = Notification.objects.filter(order=cancellation.order, template="cancellation_refused")
    assert email.context["reason"] == "Already packed & labelled"
    assert OrderEvent.objects.filter(order=cancellation.order, kind=EventKind.REQUEST_DECLINED).count() == 1


def test_a_stale_page_is_refused(staff_client, address_request):
    version = version_of(address_request)
    request_address_change(address_request.order, address={**NEW_ADDRESS, "city": "Bath"}, by=BUYER)
    response = staff_client.post(
        decide_url(address_request), {"decision": "approve", "version": version}, follow=True
    )
    assert "changed since you opened it" in response.content.decode()
    address_request.refresh_from_db()
    assert address_request.status == RequestStatus.OPEN


def test_another_shops_request_is_a_404(other_client, address_request):
    assert other_client.post(decide_url(address_request), {"decision": "approve"}).status_code == 404
    assert "Bristol" not in other_client.get(QUEUE).content.decode()
    address_request.refresh_from_db()
    assert address_request.status == RequestStatus.OPEN


def test_signed_out_and_bad_input(client, staff_client, address_request):
    response = client.post(decide_url(address_request), {"decision": "approve"})
    assert response.status_code == 302 and "login" in response["Location"]
    assert staff_client.post(decide_url(address_request), {"decision": "maybe"}).status_code == 400
    assert staff_client.get(decide_url(address_request)).status_code == 405


def test_an_offsite_next_is_ignored(staff_client, cancellation):
    response = staff_client.post(
        decide_url(cancellation), {"decision": "decline", "reason": "No", "next": "https://evil.example/"}
    )
    assert response["Location"] == QUEUE + "?status=open"


def test_the_order_page_lists_its_requests_with_the_same_buttons(staff_client, address_request):
    order = address_request.order
    order_url = reverse("dashboard:order", args=[order.number])
    page = staff_client.get(order_url).content.decode()
    assert 'id="order-requests"' in page
    assert decide_url(address_request) in page and "3 Quay &lt;Lane&gt;" in page
    assert f'name="next" value="{order_url}"' in page
    response = staff_client.post(decide_url(address_request), {"decision": "decline", "next": order_url})
    assert response["Location"] == order_url  # an empty reason: back to the order with the message
    followed = staff_client.get(order_url).content.decode()
    assert "Say why the request is declined" in followed
    assert BuyerRequest.objects.get(pk=address_request.pk).status == RequestStatus.OPEN


def emails_of(order, template: str) -> int:
    return Notification.objects.filter(order=order, template=template).count()


def item_change(shop, **place_kwargs):
    """A pending order's buyer asks for 1 × L / black instead of 2 × M / black T-shirts."""
    order = place(shop, **place_kwargs)
    tee = order.lines.order_by("id").first()
    return request_modification(
        order, changes=[{"line_id": tee.pk, "variant": "L / black", "quantity": 1}], by=BUYER
    )


def test_an_item_change_shows_what_was_asked_and_can_be_approved(staff_client, staff, shop):
    buyer_request = item_change(shop)
    page = staff_client.get(QUEUE, {"kind": RequestKind.MODIFICATION}).content.decode()
    assert "2 × M / black → 1 × L / black" in page
    assert "Approve and change the items" in page

    response = staff_client.post(
        decide_url(buyer_request), {"decision": "approve", "version": version_of(buyer_request)}
    )

    assert response.status_code == 302
    buyer_request.refresh_from_db()
    assert buyer_request.status == RequestStatus.APPROVED and buyer_request.decided_by == staff
    tee = buyer_request.order.lines.order_by("id").first()
    assert (tee.variant, tee.quantity) == ("L / black", 1)
    assert (
        Notification.objects.filter(order=buyer_request.order, template="modification_approved").count() == 1
    )


def test_an_item_change_that_breaks_the_coupon_is_explained_then_approved_without_it(staff_client, shop):
    CouponFactory(
        shop=shop, code="BIG", kind=CouponKind.FIXED, value=Decimal("5"), min_subtotal=Decimal("35")
    )
    buyer_request = item_change(shop, coupon_code="BIG")
    assert 'name="drop_coupon"' in staff_client.get(QUEUE).content.decode()

    refused = staff_client.post(decide_url(buyer_request), {"decision": "approve"}, follow=True)
    assert "the coupon BIG no longer applies" in refused.content.decode()
    buyer_request.refresh_from_db()
    assert buyer_request.status == RequestStatus.OPEN  # nothing decided, nothing lost

    staff_client.post(decide_url(buyer_request), {"decision": "approve", "drop_coupon": "1"})
    buyer_request.refresh_from_db()
    buyer_request.order.refresh_from_db()
    assert buyer_request.status == RequestStatus.APPROVED and buyer_request.order.coupon is None


def test_an_item_change_on_an_order_processed_meanwhile_is_declined_with_the_reason(staff_client, shop):
    buyer_request = item_change(shop)
    process_order(buyer_request.order, by=SELLER)
    assert "approving will decline the request" in staff_client.get(QUEUE).content.decode()

    response = staff_client.post(decide_url(buyer_request), {"decision": "approve"}, follow=True)

    assert "could not be granted" in response.content.decode()
    buyer_request.refresh_from_db()
    assert buyer_request.status == RequestStatus.DECLINED
    assert (
        Notification.objects.filter(order=buyer_request.order, template="modification_declined").count() == 1
    )
