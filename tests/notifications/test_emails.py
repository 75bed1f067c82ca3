"""What buyers receive: content, escaping, the shop's own texts, unsubscribe links."""

import pytest
from django.core import mail
from django.urls import reverse

from orders.models import NotificationTemplate, Suppression
from orders.notifications import CATALOGUE
from orders.notifications.email import preview, unsubscribe_token
from orders.services import Actor, ParcelSpec, cancel_order, process_order, ship_order
from orders.tasks import deliver_notification
from tests.factories import ADDRESS, order_in, place

pytestmark = pytest.mark.django_db


def deliver_all(order):
    for notification in order.notifications.filter(status="queued"):
        deliver_notification(notification.pk)


def test_buyer_written_text_is_escaped_in_html_and_left_plain_in_text(shop):
    order = place(shop, address={**ADDRESS, "name": "Bo & <b>Ann</b>", "city": "Tromsø"}, paid=False)
    order = cancel_order(order, reason="<script>alert(1)</script> & sold out", by=Actor.system())
    deliver_all(order)

    cancelled = next(m for m in mail.outbox if "cancelled" in m.subject)
    html = cancelled.alternatives[0][0]
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; sold out" in html
    assert "<script>alert(1)</script> & sold out" in cancelled.body  # plain text is not HTML-escaped


def test_shipping_email_names_the_carrier_and_links_to_its_tracking_page(shop):
    order = order_in("processed", shop=shop)
    ship_order(order, parcels=[ParcelSpec(tracking_number="1Z999AA10123456784")], by=Actor.system())
    deliver_all(order)
    shipped = next(m for m in mail.outbox if "on its way" in m.subject)
    assert "UPS" in shipped.body
    assert "https://www.ups.com/track?tracknum=1Z999AA10123456784" in shipped.body
    assert f"/track/{order.public_token}/" in shipped.body


def test_a_split_order_sends_one_email_per_parcel(shop):
    order = order_in("processed", shop=shop)
    first, second = order.lines.all()
    ship_order(
        order,
        parcels=[ParcelSpec(tracking_number="1Z0000000000000019", lines={first.pk: first.quantity})],
        by=Actor.system(),
    )
    ship_order(
        order,
        parcels=[ParcelSpec(tracking_number="1Z0000000000000028", lines={second.pk: 1})],
        by=Actor.system(),
    )
    deliver_all(order)
    shipped = [m for m in mail.outbox if "on its way" in m.subject]
    assert len(shipped) == 2
    assert {"1Z0000000000000019" in m.body for m in shipped} == {True, False}


def test_money_is_formatted_for_the_buyers_language(shop):
    shop.currency = "EUR"
    shop.save()
    order = place(shop, language="de")
    deliver_all(order)
    assert "€" in mail.outbox[0].body
    assert f"{order.total:.2f}".replace(".", ",") in mail.outbox[0].body  # German decimal comma


def test_the_shops_own_text_replaces_the_built_in_one(shop):
    NotificationTemplate.objects.create(
        shop=shop,
        template="order_processed",
        subject="Packing {{ order.number }} now",
        body_text="Hi {{ order.ship_name }}! Your parcel is being packed & will leave soon.",
    )
    order = order_in("processed", shop=shop)
    deliver_all(order)
    processed = next(m for m in mail.outbox if "Packing" in m.subject)
    assert processed.subject == f"{shop.name}: Packing {order.number} now"
    assert "Hi Ada Buyer! Your parcel is being packed & will leave soon." in processed.body
    assert "being packed &amp; will leave soon" in processed.alternatives[0][0]


def test_preview_renders_every_message_and_explains_a_broken_draft(shop):
    for template in CATALOGUE:
        rendered = preview(shop, template)
        assert rendered["subject"].startswith(shop.name)
        assert rendered["text"].strip() and "<html" in rendered["html"]
    broken = preview(shop, "order_processed", body_text="{% if %}oops")
    assert "error" in broken and "if" in broken["error"]


