"""Settings (owners only): profile, shipping, policies, notification texts with preview, team, API keys."""

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from orders.models import NotificationTemplate
from shop.models import ApiKey, Membership, Role, Shop, hash_api_key
from tests.factories import MembershipFactory, place

pytestmark = pytest.mark.django_db

PAGES = [
    ("dashboard:settings", []),
    ("dashboard:settings_shipping", []),
    ("dashboard:settings_policies", []),
    ("dashboard:settings_texts", []),
    ("dashboard:settings_text", ["order_shipped_placeholder"]),
    ("dashboard:settings_team", []),
    ("dashboard:settings_api_keys", []),
]


@pytest.mark.parametrize("name,args", [p for p in PAGES if p[0] != "dashboard:settings_text"])
def test_owner_sees_every_settings_page(owner_client, name, args):
    assert owner_client.get(reverse(name, args=args)).status_code == 200


@pytest.mark.parametrize("name,args", PAGES)
@pytest.mark.parametrize("who", ["manager_client", "staff_client"])
def test_managers_and_staff_are_forbidden(request, who, name, args):
    client = request.getfixturevalue(who)
    assert client.get(reverse(name, args=args)).status_code == 403
    assert client.post(reverse(name, args=args), {}).status_code == 403


@pytest.mark.parametrize(
    "name",
    [
        "dashboard:settings_member_role",
        "dashboard:settings_member_remove",
        "dashboard:settings_api_key_revoke",
    ],
)
def test_manager_cannot_post_owner_actions(manager_client, manager, shop, name):
    membership = Membership.objects.get(user=manager)
    key, _secret = ApiKey.issue(shop=shop, name="Storefront")
    pk = key.pk if "api_key" in name else membership.pk
    assert manager_client.post(reverse(name, args=[pk]), {f"m{pk}-role": Role.OWNER}).status_code == 403
    membership.refresh_from_db()
    assert membership.role == Role.MANAGER


# --- Shop profile, shipping, policies ----------------------------------------------------------------


def test_save_the_profile(owner_client, shop):
    response = owner_client.post(
        reverse("dashboard:settings"),
        {
            "name": "New Name",
            "contact_email": "hi@new.example",
            "contact_phone": "+34 600 000 000",
            "timezone": "Europe/Madrid",
            "brand_colour": "#112233",
            "currency": "EUR",  # read-only: ignored
        },
    )
    assert response.status_code == 302
    shop.refresh_from_db()
    assert (shop.name, shop.timezone, shop.brand_colour, shop.currency) == (
        "New Name",
        "Europe/Madrid",
        "#112233",
        "USD",
    )


def test_profile_errors_are_beside_the_fields(owner_client, shop):
    response = owner_client.post(
        reverse("dashboard:settings"),
        {"name": "Kept", "contact_email": "not-an-email", "timezone": "Mars/Olympus", "brand_colour": "blue"},
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) == {"contact_email", "timezone", "brand_colour"}
    page = response.content.decode()
    assert 'id="id_timezone_error"' in page and 'value="Kept"' in page
    shop.refresh_from_db()
    assert shop.name != "Kept"


def test_save_shipping_and_returns(owner_client, shop):
    data = {
        "ship_from_name": "Warehouse",
        "ship_from_line1": "1 Dock Road",
        "ship_from_line2": "",
        "ship_from_city": "Bristol",
        "ship_from_region": "",
        "ship_from_postal_code": "BS1 1AA",
        "ship_from_country": "gb",
        "handling_days": "3",
        "return_window_days": "14",
    }
    assert owner_client.post(reverse("dashboard:settings_shipping"), data).status_code == 302
    shop.refresh_from_db()
    assert (shop.ship_from_country, shop.handling_days, shop.return_window_days) == ("GB", 3, 14)
    data["ship_from_country"] = "Britain"
    response = owner_client.post(reverse("dashboard:settings_shipping"), data)
    assert "ship_from_country" in response.context["form"].errors


