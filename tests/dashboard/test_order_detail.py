"""The order page: what it shows, the actions its state allows, and every action including refusals."""

import pytest
from django.urls import reverse

from orders.models import BuyerRequest, EventKind, Feedback, OrderEvent, RequestKind
from orders.services import Actor, add_note, post_buyer_message, update_checklist
from orders.states import OrderStatus
from tests.factories import order_in, tracking_number

pytestmark = pytest.mark.django_db


def url(order, action=""):
    name = f"dashboard:order_{action}" if action else "dashboard:order"
    return reverse(name, kwargs={"number": order.number})


def fresh(order):
    order.refresh_from_db()
    return order


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


# --- What the page shows -------------------------------------------------------------------------------


def test_page_shows_lines_totals_customer_address_payment_and_parcels(owner_client, shop):
    order = order_in(OrderStatus.SHIPPED, shop=shop)
    shipment = order.shipments.get()
    response = owner_client.get(url(order))
    assert response.status_code == 200
    html = response.content.decode()
    assert f"Order {order.number}" in html
    assert "T-shirt" in html and "M / black" in html and "Cap" in html
    assert "$44.00" in html  # 2 × 15.00 + 9.50 + 4.50 shipping
    assert "ada@example.net" in html and "12 Harbour Street" in html and "Portsmouth" in html
    assert "Card" in html and "Paid" in html
    assert shipment.tracking_url in html and shipment.tracking_number in html and "UPS" in html
    assert "Handed to UPS" in html  # the seller's first scan


def test_timeline_is_newest_first_and_escapes_what_buyers_write(owner_client, shop):
    order = order_in(OrderStatus.PENDING, shop=shop)
    OrderEvent.objects.create(
        order=order,
        kind=EventKind.MESSAGE_FROM_BUYER,
        message="<script>alert(1)</script>",
        data={"text": "<script>alert(1)</script> please hurry"},
        actor_kind="buyer",
        created_at=order.placed_at.replace(year=order.placed_at.year + 1),
    )
    add_note(order, text="Called the buyer", by=Actor.system())
    html = owner_client.get(url(order)).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; please hurry" in html
    timeline = html[html.index("data-timeline") :]
    assert timeline.index("please hurry") < timeline.index("Called the buyer") < timeline.index("Placed")


def test_feedback_is_shown(owner_client, shop):
    order = order_in(OrderStatus.DELIVERED, shop=shop)
    Feedback.objects.create(shop=shop, order=order, rating=4, comment="Lovely <b>cap</b>")
    html = owner_client.get(url(order)).content.decode()
    assert "4 out of 5" in html and "Lovely &lt;b&gt;cap&lt;/b&gt;" in html


@pytest.mark.parametrize(
    ("status", "offered", "absent"),
    [
        (
            OrderStatus.PENDING,
            ["order_process", "order_cancel", "order_address"],
            ["order_ship", "order_deliver"],
        ),
        (
            OrderStatus.PROCESSED,
            ["order_ship", "order_cancel", "order_address"],
            ["order_process", "order_deliver"],
        ),
        (
            OrderStatus.SHIPPED,
            ["order_deliver"],
            ["order_process", "order_ship", "order_cancel", "order_address"],
        ),
        (OrderStatus.DELIVERED, [], ["order_process", "order_ship", "order_deliver", "order_cancel"]),
        (OrderStatus.CANCELLED, [], ["order_process", "order_ship", "order_deliver", "order_cancel"]),
    ],
)
def test_only_legal_next_actions_are_offered(owner_client, shop, status, offered, absent):
    order = order_in(status, shop=shop)
    html = owner_client.get(url(order)).content.decode()
    for name in offered:
        assert reverse(f"dashboard:{name}", kwargs={"number": order.number}) in html, name
    for name in absent:
        assert reverse(f"dashboard:{name}", kwargs={"number": order.number}) not in html, name


