"""The Django admin: every page opens, search finds orders, actions go through the services."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from dashboard.models import SavedView
from orders.imports.applying import apply, preview, receive_file, remember_status_mapping
from orders.models import (
    BuyerRequest,
    EventKind,
    Feedback,
    Notification,
    NotificationStatus,
    NotificationTemplate,
    Order,
    OrderEvent,
    RequestKind,
    Return,
    ReturnStatus,
    Suppression,
    WebhookEndpoint,
)
from orders.services import Actor, ParcelSpec, process_order, request_return, ship_order
from orders.states import OrderStatus, PaymentStatus
from shipping.models import ShipmentStatus
from shop.models import ApiKey, IdempotencyRecord, User
from tests.factories import (
    PASSWORD,
    CouponFactory,
    CustomerFactory,
    MembershipFactory,
    order_in,
    place,
    return_everything,
    tracking_number,
)
from tests.imports.export_files import TIKTOK_ALL_ORDERS

pytestmark = pytest.mark.django_db

REGISTERED = sorted(admin.site._registry, key=lambda model: model._meta.label)


def changelist_url(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def change_url(obj) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def messages_of(response) -> list[tuple[str, str]]:
    return [(message.level_tag, message.message) for message in get_messages(response.wsgi_request)]


def run_action(client, model, action: str, objects, **extra):
    return client.post(
        changelist_url(model),
        {"action": action, "_selected_action": [obj.pk for obj in objects], **extra},
        follow=True,
    )


def listed_numbers(response) -> set[str]:
    return {order.number for order in response.context["cl"].result_list}


@pytest.fixture
def every_kind_of_row(shop, admin_user):
    """At least one row of every model the admin shows, reached through the services where they exist."""
    MembershipFactory(shop=shop)
    CustomerFactory(shop=shop)
    coupon = CouponFactory(shop=shop, code="WELCOME10")
    place(shop, email="coupon@example.net", coupon_code="WELCOME10")
    for status in OrderStatus:
        if status != OrderStatus.RETURNED:
            order_in(status, shop=shop)
    return_everything(order_in(OrderStatus.DELIVERED, shop=shop))
    ApiKey.issue(shop=shop, name="Storefront", created_by=admin_user)
    IdempotencyRecord.objects.create(
        shop=shop, key="retry-1", fingerprint="f" * 64, method="POST", path="/api/v1/"
    )
    NotificationTemplate.objects.create(
        shop=shop, template="order_processed", body_text="Hello {{ order.number }}"
    )
    Suppression.objects.create(shop=shop, email="quiet@example.net")
    delivered = order_in(OrderStatus.DELIVERED, shop=shop)
    BuyerRequest.objects.create(
        shop=shop, order=order_in(OrderStatus.PROCESSED, shop=shop), kind=RequestKind.CANCELLATION
    )
    Feedback.objects.create(shop=shop, order=delivered, rating=5, comment="Lovely")
    SavedView.objects.create(user=admin_user, shop=shop, name="Late ones", query="late=1")
    WebhookEndpoint.objects.create(shop=shop, url="https://example.com/hooks", secret="s3cret")
    Group.objects.create(name="Support")
    every_minute = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.MINUTES)
    CrontabSchedule.objects.create(minute="0", hour="3")
    SolarSchedule.objects.create(event="sunrise", latitude=50.8, longitude=-1.09)
    ClockedSchedule.objects.create(clocked_time=timezone.now() + timedelta(days=1))
    PeriodicTask.objects.create(
        name="Sweep the outbox", task="orders.tasks.sweep_outbox", interval=every_minute
    )
    # An import of a TikTok Shop file, checked and applied: the import, its items, external references.
    with open(TIKTOK_ALL_ORDERS, "rb") as export:
        order_import = receive_file(
            shop, export, name=TIKTOK_ALL_ORDERS.name, size=TIKTOK_ALL_ORDERS.stat().st_size, by=admin_user
        )
    apply(preview(order_import), by=admin_user)
    remember_status_mapping(shop, "tiktok", "Awaiting seller review", OrderStatus.PENDING, by=admin_user)
    return coupon


def test_every_model_of_the_project_is_in_the_admin():
    ours = {
        model
        for app in ("shop", "orders", "shipping", "dashboard")
        for model in apps.get_app_config(app).get_models()
    }
    assert ours - set(admin.site._registry) == set()


def test_changelist_and_change_page_of_every_model_open(admin_client, every_kind_of_row):
    # One test over every model, so the fixture (a dozen orders through the services) is built once.
    pages = {}
    for model in REGISTERED:
        row = model._default_manager.order_by("pk").first()
        assert row is not None, f"the fixture must create a {model._meta.label} row"
        pages[f"{model._meta.label} list"] = admin_client.get(changelist_url(model)).status_code
        pages[f"{model._meta.label} #{row.pk}"] = admin_client.get(change_url(row)).status_code

    assert {page: status for page, status in pages.items() if status != 200} == {}
    assert len(pages) == 2 * len(REGISTERED)


@pytest.mark.parametrize(
    "term",
    [
        pytest.param(lambda order: order.number, id="order number"),
        pytest.param(lambda order: order.number.lower(), id="order number in lower case"),
        pytest.param(lambda order: order.email, id="email"),
        pytest.param(lambda order: order.shipments.get().tracking_number, id="tracking number"),
    ],
)
def test_searching_orders_finds_the_one_order(admin_client, shop, term):
    wanted = order_in(OrderStatus.SHIPPED, shop=shop, email="wanted@example.net")
    other = order_in(OrderStatus.SHIPPED, shop=shop, email="someone-else@example.net")

    response = admin_client.get(changelist_url(Order), {"q": term(wanted)})

    assert response.status_code == 200
    assert listed_numbers(response) == {wanted.number}
    assert other.number not in response.content.decode()


def test_searching_by_customer_name_lists_each_order_once(admin_client, shop):
    order = order_in(OrderStatus.PENDING, shop=shop, customer_name="Grace Hopper")

    response = admin_client.get(changelist_url(Order), {"q": "hopper"})

    assert [o.number for o in response.context["cl"].result_list] == [order.number]


def test_an_order_in_two_parcels_is_listed_once_when_searched(admin_client, shop):
    order = process_order(place(shop), by=Actor.system())
    first, second = order.lines.all()
    order = ship_order(
        order,
        parcels=[
            ParcelSpec(tracking_number=tracking_number(), lines={first.pk: first.quantity}),
            ParcelSpec(tracking_number=tracking_number(), lines={second.pk: second.quantity}),
        ],
        by=Actor.system(),
    )
    assert order.shipments.count() == 2

    response = admin_client.get(changelist_url(Order), {"q": order.number})

    assert [o.number for o in response.context["cl"].result_list] == [order.number]


def test_order_list_shows_number_email_status_and_total(admin_client, shop):
    order = order_in(OrderStatus.SHIPPED, shop=shop, email="list@example.net")

    page = admin_client.get(changelist_url(Order)).content.decode()

    assert order.number in page
    assert "list@example.net" in page
    assert "Shipped" in page
    assert "$44.00" in page  # 2 × 15.00 + 9.50, plus 4.50 shipping


def test_filtering_orders_by_status(admin_client, shop):
    shipped = order_in(OrderStatus.SHIPPED, shop=shop)
    order_in(OrderStatus.PENDING, shop=shop)

    response = admin_client.get(changelist_url(Order), {"status__exact": OrderStatus.SHIPPED})

    assert listed_numbers(response) == {shipped.number}


def test_process_action_processes_a_paid_pending_order_and_writes_the_timeline(
    admin_client, admin_user, shop
):
    order = order_in(OrderStatus.PENDING, shop=shop)

    response = run_action(admin_client, Order, "process_selected", [order])

    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSED
    event = order.events.get(kind=EventKind.PROCESSED)
    assert event.actor == admin_user
    assert event.actor_kind == "seller"
    assert messages_of(response) == [("success", "1 order processed.")]


def test_an_illegal_move_is_an_error_message_and_changes_nothing(admin_client, shop):
    order = order_in(OrderStatus.PENDING, shop=shop)
    version, events = order.version, order.events.count()

    response = run_action(admin_client, Order, "deliver_selected", [order])

    assert response.status_code == 200
    assert messages_of(response) == [
        (
            "error",
            f"{order.number}: An order that is pending cannot become delivered. "
            "Allowed next: Processed, Cancelled.",
        )
    ]
    order.refresh_from_db()
    assert (order.status, order.version, order.events.count()) == (OrderStatus.PENDING, version, events)


def test_one_refused_order_does_not_stop_the_others(admin_client, shop):
    paid = order_in(OrderStatus.PENDING, shop=shop)
    unpaid = order_in(OrderStatus.PENDING, shop=shop, paid=False)

    response = run_action(admin_client, Order, "process_selected", [paid, unpaid])

    assert messages_of(response) == [
        ("error", f"{unpaid.number}: The order is not paid and is not cash on delivery."),
        ("success", "1 order processed."),
    ]
    paid.refresh_from_db()
    unpaid.refresh_from_db()
    assert (paid.status, unpaid.status) == (OrderStatus.PROCESSED, OrderStatus.PENDING)


def test_cancel_action_cancels_and_refunds_with_the_administrator_reason(admin_client, shop):
    order = order_in(OrderStatus.PROCESSED, shop=shop)

    response = run_action(admin_client, Order, "cancel_selected", [order])

    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert order.cancel_reason == "Cancelled by an administrator"
    assert order.payment_status == PaymentStatus.REFUNDED
    assert order.events.get(kind=EventKind.CANCELLED).message == "Cancelled by an administrator"
    assert messages_of(response) == [("success", "1 order cancelled.")]


def test_cancel_action_refuses_a_shipped_order(admin_client, shop):
    order = order_in(OrderStatus.SHIPPED, shop=shop)

    response = run_action(admin_client, Order, "cancel_selected", [order])

    assert messages_of(response) == [
        (
            "error",
            f"{order.number}: An order that is shipped cannot become cancelled. "
            "Allowed next: Delivered, Returned.",
        )
    ]
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED


def test_mark_delivered_action_delivers_a_shipped_order_and_its_parcels(admin_client, shop):
    order = order_in(OrderStatus.SHIPPED, shop=shop)

    response = run_action(admin_client, Order, "deliver_selected", [order])

    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED
    assert order.shipments.get().status == ShipmentStatus.DELIVERED
    assert messages_of(response) == [("success", "1 order marked delivered.")]


def test_mark_parcel_delivered_action_on_shipments(admin_client, shop):
    from shipping.models import Shipment

    order = order_in(OrderStatus.SHIPPED, shop=shop)
    shipment = order.shipments.get()

    response = run_action(admin_client, Shipment, "mark_delivered", [shipment])
    again = run_action(admin_client, Shipment, "mark_delivered", [shipment])

    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED
    assert messages_of(response) == [("success", "1 parcel marked delivered.")]
    assert messages_of(again) == [("error", f"{order.number} {shipment}: This parcel is already delivered.")]


def test_return_actions_approve_receive_and_refund_through_the_services(admin_client, shop):
    order = order_in(OrderStatus.DELIVERED, shop=shop)
    lines = {line.pk: line.quantity for line in order.lines.all()}
    return_request = request_return(order, lines=lines, reason="Too small", by=Actor.buyer())

    refused = run_action(admin_client, Return, "refund_selected", [return_request])
    assert messages_of(refused) == [
        ("error", f"{return_request}: A return that is requested cannot become refunded.")
    ]

    for action in ("approve_selected", "receive_selected", "refund_selected"):
        response = run_action(admin_client, Return, action, [return_request])
        assert [level for level, _text in messages_of(response)] == ["success"], action

    return_request.refresh_from_db()
    order.refresh_from_db()
    assert return_request.status == ReturnStatus.REFUNDED
    assert order.status == OrderStatus.RETURNED
    # The items come back at their price; the shipping is not refunded.
    assert order.refunded_total == Decimal("39.50")
    assert order.payment_status == PaymentStatus.PARTIALLY_REFUNDED


def test_retry_delivery_requeues_a_failed_notification_and_sends_it(
    admin_client, shop, django_capture_on_commit_callbacks
):
    order = order_in(OrderStatus.PROCESSED, shop=shop, email="retry@example.net")
    failed = order.notifications.get(template="order_processed")
    Notification.objects.filter(pk=failed.pk).update(
        status=NotificationStatus.FAILED, attempts=8, last_error="SMTPServerDisconnected"
    )
    sent = order.notifications.get(template="order_confirmed")
    Notification.objects.filter(pk=sent.pk).update(status=NotificationStatus.SENT, sent_at=timezone.now())

    with django_capture_on_commit_callbacks(execute=True):
        response = run_action(admin_client, Notification, "retry_delivery", [failed, sent])

    failed.refresh_from_db()
    assert failed.status == NotificationStatus.SENT
    assert [message.to for message in mail.outbox] == [["retry@example.net"]]
    assert messages_of(response) == [
        ("success", "1 notification queued for delivery again."),
        ("warning", "1 notification was not retried: only failed notifications can be."),
    ]


def test_orders_cannot_be_added_in_the_admin(admin_client):
    assert admin_client.get(reverse("admin:orders_order_add")).status_code == 403


@pytest.mark.parametrize("model_name", ["order", "return", "orderevent", "notification"])
def test_no_delete_action_for_rows_the_services_own(admin_client, shop, model_name):
    order_in(OrderStatus.DELIVERED, shop=shop)

    response = admin_client.get(reverse(f"admin:orders_{model_name}_changelist"))

    action_form = response.context["action_form"]
    actions = [value for value, _label in action_form.fields["action"].choices] if action_form else []
    assert response.status_code == 200
    assert "delete_selected" not in actions


def test_posting_the_order_change_form_cannot_change_its_status(admin_client, shop):
    order = order_in(OrderStatus.PENDING, shop=shop)
    version = order.version

    response = admin_client.post(
        change_url(order),
        {"status": OrderStatus.DELIVERED, "payment_status": PaymentStatus.REFUNDED, "total": "0"},
    )

    assert response.status_code == 403
    order.refresh_from_db()
    assert (order.status, order.payment_status, order.version) == (
        OrderStatus.PENDING,
        PaymentStatus.PAID,
        version,
    )


def test_order_page_is_read_only_and_shows_lines_parcels_returns_and_the_timeline(admin_client, shop):
    order = return_everything(order_in(OrderStatus.DELIVERED, shop=shop))
    tracking_number = order.shipments.get().tracking_number

    response = admin_client.get(change_url(order))

    page = response.content.decode()
    assert response.status_code == 200
    assert 'name="status"' not in page
    assert 'name="_save"' not in page
    assert "T-shirt" in page
    assert tracking_number in page
    assert "Does not fit" in page  # the return's reason
    timeline = [event.message for event in response.context["inline_admin_formsets"][-1].formset.queryset]
    assert timeline == list(
        OrderEvent.objects.filter(order=order).order_by("created_at", "id").values_list("message", flat=True)
    )
    assert "Order accepted and being prepared" in page


def test_order_changelist_query_count_does_not_grow_with_the_number_of_orders(admin_client, shop, other_shop):
    def count_queries() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            response = admin_client.get(changelist_url(Order))
        assert response.status_code == 200
        return len(queries), len(response.context["cl"].result_list)

    for index in range(5):
        order_in(OrderStatus.SHIPPED, shop=shop if index % 2 else other_shop)
    few, listed_few = count_queries()
    for index in range(25):
        order_in(OrderStatus.PENDING, shop=shop if index % 2 else other_shop)
    many, listed_many = count_queries()

    assert (listed_few, listed_many) == (5, 30)
    assert many == few


def test_other_changelists_do_not_query_per_row(admin_client, every_kind_of_row, shop):
    def queries_per_list() -> dict[str, int]:
        counts = {}
        for model in REGISTERED:
            with CaptureQueriesContext(connection) as queries:
                admin_client.get(changelist_url(model))
            counts[model._meta.label] = len(queries)
        return counts

    before = queries_per_list()
    for index in range(2):
        return_everything(order_in(OrderStatus.DELIVERED, shop=shop, email=f"more{index}@example.net"))
        CouponFactory(shop=shop)
        MembershipFactory(shop=shop)
    after = queries_per_list()

    assert after == before


def test_a_user_is_added_with_email_and_password_and_can_sign_in(admin_client, client):
    response = admin_client.post(
        reverse("admin:shop_user_add"),
        {
            "email": "New.Seller@Example.com",
            "full_name": "New Seller",
            "usable_password": "true",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )

    assert response.status_code == 302
    user = User.objects.get(email="new.seller@example.com")
    assert user.full_name == "New Seller"
    assert client.login(email="new.seller@example.com", password=PASSWORD)


def test_user_list_is_ordered_by_email_and_searchable(admin_client, admin_user):
    MembershipFactory(user__email="zoe@example.com")
    MembershipFactory(user__email="bea@example.com")

    listing = admin_client.get(reverse("admin:shop_user_changelist"))
    found = admin_client.get(reverse("admin:shop_user_changelist"), {"q": "zoe"})

    emails = [user.email for user in listing.context["cl"].result_list]
    assert emails == sorted(emails)
    assert [user.email for user in found.context["cl"].result_list] == ["zoe@example.com"]


def test_a_customer_email_is_stored_lowercased_and_cannot_move_shop(admin_client, shop, other_shop):
    customer = CustomerFactory(shop=shop, email="old@example.net", name="Old Name")

    response = admin_client.post(
        change_url(customer),
        {"shop": other_shop.pk, "email": "New@Example.NET", "name": "New Name", "phone": ""},
    )

    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.email, customer.name, customer.shop) == ("new@example.net", "New Name", shop)


def test_coupon_times_used_is_kept_by_the_services(admin_client, shop):
    coupon = CouponFactory(shop=shop, code="SPRING")
    place(shop, coupon_code="SPRING")

    page = admin_client.get(change_url(coupon)).content.decode()
    response = admin_client.post(
        change_url(coupon),
        {
            "shop": shop.pk,
            "code": "SPRING",
            "kind": "percentage",
            "value": "10",
            "min_subtotal": "0",
            "min_quantity": "0",
            "is_active": "on",
            "times_used": "0",
        },
    )

    assert response.status_code == 302
    assert 'name="times_used"' not in page
    coupon.refresh_from_db()
    assert coupon.times_used == 1


def test_staff_without_order_permissions_cannot_run_actions(client, shop):
    staff = MembershipFactory(shop=shop, user__is_staff=True).user
    order = order_in(OrderStatus.PENDING, shop=shop)
    client.force_login(staff)

    response = run_action(client, Order, "process_selected", [order])

    assert response.status_code == 403
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING


def test_api_keys_are_revoked_not_added_in_the_admin(admin_client, shop):
    key, _secret = ApiKey.issue(shop=shop, name="Storefront")

    response = run_action(admin_client, ApiKey, "revoke_selected", [key])

    key.refresh_from_db()
    assert key.revoked_at is not None
    assert messages_of(response) == [("success", "1 API key revoked.")]
    assert admin_client.get(reverse("admin:shop_apikey_add")).status_code == 403


def test_a_shop_text_with_broken_template_syntax_is_refused(admin_client, shop):
    response = admin_client.post(
        reverse("admin:orders_notificationtemplate_add"),
        {
            "shop": shop.pk,
            "template": "order_processed",
            "subject": "",
            "body_text": "Hello {% if order.number %}",
            "is_active": "on",
        },
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["body_text"]
    assert not NotificationTemplate.objects.exists()