def test_save_policies_and_notifications(owner_client, shop):
    data = {
        "apply_buyer_address_changes": "on",
        "require_checklist": "on",
        "modification_window_hours": "12",
        "send_delay_notices": "on",
        "delay_coupon_percent": "15",
        "feedback_request_days": "5",
    }
    assert owner_client.post(reverse("dashboard:settings_policies"), data).status_code == 302
    shop.refresh_from_db()
    assert shop.apply_buyer_address_changes and shop.require_checklist and not shop.allow_modifications
    assert (shop.modification_window_hours, shop.delay_coupon_percent, shop.feedback_request_days) == (
        12,
        15,
        5,
    )
    response = owner_client.post(
        reverse("dashboard:settings_policies"), {**data, "delay_coupon_percent": "150"}
    )
    assert "delay_coupon_percent" in response.context["form"].errors


# --- Notification texts ------------------------------------------------------------------------------


def test_texts_list_every_message_kind(owner_client, shop):
    from orders.notifications.catalogue import CATALOGUE

    NotificationTemplate.objects.create(shop=shop, template="order_confirmed", body_text="Hi")
    response = owner_client.get(reverse("dashboard:settings_texts"))
    kinds = response.context["kinds"]
    assert [k["name"] for k in kinds] == list(CATALOGUE)
    assert next(k for k in kinds if k["name"] == "order_confirmed")["override"] is not None


def test_edit_preview_and_reset_a_text(owner_client, shop):
    order = place(shop)
    url = reverse("dashboard:settings_text", args=["shipment_shipped"])
    response = owner_client.get(url)
    assert response.status_code == 200
    assert order.number in response.context["preview"]["subject"]  # built-in text on the latest order

    draft = {
        "subject": "Parcel {{ order.number }} left",
        "body_text": "Hello from {{ shop.name }}!",
        "is_active": "on",
    }
    response = owner_client.post(url, {**draft, "action": "preview"})
    assert response.status_code == 200
    assert f"Parcel {order.number} left" in response.context["preview"]["subject"]
    assert f"Hello from {shop.name}!" in response.context["preview"]["text"]
    assert not NotificationTemplate.objects.filter(shop=shop).exists()  # a preview saves nothing

    assert owner_client.post(url, {**draft, "action": "save"}).status_code == 302
    saved = NotificationTemplate.objects.get(shop=shop, template="shipment_shipped")
    assert saved.body_text == "Hello from {{ shop.name }}!"

    assert owner_client.post(url, {"action": "reset"}).status_code == 302
    assert not NotificationTemplate.objects.filter(shop=shop).exists()


def test_a_broken_template_is_refused_beside_the_field(owner_client, shop):
    url = reverse("dashboard:settings_text", args=["order_confirmed"])
    response = owner_client.post(url, {"subject": "", "body_text": "{% if %}", "action": "save"})
    assert response.status_code == 200
    assert "body_text" in response.context["form"].errors
    assert not NotificationTemplate.objects.exists()


def test_an_unknown_message_is_404(owner_client):
    assert owner_client.get(reverse("dashboard:settings_text", args=["nope"])).status_code == 404


def test_preview_without_orders_uses_a_sample_and_keeps_nothing(owner_client, shop):
    from orders.models import Order

    response = owner_client.get(reverse("dashboard:settings_text", args=["order_confirmed"]))
    assert response.context["preview"]["subject"]
    assert not Order.objects.filter(shop=shop).exists()


# --- Team --------------------------------------------------------------------------------------------


def test_add_an_existing_user(owner_client, shop, other_owner):
    response = owner_client.post(
        reverse("dashboard:settings_team"), {"email": "Owner@Other.example", "role": "staff"}
    )
    assert response.status_code == 302
    assert Membership.objects.get(shop=shop, user=other_owner).role == Role.STAFF
    assert mail.outbox == []


def test_add_a_new_user_sends_a_link_to_choose_a_password(
    owner_client, shop, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            reverse("dashboard:settings_team"), {"email": "new.person@example.com", "role": "manager"}
        )
    assert response.status_code == 302
    user = get_user_model().objects.get(email="new.person@example.com")
    assert not user.has_usable_password()
    assert Membership.objects.get(shop=shop, user=user).role == Role.MANAGER
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new.person@example.com"]
    assert "/dashboard/password-reset/" in message.body


