"""Signing in and out, the lockout against guessing, password reset by email, and switching shops."""

import re
import time

import pytest
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from dashboard import signin_throttle
from dashboard.access import SESSION_SHOP_KEY
from shop.models import Role
from tests.factories import PASSWORD, MembershipFactory, ShopFactory

LOGIN = "/dashboard/login/"
LOCKED_MESSAGE = "Too many failed sign-ins. Try again in 15 minutes."


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Many users are made here; the hashing algorithm is not what these tests are about."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def sign_in(client: Client, email: str, password: str, *, address: str = "203.0.113.7", **extra):
    return client.post(LOGIN, {"username": email, "password": password}, REMOTE_ADDR=address, **extra)


def signed_in_as(client: Client):
    return client.session.get(SESSION_KEY)


def without_tokens(html: bytes) -> str:
    """The page with its per-response secrets (CSRF token) blanked, to compare two answers."""
    return re.sub(r'(csrfmiddlewaretoken" value=|X-CSRFToken": )"[^"]+"', r"\1", html.decode())


# --- The sign-in page ------------------------------------------------------------------------------------


def test_the_sign_in_page_has_labelled_fields_and_no_navigation(client):
    response = client.get(LOGIN)

    assert response.status_code == 200
    html = response.content.decode()
    assert '<label for="id_username">Email address</label>' in html
    assert '<label for="id_password">Password</label>' in html
    assert 'autocomplete="current-password"' in html
    assert 'class="mainnav"' not in html
    assert reverse("dashboard:password_reset") in html


def test_the_right_password_signs_in_and_lands_on_the_dashboard_home(client, owner):
    response = sign_in(client, owner.email, PASSWORD)

    assert response.status_code == 302
    assert response.url == reverse("dashboard:home")
    assert signed_in_as(client) == str(owner.pk)


def test_the_email_is_matched_whatever_its_case(client, owner):
    response = sign_in(client, owner.email.upper(), PASSWORD)

    assert response.status_code == 302
    assert signed_in_as(client) == str(owner.pk)


