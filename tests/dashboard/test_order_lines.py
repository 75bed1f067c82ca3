"""Editing a pending order's items from the dashboard (issue 9, the seller's side): the editor, the review
with the difference to settle and the coupon explained, applying, every refusal, and the home tile."""

import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from orders.models import (
    BuyerRequest,
    CouponKind,
    EventKind,
    Notification,
    OrderEvent,
    OrderLine,
    RequestKind,
)
from orders.services import Actor, process_order, request_modification
from orders.states import OrderStatus
from tests.factories import SELLER, CouponFactory, UserFactory, order_in, place

pytestmark = pytest.mark.django_db

NEW_ROWS = 2


def items_url(order) -> str:
    return reverse("dashboard:order_items", kwargs={"number": order.number})


def order_url(order) -> str:
    return reverse("dashboard:order", kwargs={"number": order.number})


def tee_and_cap(order):
    """2 × T-shirt (M / black) at 15.00 and 1 × Cap at 9.50: 39.50 of items + 4.50 shipping = 44.00."""
    lines = list(order.lines.order_by("id"))
    return lines[0], lines[1]


def form_data(order, *, changes=None, remove=(), new=(), step="review", version=None, drop_coupon=False):
    """What the editor posts: every line of the order (as it is, or as ``changes`` says) and the new rows."""
    lines = list(order.lines.order_by("id"))
    new = list(new)
    rows = max(NEW_ROWS, len(new))
    data = {
        "version": version if version is not None else order.version,
        "lines-TOTAL_FORMS": len(lines),
        "lines-INITIAL_FORMS": len(lines),
        "lines-MIN_NUM_FORMS": 0,
        "lines-MAX_NUM_FORMS": 1000,
        "new-TOTAL_FORMS": rows,
        "new-INITIAL_FORMS": 0,
        "new-MIN_NUM_FORMS": 0,
        "new-MAX_NUM_FORMS": 1000,
        step: "1",
    }
    for index, line in enumerate(lines):
        change = (changes or {}).get(line.pk, {})
        data[f"lines-{index}-line"] = change.get("line", line.pk)
        data[f"lines-{index}-variant"] = change.get("variant", line.variant)
        data[f"lines-{index}-quantity"] = change.get("quantity", line.quantity)
        if line.pk in remove:
            data[f"lines-{index}-remove"] = "on"
    for index in range(rows):
        row = new[index] if index < len(new) else {}
        for field in ("sku", "name", "variant", "unit_price"):
            data[f"new-{index}-{field}"] = row.get(field, "")
        data[f"new-{index}-quantity"] = row.get("quantity", 1)
    if drop_coupon:
        data["drop_coupon"] = "on"
    return data


def snapshot(order):
    """Everything a refused or merely reviewed change must leave as it was."""
    order.refresh_from_db()
    return (
        order.status,
        order.version,
        order.total,
        order.coupon_id,
        OrderEvent.objects.filter(order=order).count(),
        Notification.objects.filter(order=order).count(),
        sorted(OrderLine.objects.filter(order=order).values_list("sku", "variant", "quantity", "unit_price")),
    )


