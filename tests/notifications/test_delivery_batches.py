"""Delivering many rows fast: batches of rows per task, the shop's texts cached, the MIME form built cheaply.

None of it may change what the buyer receives or weaken the outbox's promises: each row is still locked,
sent and marked sent in its own transaction, once.
"""

import email
import email.policy

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.locmem import EmailBackend
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders.models import EventKind, Notification, NotificationStatus, NotificationTemplate, OrderEvent
from orders.notifications.email import OutboxEmail, build_email, shop_texts
from orders.tasks import DELIVERY_BATCH_SIZE, deliver_notification, deliver_notifications, sweep_outbox
from tests.factories import ShopFactory, order_in, place

pytestmark = pytest.mark.django_db


def confirmations(shop, count: int) -> list[Notification]:
    orders = [place(shop, email=f"buyer{index}@example.net") for index in range(count)]
    return [order.notifications.get(template="order_confirmed") for order in orders]


def test_a_batch_of_12_rows_sends_12_emails_once_each_and_logs_each_on_its_timeline(shop):
    rows = confirmations(shop, 12)

    assert deliver_notifications([row.pk for row in rows]) == {"sent": 12}
    assert deliver_notifications([row.pk for row in rows]) == {"skipped": 12}  # delivered again: nothing

    assert sorted(message.to[0] for message in mail.outbox) == sorted(row.recipient for row in rows)
    assert Notification.objects.filter(status=NotificationStatus.SENT).count() == 12
    sent_events = OrderEvent.objects.filter(kind=EventKind.NOTIFICATION_SENT)
    assert sorted(event.data["notification_id"] for event in sent_events) == sorted(row.pk for row in rows)


def test_a_row_that_fails_in_the_middle_of_a_batch_is_retried_and_the_others_are_sent(shop, monkeypatch):
    rows = confirmations(shop, 5)
    bad = rows[2]
    real_send_messages = EmailBackend.send_messages

    def refuse_one(self, messages):
        if messages[0].to == [bad.recipient]:
            raise ConnectionResetError("the server hung up")
        return real_send_messages(self, messages)

    monkeypatch.setattr(EmailBackend, "send_messages", refuse_one)

    assert deliver_notifications([row.pk for row in rows]) == {"sent": 4, "retrying": 1}
    bad.refresh_from_db()
    assert bad.status == NotificationStatus.QUEUED
    assert bad.attempts == 1 and "the server hung up" in bad.last_error
    assert len(mail.outbox) == 4
    assert Notification.objects.filter(status=NotificationStatus.SENT).count() == 4


def test_a_row_sent_failed_or_not_yet_due_is_left_alone_in_a_batch(shop):
    from django.utils import timezone

    sent, failed, later, due = confirmations(shop, 4)
    Notification.objects.filter(pk=sent.pk).update(status=NotificationStatus.SENT)
    Notification.objects.filter(pk=failed.pk).update(status=NotificationStatus.FAILED)
    Notification.objects.filter(pk=later.pk).update(
        next_attempt_at=timezone.now() + timezone.timedelta(hours=1)
    )

    outcomes = deliver_notifications([sent.pk, failed.pk, later.pk, due.pk, 987654321])
    assert outcomes == {"skipped": 3, "not due": 1, "sent": 1}
    assert [message.to for message in mail.outbox] == [[due.recipient]]