def test_a_safe_next_page_is_honoured_and_another_site_is_not(client, owner):
    response = client.post(f"{LOGIN}?next=/admin/", {"username": owner.email, "password": PASSWORD})
    assert response.url == "/admin/"

    other = Client()
    response = other.post(
        f"{LOGIN}?next=https://evil.example/", {"username": owner.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert "evil.example" not in response.url


def test_a_wrong_password_shows_an_error_and_keeps_the_email(client, owner):
    response = sign_in(client, owner.email, "not-the-password")

    assert response.status_code == 200
    html = response.content.decode()
    assert 'role="alert"' in html
    assert "That email address and password do not match an account." in html
    assert f'value="{owner.email}"' in html
    assert "not-the-password" not in html
    assert signed_in_as(client) is None


def test_a_signed_in_user_opening_the_sign_in_page_goes_to_the_dashboard(owner_client):
    response = owner_client.get(LOGIN)

    assert response.status_code == 302
    assert response.url == reverse("dashboard:home")


# --- Lockout ----------------------------------------------------------------------------------------------


def test_five_failures_lock_the_account_out_even_with_the_right_password(client, owner):
    answers = [sign_in(client, owner.email, f"guess-{n}").status_code for n in range(5)]
    assert answers == [200, 200, 200, 200, 429]

    response = sign_in(client, owner.email, PASSWORD)

    assert response.status_code == 429
    assert LOCKED_MESSAGE in response.content.decode()
    assert response["Retry-After"] == "900"
    assert signed_in_as(client) is None


def test_the_account_stays_locked_from_another_address_and_in_another_case(client, owner):
    for n in range(5):
        sign_in(client, owner.email, f"guess-{n}", address="198.51.100.1")

    response = sign_in(Client(), owner.email.upper(), PASSWORD, address="198.51.100.2")

    assert response.status_code == 429


def test_five_failures_from_one_address_lock_that_address_out_for_every_account(client, owner):
    for n in range(5):
        sign_in(client, f"someone{n}@example.com", "guess", address="198.51.100.9")

    assert sign_in(Client(), owner.email, PASSWORD, address="198.51.100.9").status_code == 429
    assert sign_in(Client(), owner.email, PASSWORD, address="198.51.100.10").status_code == 302


def test_a_forged_forwarded_for_header_does_not_escape_the_address_lockout(client, owner):
    for n in range(5):
        sign_in(client, f"someone{n}@example.com", "guess", HTTP_X_FORWARDED_FOR=f"10.9.8.{n}")

    response = sign_in(Client(), owner.email, PASSWORD, HTTP_X_FORWARDED_FOR="10.0.0.200")

    assert response.status_code == 429


def test_behind_a_trusted_proxy_the_right_most_untrusted_hop_is_the_client(settings, client, owner):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.1"
    for n in range(5):
        # The client forges the left part; our proxy appends the address it really saw.
        sign_in(
            client,
            f"someone{n}@example.com",
            "guess",
            address=proxy,
            HTTP_X_FORWARDED_FOR=f"1.1.1.{n}, 198.51.100.77",
        )

    locked = sign_in(Client(), owner.email, PASSWORD, address=proxy, HTTP_X_FORWARDED_FOR="198.51.100.77")
    other_client = sign_in(
        Client(), owner.email, PASSWORD, address=proxy, HTTP_X_FORWARDED_FOR="198.51.100.78"
    )

    assert locked.status_code == 429
    assert other_client.status_code == 302


@pytest.mark.parametrize(
    ("trusted", "forwarded", "expected"),
    [
        (0, "", "192.0.2.1"),
        (0, "203.0.113.5", "192.0.2.1"),
        (1, "203.0.113.5", "203.0.113.5"),
        (1, "6.6.6.6, 203.0.113.5", "203.0.113.5"),
        (2, "6.6.6.6, 203.0.113.5, 10.0.0.2", "203.0.113.5"),
        (2, "203.0.113.5", "203.0.113.5"),  # fewer hops than proxies: the furthest one known
        (1, "", "192.0.2.1"),
    ],
)
def test_client_address(rf, settings, trusted, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = trusted
    request = rf.get("/", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR=forwarded)

    assert signin_throttle.client_address(request) == expected


def test_the_locked_out_answer_is_the_same_whether_or_not_the_account_exists(owner):
    answers = []
    for i, email in enumerate((owner.email, "nobody@example.com")):
        client = Client()
        for n in range(5):
            sign_in(client, email, f"guess-{n}", address=f"198.51.100.{20 + i}")
        answers.append(sign_in(client, email, PASSWORD, address=f"198.51.100.{40 + i}"))

    known, unknown = answers
    assert known.status_code == unknown.status_code == 429
    assert known["Retry-After"] == unknown["Retry-After"]
    assert without_tokens(known.content).replace(owner.email, "EMAIL") == without_tokens(
        unknown.content
    ).replace("nobody@example.com", "EMAIL")


def test_a_successful_sign_in_clears_the_account_counter(owner):
    for n in range(4):
        sign_in(Client(), owner.email, f"guess-{n}", address="198.51.100.1")
    assert sign_in(Client(), owner.email, PASSWORD, address="198.51.100.2").status_code == 302

    answers = [
        sign_in(Client(), owner.email, f"again-{n}", address="198.51.100.3").status_code for n in range(4)
    ]
    assert answers == [200, 200, 200, 200]
    assert sign_in(Client(), owner.email, "again-5", address="198.51.100.3").status_code == 429


def test_guesses_sent_in_parallel_cannot_all_reach_the_password_check(rf):
    """Attempts are counted before the password is checked: the sixth one in flight is already refused."""
    request = rf.post(LOGIN, REMOTE_ADDR="198.51.100.5")

    started = [signin_throttle.begin_attempt(request, "ada@example.com") for _ in range(7)]

    assert started[:5] == [None] * 5
    assert all(lockout and lockout.seconds_left == 900 for lockout in started[5:])


def test_many_people_signing_in_from_one_office_address_are_not_locked_out(owner):
    colleagues = [
        MembershipFactory(shop=owner.memberships.get().shop, role=Role.STAFF).user for _ in range(6)
    ]

    answers = [
        sign_in(Client(), user.email, PASSWORD, address="198.51.100.50").status_code for user in colleagues
    ]
    answers.append(sign_in(Client(), "typo@example.com", "guess", address="198.51.100.50").status_code)

    assert answers == [302] * 6 + [200]


def test_the_lockout_ends_after_fifteen_minutes_and_says_how_long_is_left(client, owner, monkeypatch):
    clock = [time.time()]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    for n in range(5):
        sign_in(client, owner.email, f"guess-{n}")

    clock[0] += 10 * 60 + 30
    response = sign_in(client, owner.email, PASSWORD)
    assert response.status_code == 429
    assert "Too many failed sign-ins. Try again in 5 minutes." in response.content.decode()

    clock[0] += 5 * 60
    assert sign_in(client, owner.email, PASSWORD).status_code == 302


def test_the_limits_come_from_settings(settings, client, owner):
    settings.SIGNIN_MAX_FAILURES = 2
    settings.SIGNIN_LOCKOUT_SECONDS = 60

    answers = [sign_in(client, owner.email, "guess").status_code for _ in range(2)]

    assert answers == [200, 429]
    assert "Try again in 1 minute." in sign_in(client, owner.email, PASSWORD).content.decode()


def test_the_cache_holds_no_email_address_in_clear(client, owner):
    sign_in(client, owner.email, "guess")

    keys = list(cache._cache.keys())  # LocMemCache in tests
    assert keys
    assert not any(owner.email in key for key in keys)


# --- Signing out ------------------------------------------------------------------------------------------


def test_signing_out_takes_a_post(owner_client):
    assert owner_client.get(reverse("dashboard:logout")).status_code == 405
    assert signed_in_as(owner_client) is not None

    response = owner_client.post(reverse("dashboard:logout"), follow=True)

    assert response.redirect_chain[0] == (reverse("dashboard:login"), 302)
    assert "You have signed out." in response.content.decode()
    assert signed_in_as(owner_client) is None


# --- Password reset ---------------------------------------------------------------------------------------


def reset_link(message) -> str:
    return re.search(r"https?://[^/\s]+(/dashboard/password-reset/[^\s]+/)", message.body).group(1)


def test_a_password_reset_mails_a_link_that_sets_a_new_password(client, owner):
    page = client.get(reverse("dashboard:password_reset"))
    assert page.status_code == 200
    assert '<label for="id_email">Email address</label>' in page.content.decode()

    response = client.post(reverse("dashboard:password_reset"), {"email": owner.email.upper()})

    assert response.status_code == 302
    assert response.url == reverse("dashboard:password_reset_done")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [owner.email]
    assert message.subject == "Choose a new Shipshape password"

    form_page = client.get(reset_link(message), follow=True)
    assert form_page.status_code == 200
    assert '<label for="id_new_password1">New password</label>' in form_page.content.decode()
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a-brand-new-secret-42", "new_password2": "a-brand-new-secret-42"},
    )
    assert done.status_code == 302
    assert done.url == reverse("dashboard:password_reset_complete")
    assert client.get(done.url).status_code == 200

    assert sign_in(Client(), owner.email, "a-brand-new-secret-42").status_code == 302
    assert sign_in(Client(), owner.email, PASSWORD).status_code == 200


def test_a_new_password_is_checked_and_errors_show_beside_the_field(client, owner):
    client.post(reverse("dashboard:password_reset"), {"email": owner.email})
    form_page = client.get(reset_link(mail.outbox[0]), follow=True)

    response = client.post(form_page.redirect_chain[-1][0], {"new_password1": "123", "new_password2": "1234"})

    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="id_new_password2_error"' in html
    assert 'aria-invalid="true"' in html


def test_an_unknown_email_gets_the_same_answer_and_no_mail(client, db):
    response = client.post(reverse("dashboard:password_reset"), {"email": "nobody@example.com"})

    assert response.status_code == 302
    assert response.url == reverse("dashboard:password_reset_done")
    assert mail.outbox == []


def test_a_used_or_forged_reset_link_is_refused(client, owner):
    response = client.get(reverse("dashboard:password_reset_confirm", args=["MQ", "forged-token"]))

    assert response.status_code == 200
    assert "This link has already been used or has expired." in response.content.decode()


def test_choosing_a_new_password_ends_the_lockout(client, owner):
    for n in range(5):
        sign_in(Client(), owner.email, f"guess-{n}", address=f"198.51.100.{n}")
    client.post(reverse("dashboard:password_reset"), {"email": owner.email})
    form_page = client.get(reset_link(mail.outbox[0]), follow=True)
    client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a-brand-new-secret-42", "new_password2": "a-brand-new-secret-42"},
    )

    assert sign_in(Client(), owner.email, "a-brand-new-secret-42", address="198.51.100.99").status_code == 302


def test_the_pages_follow_the_viewers_language(client):
    page = client.get(reverse("dashboard:password_reset"), HTTP_ACCEPT_LANGUAGE="de")

    assert page.status_code == 200
    assert '<html lang="de">' in page.content.decode()


# --- Switching shop ---------------------------------------------------------------------------------------


@pytest.fixture
def two_shop_owner(owner):
    second = ShopFactory(name="Zeta Supplies", slug="zeta-supplies")
    MembershipFactory(user=owner, shop=second, role=Role.STAFF)
    return owner, second


def test_switching_to_another_of_ones_shops(two_shop_owner):
    owner, second = two_shop_owner
    client = Client()
    client.force_login(owner)

    response = client.post(reverse("dashboard:switch_shop"), {"shop": second.pk})

    assert response.status_code == 302
    assert response.url == reverse("dashboard:home")
    assert client.session[SESSION_SHOP_KEY] == second.pk


def test_a_shop_one_is_not_a_member_of_is_a_404_and_nothing_changes(two_shop_owner, other_shop):
    owner, second = two_shop_owner
    client = Client()
    client.force_login(owner)
    client.post(reverse("dashboard:switch_shop"), {"shop": second.pk})

    for value in (other_shop.pk, "not-a-number", ""):
        response = client.post(reverse("dashboard:switch_shop"), {"shop": value})
        assert response.status_code == 404
        assert client.session[SESSION_SHOP_KEY] == second.pk


def test_switching_shop_takes_a_signed_in_member_and_a_post(client, two_shop_owner, db):
    owner, second = two_shop_owner
    url = reverse("dashboard:switch_shop")

    anonymous = client.post(url, {"shop": second.pk})
    assert anonymous.status_code == 302
    assert anonymous.url.startswith(reverse("dashboard:login"))

    client.force_login(owner)
    assert client.get(url).status_code == 405