def page_text(response) -> str:
    """The page as a person reads it: tags dropped, spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def emails(order):
    return Notification.objects.filter(order=order, template="lines_changed")


def size_l_and_three(order) -> dict:
    tee, _cap = tee_and_cap(order)
    return {tee.pk: {"variant": "L / black", "quantity": 3}}


# --- The action and the editor ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "offered"),
    [
        (OrderStatus.PENDING, True),
        (OrderStatus.PROCESSED, False),
        (OrderStatus.SHIPPED, False),
        (OrderStatus.CANCELLED, False),
    ],
)
def test_edit_items_is_offered_only_while_pending(owner_client, shop, status, offered):
    order = order_in(status, shop=shop)
    html = owner_client.get(order_url(order)).content.decode()
    assert (f'href="{items_url(order)}"' in html) is offered
    assert ("Edit items" in html) is offered


def test_the_editor_shows_each_line_with_its_values_and_empty_rows_to_add(owner_client, shop):
    order = place(shop)
    response = owner_client.get(items_url(order))
    assert response.status_code == 200
    html = response.content.decode()
    assert f"Edit the items of order {order.number}" in html
    assert f'name="version" value="{order.version}"' in html
    assert 'name="lines-0-variant" value="M / black"' in html
    assert 'name="lines-0-quantity" value="2"' in html
    assert 'name="lines-1-remove"' in html
    assert 'name="new-0-sku"' in html and 'name="new-1-unit_price"' in html
    assert 'id="id_lines-0-quantity"' in html and 'for="id_lines-0-quantity"' in html  # labelled
    text = page_text(response)
    assert "SKU TEE-M-BLK · $15.00 each · In the order: M / black, 2 units" in text
    assert "SKU CAP-RED · $9.50 each · In the order: 1 unit" in text
    assert "Unit price (USD)" in text
    assert "<script" not in html.split("</head>", 1)[1]  # no inline script (CSP)


# --- Reviewing then applying --------------------------------------------------------------------------------


def test_review_shows_the_totals_and_what_the_buyer_owes_without_saving(owner_client, shop):
    order = place(shop)
    before = snapshot(order)
    response = owner_client.post(items_url(order), form_data(order, changes=size_l_and_three(order)))
    assert response.status_code == 200
    text = page_text(response)
    assert "Check the change before applying it" in text
    assert "Total now $44.00 Total after the change $59.00 The buyer owes $15.00" in text
    assert "Before 2 × T-shirt (M / black) 1 × Cap After 3 × T-shirt (L / black) 1 × Cap" in text
    # The review carries what was typed to the next step, and saves nothing.
    html = response.content.decode()
    assert 'name="lines-0-variant" value="L / black"' in html and 'type="hidden"' in html
    assert 'name="apply"' in html and 'name="edit"' in html
    assert snapshot(order) == before


def test_applying_changes_the_items_once_with_one_email_and_a_timeline_entry(owner_client, shop, owner):
    order = place(shop)
    tee, cap = tee_and_cap(order)
    response = owner_client.post(
        items_url(order), form_data(order, changes=size_l_and_three(order), step="apply")
    )
    assert response.status_code == 302 and response["Location"] == order_url(order)

    order.refresh_from_db()
    assert order.total == Decimal("59.00")
    assert sorted(order.lines.values_list("pk", "sku", "variant", "quantity")) == [
        (tee.pk, "TEE-M-BLK", "L / black", 3),  # the SKU and the price stay the line's own
        (cap.pk, "CAP-RED", "", 1),
    ]
    event = OrderEvent.objects.get(order=order, kind=EventKind.LINES_CHANGED)
    assert event.actor == owner
    assert (event.data["old_total"], event.data["new_total"], event.data["difference"]) == (
        "44.00",
        "59.00",
        "15.00",
    )
    assert emails(order).count() == 1 and emails(order).get().event == event
    assert Notification.objects.filter(order=order, event=event).exclude(channel="webhook").count() == 1

    page = owner_client.get(order_url(order))
    assert (
        f"Items of order {order.number} changed; the buyer is told by email. The buyer owes $15.00 more."
        in (messages_of(page))
    )
    text = page_text(page)
    timeline = text[text.index("Timeline") :]
    assert (
        "Items changed" in timeline
        and "Before 2 × T-shirt (M / black) 1 × Cap After 3 × T-shirt (L / black) 1 × Cap" in timeline
        and "Total: $44.00 → $59.00 (the buyer owes $15.00)" in timeline
    )


def test_removing_a_line_and_adding_one_shows_the_refund(owner_client, shop):
    order = place(shop)
    tee, cap = tee_and_cap(order)
    socks = {"sku": "SOCKS-3", "name": "Socks", "variant": "pack of 3", "quantity": 1, "unit_price": "4.00"}
    data = form_data(order, changes={tee.pk: {"quantity": 1}}, remove=[cap.pk], new=[socks])

    review = owner_client.post(items_url(order), data)
    text = page_text(review)
    # 15.00 + 4.00 + 4.50 shipping = 23.50: 20.50 back to the buyer.
    assert "Total now $44.00 Total after the change $23.50 To refund to the buyer $20.50" in text
    assert "After 1 × T-shirt (M / black) 1 × Socks (pack of 3)" in text

    applied = owner_client.post(items_url(order), {**data, "apply": "1"}, follow=True)
    assert "Refund $20.50 to the buyer." in " ".join(messages_of(applied))
    assert sorted(order.lines.values_list("sku", "name", "variant", "quantity", "unit_price")) == [
        ("SOCKS-3", "Socks", "pack of 3", 1, Decimal("4.00")),
        ("TEE-M-BLK", "T-shirt", "M / black", 1, Decimal("15.00")),
    ]
    assert "Total: $44.00 → $23.50 ($20.50 to refund to the buyer)" in page_text(applied)
    assert emails(order).count() == 1


def test_going_back_from_the_review_keeps_what_was_typed(owner_client, shop):
    order = place(shop)
    response = owner_client.post(
        items_url(order), form_data(order, changes=size_l_and_three(order), step="edit")
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="lines-0-variant" value="L / black"' in html
    assert 'name="lines-0-quantity" value="3"' in html
    assert "Review the change" in html


def test_each_applied_change_sends_its_own_single_email(owner_client, shop):
    order = place(shop)
    tee, _cap = tee_and_cap(order)
    owner_client.post(items_url(order), form_data(order, changes={tee.pk: {"quantity": 3}}, step="apply"))
    order.refresh_from_db()
    owner_client.post(items_url(order), form_data(order, changes={tee.pk: {"quantity": 1}}, step="apply"))
    assert emails(order).count() == 2
    assert OrderEvent.objects.filter(order=order, kind=EventKind.LINES_CHANGED).count() == 2


# --- Refusals: clear, nothing saved, nothing typed lost -----------------------------------------------------


def test_removing_every_item_is_refused(owner_client, shop):
    order = place(shop)
    tee, cap = tee_and_cap(order)
    before = snapshot(order)
    for step in ("review", "apply"):
        response = owner_client.post(items_url(order), form_data(order, remove=[tee.pk, cap.pk], step=step))
        assert response.status_code == 422
        assert "Keep at least one item. To stop the whole order, cancel it from the order page." in (
            page_text(response)
        )
        assert 'name="lines-0-remove" id="id_lines-0-remove" checked' in response.content.decode()
    assert snapshot(order) == before


@pytest.mark.parametrize("quantity", ["0", "-2"])
def test_a_zero_or_negative_quantity_is_refused_beside_the_field(owner_client, shop, quantity):
    order = place(shop)
    tee, _cap = tee_and_cap(order)
    before = snapshot(order)
    response = owner_client.post(
        items_url(order), form_data(order, changes={tee.pk: {"quantity": quantity, "variant": "XL"}})
    )
    assert response.status_code == 422
    text = page_text(response)
    assert "The quantity must be at least 1. To take the item off the order, tick “Remove this item”." in text
    assert "Nothing is saved yet: correct the fields marked below." in text
    html = response.content.decode()
    assert f'name="lines-0-quantity" value="{quantity}"' in html and 'value="XL"' in html  # kept
    assert 'aria-invalid="true"' in html
    assert snapshot(order) == before


def test_a_new_row_with_a_zero_quantity_or_missing_price_is_refused(owner_client, shop):
    order = place(shop)
    before = snapshot(order)
    response = owner_client.post(
        items_url(order),
        form_data(order, new=[{"sku": "MUG", "name": "Mug", "quantity": 0, "unit_price": ""}]),
    )
    assert response.status_code == 422
    text = page_text(response)
    assert "The quantity must be at least 1." in text and "This field is required." in text
    assert 'name="new-0-sku" value="MUG"' in response.content.decode()
    assert snapshot(order) == before


def test_an_unknown_line_is_refused(owner_client, shop, other_shop):
    order = place(shop)
    stranger = place(other_shop).lines.first()  # a line of another shop's order
    tee, _cap = tee_and_cap(order)
    before = snapshot(order)
    for line_id in (stranger.pk, 99_999_999, "x"):
        response = owner_client.post(items_url(order), form_data(order, changes={tee.pk: {"line": line_id}}))
        assert response.status_code == 422
        assert "This item is not in the order (it may have been removed meanwhile). Reload the order." in (
            page_text(response)
        )
    assert snapshot(order) == before
    assert stranger.order.lines.count() == 2


def test_a_line_listed_twice_is_refused(owner_client, shop):
    order = place(shop)
    tee, cap = tee_and_cap(order)
    response = owner_client.post(items_url(order), form_data(order, changes={cap.pk: {"line": tee.pk}}))
    assert response.status_code == 422
    assert "An item is listed twice; reload the order." in page_text(response)


def test_an_edit_that_changes_nothing_is_refused(owner_client, shop):
    order = place(shop)
    before = snapshot(order)
    response = owner_client.post(items_url(order), form_data(order))
    assert response.status_code == 422
    assert "Nothing changed." in page_text(response)
    assert snapshot(order) == before


def test_an_order_processed_meanwhile_is_refused_with_the_input_kept(owner_client, shop):
    order = place(shop)
    data = form_data(order, changes=size_l_and_three(order))
    process_order(order, by=SELLER)
    before = snapshot(order)
    for step in ("review", "apply"):
        response = owner_client.post(items_url(order), {**data, step: "1"})
        assert response.status_code == 409
        text = page_text(response)
        assert (
            f"Order {order.number} has the status “Processed” now, so its items can no longer change: items "
            "change only while the order is pending." in text
        )
        html = response.content.decode()
        assert 'value="L / black"' in html  # kept, to copy into a message to the buyer
        assert "Review the change" not in html and "Apply change" not in html
    assert snapshot(order) == before


def test_the_editor_of_an_order_no_longer_pending_sends_back_to_the_order(owner_client, shop):
    order = order_in(OrderStatus.PROCESSED, shop=shop)
    response = owner_client.get(items_url(order))
    assert response.status_code == 302 and response["Location"] == order_url(order)
    page = owner_client.get(order_url(order))
    assert "Items can only change while the order is pending." in messages_of(page)


def test_a_stale_form_is_refused_with_the_order_as_it_is_now_and_the_input_kept(owner_client, shop):
    order = place(shop)
    tee, cap = tee_and_cap(order)
    stale = form_data(order, changes={tee.pk: {"variant": "L / black"}})
    # Meanwhile another seller raises the cap's quantity and adds a mug.
    owner_client.post(
        items_url(order),
        form_data(
            order,
            changes={cap.pk: {"quantity": 2}},
            new=[{"sku": "MUG", "name": "Mug", "unit_price": "8.00"}],
            step="apply",
        ),
    )
    order.refresh_from_db()
    before = snapshot(order)

    for step in ("review", "apply"):
        response = owner_client.post(items_url(order), {**stale, step: "1"})
        assert response.status_code == 409
        text = page_text(response)
        assert "This order changed since you opened it. Reload it and try again." in text
        assert "Each row shows what the order holds now; your changes are kept in the fields." in text
        assert "SKU CAP-RED · $9.50 each · In the order: 2 units" in text  # the order as it is now
        html = response.content.decode()
        assert f'name="version" value="{order.version}"' in html  # the fresh version
        assert 'name="lines-0-variant" value="L / black"' in html  # the seller's input
        assert 'name="lines-2-variant"' in html and "Mug" in text  # the line added meanwhile is kept
        assert snapshot(order) == before

    # Saving again from the refreshed form keeps the mug (not seen before, so not removed).
    refreshed = owner_client.post(items_url(order), {**stale, "apply": "1"})
    assert refreshed.status_code == 409
    resubmit = {
        **stale,
        "version": order.version,
        "lines-TOTAL_FORMS": 3,
        "lines-2-line": order.lines.get(sku="MUG").pk,
        "lines-2-variant": "",
        "lines-2-quantity": 1,
        "apply": "1",
    }
    assert owner_client.post(items_url(order), resubmit).status_code == 302
    assert sorted(order.lines.values_list("sku", "variant", "quantity")) == [
        ("CAP-RED", "", 1),
        ("MUG", "", 1),
        ("TEE-M-BLK", "L / black", 2),
    ]


def test_a_form_without_its_version_is_refused(owner_client, shop):
    order = place(shop)
    data = form_data(order, changes=size_l_and_three(order))
    del data["version"]
    before = snapshot(order)
    response = owner_client.post(items_url(order), data)
    assert response.status_code == 422
    assert "The form is incomplete. Reload the order and try again." in page_text(response)
    assert snapshot(order) == before


# --- The coupon that stops applying -------------------------------------------------------------------------


def test_a_coupon_the_change_breaks_is_explained_then_dropped_when_the_seller_says_so(owner_client, shop):
    coupon = CouponFactory(
        shop=shop, code="BIG", kind=CouponKind.FIXED, value=Decimal("5"), min_subtotal=Decimal("35")
    )
    order = place(shop, coupon_code="BIG")  # 39.50 - 5.00 + 4.50 = 39.00
    _tee, cap = tee_and_cap(order)
    data = form_data(order, remove=[cap.pk])  # 30.00 of items: below the coupon's 35.00
    before = snapshot(order)
    explanation = (
        "With these items the coupon BIG no longer applies. Save again with the coupon taken off (the total "
        "goes up), or change the items. Reason: The coupon BIG needs a subtotal of at least $35.00."
    )

    review = owner_client.post(items_url(order), data)
    assert review.status_code == 200
    text = page_text(review)
    assert explanation in text
    assert "Take the coupon off the order and apply the change" in text
    assert (
        "Total now $39.00 Total after the change, without the coupon $34.50 To refund to the buyer $4.50"
        in text
    )
    assert snapshot(order) == before

    # Applying without ticking the box: refused, explained again, beside the box.
    refused = owner_client.post(items_url(order), {**data, "apply": "1"})
    assert refused.status_code == 422
    assert explanation in page_text(refused)
    assert "Tick this box to apply the change without the coupon." in page_text(refused)
    assert snapshot(order) == before

    applied = owner_client.post(items_url(order), {**data, "apply": "1", "drop_coupon": "on"}, follow=True)
    message = " ".join(messages_of(applied))
    assert "The coupon BIG was taken off." in message and "Refund $4.50 to the buyer." in message
    order.refresh_from_db()
    assert order.coupon is None and order.total == Decimal("34.50")
    coupon.refresh_from_db()
    assert coupon.times_used == 0
    assert emails(order).count() == 1
    assert emails(order).get().context["dropped_coupon"] == "BIG"
    assert "The coupon BIG was taken off." in page_text(applied).split("Timeline", 1)[1]


def test_a_coupon_that_still_applies_is_kept_without_a_question(owner_client, shop):
    CouponFactory(shop=shop, code="TEN", kind=CouponKind.PERCENTAGE, value=Decimal("10"))
    order = place(shop, coupon_code="TEN")
    tee, _cap = tee_and_cap(order)
    review = owner_client.post(items_url(order), form_data(order, changes={tee.pk: {"quantity": 3}}))
    text = page_text(review)
    assert "no longer applies" not in text and "Take the coupon off" not in text
    owner_client.post(items_url(order), form_data(order, changes={tee.pk: {"quantity": 3}}, step="apply"))
    order.refresh_from_db()
    assert order.coupon.code == "TEN" and order.discount == Decimal("5.45")  # 10% of 54.50


# --- Who may edit -------------------------------------------------------------------------------------------


def test_staff_may_edit_items(staff_client, shop, staff):
    order = place(shop)
    assert staff_client.get(items_url(order)).status_code == 200
    response = staff_client.post(
        items_url(order), form_data(order, changes=size_l_and_three(order), step="apply")
    )
    assert response.status_code == 302
    assert OrderEvent.objects.get(order=order, kind=EventKind.LINES_CHANGED).actor == staff


def test_anyone_outside_the_shop_is_kept_out(client, shop, other_client):
    order = place(shop)
    before = snapshot(order)
    data = form_data(order, changes=size_l_and_three(order), step="apply")
    # Another shop's owner: the order does not exist for them.
    assert other_client.get(items_url(order)).status_code == 404
    assert other_client.post(items_url(order), data).status_code == 404
    # A signed-in user of no shop: refused.
    loner = Client()
    loner.force_login(UserFactory(email="loner@example.com"))
    assert loner.post(items_url(order), data).status_code == 403
    # Signed out: sent to sign in.
    response = client.post(items_url(order), data)
    assert response.status_code == 302 and "login" in response["Location"]
    assert snapshot(order) == before


def test_a_post_without_the_csrf_token_is_refused(owner, shop):
    order = place(shop)
    before = snapshot(order)
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    response = client.post(items_url(order), form_data(order, changes=size_l_and_three(order), step="apply"))
    assert response.status_code == 403 and b"CSRF verification failed" in response.content
    assert snapshot(order) == before


def test_the_editor_page_carries_a_csrf_token(owner_client, shop):
    order = place(shop)
    assert 'name="csrfmiddlewaretoken"' in owner_client.get(items_url(order)).content.decode()


# --- The home tile ------------------------------------------------------------------------------------------


def test_the_home_tile_counts_open_item_change_requests_and_links_to_them(owner_client, shop, other_shop):
    asked = place(shop)
    tee, _cap = tee_and_cap(asked)
    request_modification(asked, changes=[{"line_id": tee.pk, "quantity": 3}], by=Actor.buyer())
    other = place(shop)
    request_modification(
        other, changes=[{"line_id": tee_and_cap(other)[0].pk, "variant": "S"}], by=Actor.buyer()
    )
    BuyerRequest.objects.create(shop=shop, order=place(shop), kind=RequestKind.CANCELLATION)
    answered = place(shop)
    BuyerRequest.objects.create(
        shop=shop, order=answered, kind=RequestKind.MODIFICATION, status="declined", payload={"changes": []}
    )
    elsewhere = place(other_shop)
    request_modification(
        elsewhere, changes=[{"line_id": tee_and_cap(elsewhere)[0].pk, "quantity": 4}], by=Actor.buyer()
    )

    response = owner_client.get(reverse("dashboard:home"))
    tiles = {str(tile["label"]): tile for tile in response.context["tiles"]}
    assert tiles["Item change requests"]["count"] == 2
    assert tiles["Buyer requests"]["count"] == 3  # every open request, item changes included
    link = tiles["Item change requests"]["url"]
    assert link == f"{reverse('dashboard:requests')}?status=open&kind=modification"
    assert f'href="{link.replace("&", "&amp;")}"' in response.content.decode()

    queue = owner_client.get(link)
    assert queue.status_code == 200
    assert sorted(r.order.number for r in queue.context["requests"]) == sorted([asked.number, other.number])