def test_non_essential_mail_carries_an_unsubscribe_link_and_header(shop):
    from orders.models import EventKind
    from orders.notifications import queue_customer_email
    from orders.services.changes import SYSTEM, record_event

    order = order_in("delivered", shop=shop)
    event = record_event(order, EventKind.FEEDBACK_REQUESTED, by=SYSTEM)
    notification = queue_customer_email(order, event, "feedback_request")
    mail.outbox.clear()
    deliver_notification(notification.pk)
    message = mail.outbox[0]
    token = unsubscribe_token(shop.pk, order.email)
    assert f"/notifications/unsubscribe/{token}/" in message.body
    assert message.extra_headers["List-Unsubscribe"].endswith(f"/notifications/unsubscribe/{token}/>")
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    order_mail = next(n for n in order.notifications.all() if n.template == "order_delivered")
    assert CATALOGUE[order_mail.template].essential


def test_unsubscribe_asks_first_then_unsubscribes_on_post(client, shop):
    token = unsubscribe_token(shop.pk, "ada@example.net")
    url = reverse("orders:unsubscribe", args=[token])

    page = client.get(url)
    assert page.status_code == 200
    assert "Stop feedback requests and delay notices?" in page.content.decode()
    assert not Suppression.objects.exists()

    done = client.post(url)
    assert done.status_code == 200
    assert "You are unsubscribed" in done.content.decode()
    assert Suppression.objects.filter(shop=shop, email="ada@example.net").count() == 1
    assert client.post(url).status_code == 200  # twice is harmless
    assert Suppression.objects.count() == 1


def test_a_forged_unsubscribe_link_changes_nothing(client, shop):
    token = unsubscribe_token(shop.pk, "ada@example.net")
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    response = client.post(reverse("orders:unsubscribe", args=[forged]))
    assert response.status_code == 404
    assert "This link does not work" in response.content.decode()
    assert not Suppression.objects.exists()


def test_processing_email_goes_out_once_per_change(shop):
    order = place(shop)
    process_order(order, by=Actor.system())
    deliver_all(order)
    deliver_all(order)
    assert sorted(m.subject.split(": ", 1)[1] for m in mail.outbox) == sorted(
        [f"Your order {order.number} is confirmed", f"Your order {order.number} is being prepared"]
    )


def test_a_shop_without_orders_previews_on_a_sample_that_is_not_kept(other_shop):
    from orders.models import Order

    rendered = preview(other_shop, "order_confirmed")
    assert f"{other_shop.order_prefix}-100001" in rendered["text"]
    assert "T-shirt" in rendered["text"]
    assert not Order.objects.filter(shop=other_shop).exists()


def test_buyer_text_inside_a_shops_own_template_is_escaped_in_html(shop):
    NotificationTemplate.objects.create(
        shop=shop, template="order_confirmed", body_text="Hello {{ order.ship_name }}"
    )
    order = place(shop, address={**ADDRESS, "name": "<img src=x onerror=alert(1)>"})
    deliver_all(order)
    html = mail.outbox[0].alternatives[0][0]
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_the_admin_shows_a_preview_of_a_shops_own_text(admin_client, shop):
    order = place(shop)
    text = NotificationTemplate.objects.create(
        shop=shop,
        template="order_processed",
        subject="Packing {{ order.number }}",
        body_text="We pack {{ order.number }}.",
    )
    page = admin_client.get(f"/admin/orders/notificationtemplate/{text.pk}/change/")
    assert page.status_code == 200
    content = page.content.decode()
    assert f"{shop.name}: Packing {order.number}" in content
    assert f"We pack {order.number}." in content


def test_a_message_from_the_seller_reaches_the_buyer_and_the_timeline(shop):
    from orders.models import EventKind
    from orders.services import message_buyer

    order = order_in("processed", shop=shop)
    mail.outbox.clear()
    message_buyer(order, text="Your scarf ships tomorrow & comes gift-wrapped.", by=Actor.system())
    deliver_all(order)
    message = next(m for m in mail.outbox if "A message about your order" in m.subject)
    assert "Your scarf ships tomorrow & comes gift-wrapped." in message.body
    assert "gift-wrapped" in message.alternatives[0][0]
    assert order.events.filter(kind=EventKind.MESSAGE_TO_BUYER).count() == 1


def test_an_empty_message_is_refused(shop):
    from orders.errors import InvalidInput
    from orders.services import message_buyer

    order = place(shop)
    with pytest.raises(InvalidInput) as refused:
        message_buyer(order, text="   ", by=Actor.system())
    assert refused.value.details["field"] == "text"