def test_adding_a_member_twice_is_refused(owner_client, shop, manager):
    response = owner_client.post(
        reverse("dashboard:settings_team"), {"email": manager.email, "role": "staff"}
    )
    assert response.status_code == 400
    assert "already in the team" in response.context["add_form"].errors["email"][0]


def test_change_a_role(owner_client, shop, staff):
    membership = Membership.objects.get(shop=shop, user=staff)
    url = reverse("dashboard:settings_member_role", args=[membership.pk])
    assert owner_client.post(url, {f"m{membership.pk}-role": "manager"}).status_code == 302
    membership.refresh_from_db()
    assert membership.role == Role.MANAGER


def test_the_last_owner_cannot_be_demoted_or_removed(owner_client, owner, shop):
    membership = Membership.objects.get(shop=shop, user=owner)
    response = owner_client.post(
        reverse("dashboard:settings_member_role", args=[membership.pk]), {f"m{membership.pk}-role": "manager"}
    )
    assert response.status_code == 400
    assert "needs an owner" in response.content.decode()
    response = owner_client.post(
        reverse("dashboard:settings_member_remove", args=[membership.pk]), follow=True
    )
    assert "needs an owner" in response.content.decode()
    membership.refresh_from_db()
    assert membership.role == Role.OWNER


def test_an_owner_can_step_down_when_another_owner_remains(owner_client, owner, shop):
    MembershipFactory(shop=shop, role=Role.OWNER)
    membership = Membership.objects.get(shop=shop, user=owner)
    response = owner_client.post(
        reverse("dashboard:settings_member_role", args=[membership.pk]), {f"m{membership.pk}-role": "staff"}
    )
    assert response.status_code == 302 and response["Location"] == reverse("dashboard:home")
    membership.refresh_from_db()
    assert membership.role == Role.STAFF


def test_remove_a_member(owner_client, shop, staff):
    membership = Membership.objects.get(shop=shop, user=staff)
    assert (
        owner_client.post(reverse("dashboard:settings_member_remove", args=[membership.pk])).status_code
        == 302
    )
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_another_shops_member_is_404(owner_client, other_owner):
    theirs = Membership.objects.get(user=other_owner)
    assert owner_client.post(reverse("dashboard:settings_member_remove", args=[theirs.pk])).status_code == 404
    assert (
        owner_client.post(reverse("dashboard:settings_member_role", args=[theirs.pk]), {}).status_code == 404
    )
    assert Membership.objects.filter(pk=theirs.pk).exists()


# --- API keys ----------------------------------------------------------------------------------------


def test_create_a_key_shows_it_once(owner_client, shop, owner):
    url = reverse("dashboard:settings_api_keys")
    response = owner_client.post(url, {"name": "Storefront"})
    assert response.status_code == 200
    secret = response.context["new_key"]["secret"]
    key = ApiKey.objects.get(shop=shop)
    assert key.key_hash == hash_api_key(secret) and key.created_by == owner
    assert secret in response.content.decode()
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]
    assert secret not in owner_client.get(url).content.decode()


def test_a_key_needs_a_name(owner_client, shop):
    response = owner_client.post(reverse("dashboard:settings_api_keys"), {"name": ""})
    assert response.status_code == 400
    assert "name" in response.context["form"].errors
    assert not ApiKey.objects.exists()


def test_revoke_a_key(owner_client, shop, other_shop):
    key, _secret = ApiKey.issue(shop=shop, name="Old")
    theirs, _ = ApiKey.issue(shop=other_shop, name="Theirs")
    assert owner_client.post(reverse("dashboard:settings_api_key_revoke", args=[key.pk])).status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert (
        owner_client.post(reverse("dashboard:settings_api_key_revoke", args=[theirs.pk])).status_code == 404
    )
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_shop_untouched_by_refused_requests(manager_client, shop):
    manager_client.post(reverse("dashboard:settings"), {"name": "Hijacked"})
    assert Shop.objects.get(pk=shop.pk).name != "Hijacked"