@pytest.mark.parametrize("async_commit", [False, True], ids=["commit-waits-for-disk", "async-commit"])
def test_each_row_of_a_batch_is_marked_sent_in_its_own_transaction(shop, settings, async_commit):
    settings.SHIPSHAPE = {**settings.SHIPSHAPE, "NOTIFICATION_ASYNC_COMMIT": async_commit}
    rows = confirmations(shop, 3)
    shop_texts(shop.pk)  # the shop's texts are cached already
    with CaptureQueriesContext(connection) as queries:
        deliver_notifications([row.pk for row in rows])
    statements = [query["sql"] for query in queries.captured_queries]
    # The batch and its order lines are read once; then per row: a transaction (a savepoint inside the
    # test's own transaction) that locks the row, marks it sent and logs the event; with the async-commit
    # setting it first sets the commit mode.
    assert sum("orders_orderline" in sql for sql in statements) == 1
    per_row = ["SAVEPOINT", "UPDATE", "INSERT", "RELEASE SAVEPOINT"]
    for starts in per_row:
        assert sum(sql.startswith(starts) for sql in statements) == 3, starts
    commit_mode = sum(sql.startswith("SET LOCAL synchronous_commit TO OFF") for sql in statements)
    assert commit_mode == (3 if async_commit else 0)
    assert sum(sql.endswith("SKIP LOCKED") for sql in statements) == 3
    assert len(statements) == 2 + 3 * (
        5 + async_commit
    )  # savepoint, [commit mode,] lock, update, insert, release


def test_the_sweep_hands_out_rows_in_batches_of_ids(shop, monkeypatch):
    from django.utils import timezone

    place_count = DELIVERY_BATCH_SIZE + 7
    confirmations(shop, place_count)
    Notification.objects.update(next_attempt_at=timezone.now() - timezone.timedelta(minutes=5))
    published = []
    monkeypatch.setattr(
        deliver_notifications, "apply_async", lambda args=None, **kwargs: published.append((args, kwargs))
    )

    assert sweep_outbox() == place_count
    assert [len(args[0]) for args, _ in published] == [DELIVERY_BATCH_SIZE, 7]
    for args, kwargs in published:
        assert len(args) == 1 and all(isinstance(pk, int) for pk in args[0])  # ids only
        assert set(kwargs) <= {"retry", "countdown"}
    assert sorted(pk for args, _ in published for pk in args[0]) == sorted(
        Notification.objects.values_list("pk", flat=True)
    )


def test_the_shops_texts_are_read_once_and_forgotten_when_one_is_saved_or_deleted(shop):
    orders = [order_in("processed", shop=shop, email=f"b{index}@example.net") for index in range(3)]
    rows = [order.notifications.get(template="order_processed") for order in orders]
    shop_texts(shop.pk)  # cached

    with CaptureQueriesContext(connection) as queries:
        deliver_notification(rows[0].pk)
    assert not [q for q in queries.captured_queries if "notificationtemplate" in q["sql"]]
    assert "is being prepared" in mail.outbox[-1].subject

    text = NotificationTemplate.objects.create(
        shop=shop, template="order_processed", subject="Packing {{ order.number }}", body_text="Soon!"
    )
    deliver_notification(rows[1].pk)
    assert mail.outbox[-1].subject == f"{shop.name}: Packing {orders[1].number}"

    text.delete()
    deliver_notification(rows[2].pk)
    assert "is being prepared" in mail.outbox[-1].subject


def test_one_shops_texts_never_reach_another_shop(shop, other_shop):
    NotificationTemplate.objects.create(shop=shop, template="order_confirmed", body_text="Ours only")
    ours = place(shop).notifications.get()
    theirs = place(other_shop).notifications.get()
    deliver_notifications([ours.pk, theirs.pk])
    by_recipient_shop = {message.subject.split(":")[0]: message.body for message in mail.outbox}
    assert "Ours only" in by_recipient_shop[shop.name]
    assert "Ours only" not in by_recipient_shop[other_shop.name]


def wire(message: EmailMultiAlternatives):
    raw = message.message(policy=email.policy.SMTP).as_bytes()
    return raw, email.message_from_bytes(raw, policy=email.policy.default)