def test_query_count_is_pinned(owner_client, shop, django_assert_num_queries):
    order = order_in(OrderStatus.SHIPPED, shop=shop)
    add_note(order, text="one", by=Actor.system())
    owner_client.get(url(order))  # warm the session and the carriers' content types
    # session, user, memberships, order (with customer, coupon, feedback, shop), lines, parcels, parcel lines,
    # scans, returns, buyer requests, timeline (with actors). Once shipped no ship form, so no carriers.
    with django_assert_num_queries(11):
        response = owner_client.get(url(order))
    assert response.status_code == 200
    # More parcels, scans and events cost no more queries.
    other = order_in(OrderStatus.PROCESSED, shop=shop)
    from orders.services import ParcelSpec, ship_order

    line_ids = list(other.lines.values_list("pk", flat=True))
    ship_order(
        other,
        parcels=[ParcelSpec(tracking_number=tracking_number(), lines={line_ids[0]: 1})],
        by=Actor.system(),
    )
    ship_order(
        other,
        parcels=[ParcelSpec(tracking_number=tracking_number(), lines={line_ids[1]: 1})],
        by=Actor.system(),
    )
    for n in range(5):
        add_note(other, text=f"note {n}", by=Actor.system())
    BuyerRequest.objects.create(shop=shop, order=other, kind=RequestKind.CANCELLATION, message="Too slow")
    BuyerRequest.objects.create(
        shop=shop, order=other, kind=RequestKind.ADDRESS_CHANGE, payload={"city": "Leeds"}, status="declined"
    )
    # Partly shipped, so still processed: the ship form adds the carriers, and only them.
    with django_assert_num_queries(12):
        html = owner_client.get(url(other)).content.decode()
    assert "Too slow" in html  # the buyer requests panel


# --- Tenancy and methods ---------------------------------------------------------------------------------


def test_another_shops_order_is_404(other_client, shop):
    order = order_in(OrderStatus.PENDING, shop=shop)
    assert other_client.get(url(order)).status_code == 404
    response = other_client.post(url(order, "process"), {"version": order.version})
    assert response.status_code == 404
    assert fresh(order).status == OrderStatus.PENDING


def test_signed_out_is_sent_to_sign_in(client, shop):
    order = order_in(OrderStatus.PENDING, shop=shop)
    response = client.get(url(order))
    assert response.status_code == 302 and reverse("dashboard:login") in response["Location"]


def test_actions_refuse_get(owner_client, shop):
    order = order_in(OrderStatus.PENDING, shop=shop)
    assert owner_client.get(url(order, "process")).status_code == 405


# --- Process, deliver, cancel -------------------------------------------------------------------------


def test_staff_process_an_order(staff_client, shop):
    order = order_in(OrderStatus.PENDING, shop=shop)
    response = staff_client.post(url(order, "process"), {"version": order.version}, follow=True)
    assert fresh(order).status == OrderStatus.PROCESSED
    assert f"Order {order.number} is processed." in messages_of(response)
    assert order.events.filter(kind=EventKind.PROCESSED, actor__email="staff@example.com").exists()