def test_the_quick_mime_form_carries_the_same_message_as_djangos_own(shop):
    shop = ShopFactory(name="Tienda Ñandú Café", slug="nandu")
    order = order_in("processed", shop=shop, language="vi", email="ana@example.net")
    row = order.notifications.get(template="order_processed")
    quick = build_email(row)
    assert isinstance(quick, OutboxEmail)
    reference = EmailMultiAlternatives(
        subject=quick.subject,
        body=quick.body,
        from_email=quick.from_email,
        to=quick.to,
        reply_to=quick.reply_to,
        headers=quick.extra_headers,
    )
    reference.attach_alternative(quick.alternatives[0].content, "text/html")

    raw, parsed = wire(quick)
    _, expected = wire(reference)
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only, as SMTP wants
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    for header in ("Subject", "From", "To", "Reply-To", "Message-ID", "X-Shipshape-Notification"):
        assert str(parsed[header]) == str(expected[header]), header
    assert "Ñandú" in str(parsed["Subject"])
    assert parsed.get_content_type() == "multipart/alternative"
    text, html = parsed.get_payload()
    assert text.get_content_type() == "text/plain" and html.get_content_type() == "text/html"
    assert text.get_content().strip() == quick.body.strip()
    assert html.get_content().strip() == quick.alternatives[0].content.strip()
    assert parsed["Date"]


def test_an_unusual_message_is_built_by_django_itself(shop):
    unusual = OutboxEmail(
        subject="Hello",
        body="Text",
        from_email="orders@example.net",
        to=["zoë@bücher.example"],  # a non-ASCII address: Django's builder encodes it
        headers={"Message-ID": "<1@example.net>"},
    )
    _, parsed = wire(unusual)
    assert "xn--" in str(parsed["To"])
    with_attachment = OutboxEmail(
        subject="Hello", body="Text", from_email="a@example.net", to=["b@example.net"]
    )
    with_attachment.attach("note.txt", "a note", "text/plain")
    _, parsed = wire(with_attachment)
    assert [part.get_filename() for part in parsed.iter_attachments()] == ["note.txt"]


def test_a_change_announced_to_two_webhook_endpoints_publishes_one_task_for_both_rows(
    shop, django_capture_on_commit_callbacks, monkeypatch
):
    from orders.models import WebhookEndpoint
    from orders.services import Actor, process_order

    for index in range(2):
        WebhookEndpoint.objects.create(shop=shop, url=f"https://hooks{index}.example/in", secret="s" * 32)
    order = place(shop)
    batches, singles = [], []
    monkeypatch.setattr(deliver_notifications, "apply_async", lambda args=None, **kw: batches.append(args))
    monkeypatch.setattr(deliver_notification, "apply_async", lambda args=None, **kw: singles.append(args))

    with django_capture_on_commit_callbacks(execute=True):
        process_order(order, by=Actor.system())

    hooks = Notification.objects.filter(order=order, channel="webhook", template="order.processed")
    assert sorted(batches[0][0]) == sorted(hooks.values_list("pk", flat=True)) and len(batches[0][0]) == 2
    email_row = Notification.objects.get(order=order, template="order_processed")
    assert [email_row.pk] in singles  # the buyer's email: one row, one task


def test_the_quick_mime_form_keeps_line_breaks_and_never_sends_a_line_smtp_refuses():
    long_line = "<p>" + "x" * 2000 + "</p>"
    message = OutboxEmail(
        subject="Hello", body="one\n\x0ctwo\n\nthree\n", from_email="a@example.net", to=["b@example.net"]
    )
    message.attach_alternative(long_line + "\n", "text/html")
    raw, parsed = wire(message)
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    text, html = parsed.get_payload()
    assert text["Content-Transfer-Encoding"] == "7bit"
    # CRLF on the wire; the form feed is no line break and stays as it is.
    assert text.get_content() == "one\r\n\x0ctwo\r\n\r\nthree\r\n"
    assert html["Content-Transfer-Encoding"] == "base64"  # a 2,000-character line may not go as it is
    assert html.get_content() == long_line + "\n"


def test_a_header_value_outside_ascii_sends_the_message_through_djangos_builder():
    message = OutboxEmail(
        subject="Hello",
        body="Text",
        from_email="a@example.net",
        to=["b@example.net"],
        headers={"X-Shop": "Café Ñandú"},
    )
    assert not message.is_plain()
    _, parsed = wire(message)
    assert str(parsed["X-Shop"]) == "Café Ñandú"