def test_process_with_htmx_returns_the_refreshed_order(owner_client, shop):
    order = order_in(OrderStatus.PENDING, shop=shop)
    response = owner_client.post(url(order, "process"), {"version": order.version}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="order-detail"')
    assert "<html" not in html
    assert "Order accepted and being prepared" in html  # the timeline refreshed
    assert url(order, "ship") in html and url(order, "process") not in html


def test_stale_version_is_refused_and_the_fresh_state_shown(owner_client, shop):
    order = order_in(OrderStatus.PENDING, shop=shop)
    opened_version = order.version
    add_note(order, text="Someone else was here", by=Actor.system())
    update_checklist(order, picked=True, packed=False, address_verified=False, by=Actor.system())
    response = owner_client.post(url(order, "process"), {"version": opened_version}, follow=True)
    assert fresh(order).status == OrderStatus.PENDING
    assert "This order changed since you opened it. Reload it and try again." in messages_of(response)
    assert response.redirect_chain[-1][0] == url(order)


def test_illegal_move_says_why(owner_client, shop):
    order = order_in(OrderStatus.DELIVERED, shop=shop)
    response = owner_client.post(url(order, "process"), {"version": order.version}, follow=True)
    assert fresh(order).status == OrderStatus.DELIVERED
    assert any("cannot become processed" in m for m in messages_of(response))


def test_blocked_move_says_why(owner_client, shop):
    order = order_in(OrderStatus.PENDING, shop=shop, paid=False)
    response = owner_client.post(url(order, "process"), {"version": order.version}, follow=True)
    assert fresh(order).status == OrderStatus.PENDING
    assert "The order is not paid and is not cash on delivery." in messages_of(response)


def test_deliver_by_hand(owner_client, shop):
    order = order_in(OrderStatus.SHIPPED, shop=shop)
    owner_client.post(url(order, "deliver"), {"version": order.version})
    assert fresh(order).status == OrderStatus.DELIVERED


def test_cancel_needs_a_reason_and_keeps_the_form(owner_client, shop):
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    response = owner_client.post(url(order, "cancel"), {"version": order.version, "reason": ""})
    assert response.status_code == 422
    assert fresh(order).status == OrderStatus.PROCESSED
    assert response.context["cancel_form"].errors["reason"]
    response = owner_client.post(url(order, "cancel"), {"version": order.version, "reason": "Out of stock"})
    assert response.status_code == 302
    assert fresh(order).status == OrderStatus.CANCELLED and order.cancel_reason == "Out of stock"


# --- Ship -------------------------------------------------------------------------------------------------


def ship_data(order, **overrides):
    data = {"version": order.version, "carrier": "", "tracking_number": tracking_number()}
    for line in order.lines.all():
        data[f"line_{line.pk}"] = line.quantity
    data.update(overrides)
    return data


def test_ship_page_works_without_javascript(owner_client, shop):
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    response = owner_client.get(url(order, "ship"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-detect-url="/api/v1/carriers/detect/"' in html  # where the detection JS asks
    assert 'name="tracking_number"' in html


def test_ship_detects_the_carrier_from_the_number(owner_client, shop):
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    number = tracking_number()
    response = owner_client.post(url(order, "ship"), ship_data(order, tracking_number=number.lower()))
    assert response.status_code == 302
    assert fresh(order).status == OrderStatus.SHIPPED
    shipment = order.shipments.get()
    assert (shipment.carrier.code, shipment.tracking_number) == ("ups", number)


def test_ship_refuses_a_number_that_does_not_fit_the_carrier_beside_the_field(owner_client, shop):
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    response = owner_client.post(
        url(order, "ship"), ship_data(order, carrier="royal-mail", tracking_number="12345")
    )
    assert response.status_code == 422
    form = response.context["ship_form"]
    assert form.errors["tracking_number"] == [
        "12345 is not a Royal Mail tracking number. Check it, or choose another carrier."
    ]
    html = response.content.decode()
    assert 'value="12345"' in html  # what was typed is kept
    assert fresh(order).status == OrderStatus.PROCESSED and not order.shipments.exists()


def test_ship_with_htmx_errors_reopen_the_dialog(owner_client, shop):
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    response = owner_client.post(
        url(order, "ship"), ship_data(order, tracking_number="nonsense"), HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert '<dialog id="ship-dialog" aria-labelledby="ship-dialog-title" data-open>' in html
    assert "No carrier uses tracking numbers like NONSENSE" in html


def test_partial_shipping_then_the_rest(owner_client, shop):
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    tee, cap = order.lines.all()
    data = ship_data(order, **{f"line_{tee.pk}": 1, f"line_{cap.pk}": 0})
    owner_client.post(url(order, "ship"), data)
    assert fresh(order).status == OrderStatus.PROCESSED
    assert order.shipped_quantities() == {tee.pk: 1}
    response = owner_client.get(url(order, "ship"))
    assert set(response.context["ship_form"].line_fields) == {f"line_{tee.pk}", f"line_{cap.pk}"}
    assert response.context["ship_form"].fields[f"line_{tee.pk}"].initial == 1
    owner_client.post(url(order, "ship"), ship_data(order, **{f"line_{tee.pk}": 1, f"line_{cap.pk}": 1}))
    assert fresh(order).status == OrderStatus.SHIPPED
    assert order.shipments.count() == 2


def test_ship_an_empty_parcel_is_refused(owner_client, shop):
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    data = ship_data(order, **{f"line_{line.pk}": 0 for line in order.lines.all()})
    response = owner_client.post(url(order, "ship"), data)
    assert response.status_code == 422
    assert response.context["ship_form"].non_field_errors() == ["Put at least one item in the parcel."]


def test_ship_a_number_already_used_is_refused_beside_the_field(owner_client, shop):
    shipped = order_in(OrderStatus.SHIPPED, shop=shop)
    used = shipped.shipments.get().tracking_number
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    response = owner_client.post(url(order, "ship"), ship_data(order, tracking_number=used))
    assert response.status_code == 422
    assert response.context["ship_form"].errors["tracking_number"] == [
        f"Tracking number {used} is already used for another parcel."
    ]


def test_ship_stale_form_is_refused(owner_client, shop):
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    data = ship_data(order)
    add_note(order, text="meanwhile", by=Actor.system())
    update_checklist(order, picked=True, packed=False, address_verified=False, by=Actor.system())
    response = owner_client.post(url(order, "ship"), data, follow=True)
    assert "This order changed since you opened it. Reload it and try again." in messages_of(response)
    assert fresh(order).status == OrderStatus.PROCESSED


def test_required_checklist_blocks_shipping_until_ticked(owner_client, shop):
    shop.require_checklist = True
    shop.save(update_fields=["require_checklist"])
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    response = owner_client.post(url(order, "ship"), ship_data(order), follow=True)
    assert fresh(order).status == OrderStatus.PROCESSED
    assert any("requires the fulfilment checklist" in m and "packed" in m for m in messages_of(response))

    response = owner_client.post(
        url(order, "checklist"),
        {"version": order.version, "picked": "on", "packed": "on", "address_verified": "on"},
    )
    assert response.status_code == 302
    assert fresh(order).picked_at and order.packed_at and order.address_verified_at
    checklist_event = order.events.get(kind=EventKind.CHECKLIST)
    assert "picked" in checklist_event.message and checklist_event.actor is not None

    owner_client.post(url(order, "ship"), ship_data(order))
    assert fresh(order).status == OrderStatus.SHIPPED


def test_checklist_untick_is_recorded_and_nothing_changed_records_nothing(owner_client, shop):
    order = order_in(OrderStatus.PENDING, shop=shop)
    owner_client.post(url(order, "checklist"), {"version": order.version, "picked": "on"})
    owner_client.post(url(order, "checklist"), {"version": fresh(order).version, "picked": "on"})
    owner_client.post(url(order, "checklist"), {"version": fresh(order).version})
    messages = list(order.events.filter(kind=EventKind.CHECKLIST).values_list("message", flat=True))
    assert messages == ["Ticked: picked", "Unticked: picked"]
    assert fresh(order).picked_at is None


# --- Address, note, reply -----------------------------------------------------------------------------


def address_data(order, **overrides):
    data = {
        "version": order.version,
        "name": "Ada Buyer",
        "line1": "1 New Road",
        "line2": "",
        "city": "Leeds",
        "region": "",
        "postal_code": "LS1 1AA",
        "country": "gb",
        "phone": "",
    }
    data.update(overrides)
    return data


def test_edit_address_before_shipping(owner_client, shop):
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    assert owner_client.get(url(order, "address")).status_code == 200
    response = owner_client.post(url(order, "address"), address_data(order))
    assert response.status_code == 302
    assert (fresh(order).ship_line1, order.ship_city, order.ship_country) == ("1 New Road", "Leeds", "GB")
    assert order.events.filter(kind=EventKind.ADDRESS_CHANGED).exists()


def test_address_errors_are_beside_the_fields_and_keep_what_was_typed(owner_client, shop):
    order = order_in(OrderStatus.PENDING, shop=shop)
    response = owner_client.post(
        url(order, "address"), address_data(order, city="", line1="99 Typed Lane", country="G1B")
    )
    assert response.status_code == 422
    form = response.context["form"]
    assert set(form.errors) == {"city", "country"}
    html = response.content.decode()
    assert 'value="99 Typed Lane"' in html
    assert fresh(order).ship_line1 == "12 Harbour Street"


def test_address_rule_of_the_service_shows_beside_the_field(owner_client, shop):
    order = order_in(OrderStatus.PENDING, shop=shop)
    response = owner_client.post(url(order, "address"), address_data(order, country="1X"))
    assert response.status_code == 422
    assert response.context["form"].errors["country"] == ["Use a two-letter country code, such as US or GB."]


def test_address_cannot_change_once_shipped(owner_client, shop):
    order = order_in(OrderStatus.SHIPPED, shop=shop)
    response = owner_client.post(url(order, "address"), address_data(order), follow=True)
    assert (
        any("already shipped" in m for m in messages_of(response))
        or "already shipped" in response.content.decode()
    )
    assert fresh(order).ship_line1 == "12 Harbour Street"
    assert owner_client.get(url(order, "address")).status_code == 302


def test_add_note(owner_client, shop):
    order = order_in(OrderStatus.PENDING, shop=shop)
    response = owner_client.post(
        url(order, "note"), {"version": order.version, "text": "Gift wrap"}, HTTP_HX_REQUEST="true"
    )
    assert "Gift wrap" in response.content.decode()
    assert order.events.filter(kind=EventKind.NOTE, message="Gift wrap").exists()


def test_empty_note_keeps_the_form_with_the_error(owner_client, shop):
    order = order_in(OrderStatus.PENDING, shop=shop)
    response = owner_client.post(url(order, "note"), {"version": order.version, "text": ""})
    assert response.status_code == 422
    assert response.context["note_form"].errors["text"]


def test_reply_to_the_buyer(owner_client, shop):
    order = order_in(OrderStatus.PENDING, shop=shop)
    post_buyer_message(order, text="Where is my <em>parcel</em>?")
    html = owner_client.get(url(order)).content.decode()
    assert "waiting for a reply" in html and "Where is my &lt;em&gt;parcel&lt;/em&gt;?" in html
    response = owner_client.post(url(order, "reply"), {"version": order.version, "text": "Ships tomorrow"})
    assert response.status_code == 302
    assert fresh(order).awaiting_reply_since is None
    event = order.events.get(kind=EventKind.MESSAGE_TO_BUYER)
    assert event.data["text"] == "Ships tomorrow"
    assert order.notifications.filter(template="seller_message").exists()


def test_stale_version_with_htmx_shows_the_message_in_the_fresh_order(owner_client, shop):
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    opened_version = order.version
    update_checklist(order, picked=True, packed=True, address_verified=False, by=Actor.system())
    response = owner_client.post(
        url(order, "cancel"), {"version": opened_version, "reason": "Out of stock"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert "This order changed since you opened it." in html
    assert "Ticked: picked, packed" in html  # the fresh timeline
    assert fresh(order).status == OrderStatus.PROCESSED


def test_checklist_cannot_change_after_shipping(owner_client, shop):
    order = order_in(OrderStatus.SHIPPED, shop=shop)
    html = owner_client.get(url(order)).content.decode()
    assert url(order, "checklist") not in html
    response = owner_client.post(url(order, "checklist"), {"version": order.version, "picked": "on"})
    assert response.status_code == 422
    assert response.context["checklist_form"].non_field_errors() == [
        "The checklist can only change before the order ships."
    ]
    assert fresh(order).picked_at is None


def test_ship_page_of_an_order_that_cannot_ship_goes_back(owner_client, shop):
    order = order_in(OrderStatus.PENDING, shop=shop)
    response = owner_client.get(url(order, "ship"), follow=True)
    assert response.redirect_chain[-1][0] == url(order)
    assert "This order cannot be shipped now." in messages_of(response)
