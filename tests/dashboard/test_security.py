"""The dashboard's security bar: CSRF on every route, a strict Content-Security-Policy and the other headers,
and a navigation where every entry leads somewhere."""

import re
import uuid

import pytest
from django.core.cache import cache
from django.http import HttpResponse
from django.template import engines
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, include, path, reverse

from dashboard import urls as dashboard_urls
from dashboard.access import SESSION_SHOP_KEY
from dashboard.navigation import NAV
from shop.models import Role
from tests.factories import PASSWORD, MembershipFactory, ShopFactory


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Many users are made here; the hashing algorithm is not what these tests are about."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


# --- Discovering the dashboard's routes --------------------------------------------------------------------

SAMPLE_VALUES = ("1", "x", "A-1", str(uuid.uuid4()), "x/y")


def flatten(patterns):
    """(route name, pattern) for every URL under ``patterns``, however they are nested."""
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from flatten(entry.url_patterns)
        elif isinstance(entry, URLPattern):
            yield f"dashboard:{entry.name}", entry


def sample_kwargs(pattern: URLPattern) -> dict:
    """A value for each argument that its converter accepts (the object need not exist: CSRF comes first)."""
    converters = getattr(pattern.pattern, "converters", {})
    kwargs = {}
    for name, converter in converters.items():
        kwargs[name] = next(v for v in SAMPLE_VALUES if converter.regex and re.fullmatch(converter.regex, v))
    return kwargs


DASHBOARD_ROUTES = sorted(
    (name, reverse(name, kwargs=sample_kwargs(pattern)))
    for name, pattern in flatten(dashboard_urls.urlpatterns)
    if pattern.name
)


def test_every_dashboard_route_has_a_name_so_the_checks_below_reach_it():
    assert [str(p.pattern) for _name, p in flatten(dashboard_urls.urlpatterns) if not p.name] == []


ACCOUNT_ROUTES = {
    "dashboard:login",
    "dashboard:logout",
    "dashboard:password_reset",
    "dashboard:password_reset_done",
    "dashboard:password_reset_confirm",
    "dashboard:password_reset_complete",
}
CALLBACKS = {f"dashboard:{p.name}": p.callback for _name, p in flatten(dashboard_urls.urlpatterns) if p.name}
SELLER_ROUTES = [(name, url) for name, url in DASHBOARD_ROUTES if name not in ACCOUNT_ROUTES]


def test_the_route_discovery_sees_the_accounts_routes():
    names = {name for name, _url in DASHBOARD_ROUTES}
    assert {
        "dashboard:login",
        "dashboard:logout",
        "dashboard:switch_shop",
        "dashboard:password_reset",
    } <= names


# --- CSRF -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "url"), DASHBOARD_ROUTES, ids=[url for _name, url in DASHBOARD_ROUTES])
def test_every_dashboard_route_refuses_a_post_without_a_csrf_token(name, url, owner):
    """Whatever a route does with a POST, one without the token never reaches it: signed in or not."""
    for signed_in in (False, True):
        client = Client(enforce_csrf_checks=True)
        if signed_in:
            client.force_login(owner)
        response = client.post(url, {"shop": "1", "username": owner.email, "password": PASSWORD})

        assert response.status_code == 403, (name, signed_in)
        assert b"CSRF verification failed" in response.content, (name, signed_in)


def test_no_dashboard_view_is_exempt_from_csrf():
    exempt = [
        name
        for name, pattern in flatten(dashboard_urls.urlpatterns)
        if getattr(pattern.callback, "csrf_exempt", False)
    ]
    assert exempt == []


def test_a_forged_sign_out_or_shop_switch_changes_nothing(owner):
    second = ShopFactory(name="Zeta Supplies", slug="zeta-supplies")
    MembershipFactory(user=owner, shop=second)
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)

    client.post(reverse("dashboard:switch_shop"), {"shop": second.pk})
    client.post(reverse("dashboard:logout"))

    assert SESSION_SHOP_KEY not in client.session
    assert client.session.get("_auth_user_id") == str(owner.pk)


def test_a_post_with_the_token_from_the_page_is_accepted(owner):
    client = Client(enforce_csrf_checks=True)
    client.get(reverse("dashboard:login"))
    token = client.cookies["csrftoken"].value

    response = client.post(
        reverse("dashboard:login"),
        {"username": owner.email, "password": PASSWORD, "csrfmiddlewaretoken": token},
    )

    assert response.status_code == 302


# --- Who may open what -------------------------------------------------------------------------------------


def test_every_dashboard_view_but_the_account_pages_is_a_seller_view():
    """``seller_view`` is what scopes a page to the current shop and checks the role (dashboard.access)."""
    unguarded = [name for name, _url in SELLER_ROUTES if not hasattr(CALLBACKS[name], "required_role")]
    assert unguarded == []


@pytest.mark.parametrize(("name", "url"), SELLER_ROUTES, ids=[url for _name, url in SELLER_ROUTES])
def test_an_anonymous_visitor_is_sent_to_sign_in(name, url, db):
    for method in ("get", "post"):
        response = getattr(Client(), method)(url)
        assert response.status_code in (302, 405), (name, method)
        if response.status_code == 302:
            assert response.url.startswith(reverse("dashboard:login") + "?next="), (name, method)


RANKED = [Role.STAFF, Role.MANAGER, Role.OWNER]
GUARDED = [
    (name, url, role)
    for name, url in SELLER_ROUTES
    for role in RANKED[: RANKED.index(getattr(CALLBACKS[name], "required_role", Role.STAFF))]
]


@pytest.mark.parametrize(
    ("name", "url", "role"), GUARDED, ids=[f"{url} as {role}" for _n, url, role in GUARDED]
)
def test_a_lower_role_is_refused_with_a_403(name, url, role, owner, manager, staff):
    client = Client()
    client.force_login({Role.STAFF: staff, Role.MANAGER: manager}[role])
    answers = {method: getattr(client, method)(url).status_code for method in ("get", "post")}

    assert set(answers.values()) <= {403, 405}, (name, answers)
    assert 403 in answers.values(), (name, answers)


# --- Content-Security-Policy and the other headers ----------------------------------------------------------


def policy(response) -> dict[str, list[str]]:
    directives = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def nav_urls() -> list[str]:
    urls = []
    for name, _label, _role in NAV:
        try:
            urls.append(reverse(name))
        except Exception:  # test_every_nav_entry_resolves reports these
            continue
    return urls


def assert_strict_headers(response, where: str) -> None:
    assert "Content-Security-Policy" in response, where
    csp = policy(response)
    scripts = csp["script-src"]
    assert "'self'" in scripts, where
    assert [s for s in scripts if s != "'self'" and not s.startswith("'nonce-")] == [], (where, scripts)
    assert csp["default-src"] == ["'self'"], where
    assert csp["object-src"] == ["'none'"], where
    assert csp["base-uri"] == ["'self'"], where
    assert csp["frame-ancestors"] == ["'none'"], where
    assert response["X-Content-Type-Options"] == "nosniff", where
    assert response["X-Frame-Options"] == "DENY", where
    assert response["Referrer-Policy"] == "same-origin", where
    # A nonce on the page (if any) is the one the header allows.
    html = response.content.decode()
    for nonce in set(re.findall(r'nonce="([^"]*)"', html)):
        assert f"'nonce-{nonce}'" in scripts, where


def test_the_sign_in_and_password_pages_send_a_strict_policy(client, db):
    for url in (reverse("dashboard:login"), reverse("dashboard:password_reset")):
        response = client.get(url)
        assert response.status_code == 200
        assert_strict_headers(response, url)


def test_every_dashboard_page_sends_a_strict_policy(owner_client):
    for url in nav_urls():
        response = owner_client.get(url)
        assert response.status_code == 200, url
        assert_strict_headers(response, url)


def test_the_api_docs_and_the_admin_send_the_policy_too(client, db):
    for url in ("/api/docs/", "/admin/login/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_strict_headers(response, url)


def nonce_probe(request):
    template = engines["django"].from_string('<script nonce="{{ csp_nonce }}" src="/static/x.js"></script>')
    return HttpResponse(template.render({}, request))


urlpatterns = [path("probe/", nonce_probe), path("", include("shop.urls"))]


@override_settings(ROOT_URLCONF=__name__)
def test_a_page_that_uses_the_nonce_gets_a_fresh_one_in_the_header(client):
    nonces = []
    for _ in range(2):
        response = client.get("/probe/")
        nonce = re.search(r'nonce="([^"]+)"', response.content.decode()).group(1)
        assert len(nonce) >= 16
        assert policy(response)["script-src"] == ["'self'", f"'nonce-{nonce}'"]
        nonces.append(nonce)
    assert nonces[0] != nonces[1]


# --- Navigation ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "role"), [(name, role) for name, _label, role in NAV], ids=[n for n, *_ in NAV]
)
def test_every_nav_entry_resolves_and_opens_for_its_role(name, role, shop, owner, manager, staff):
    url = reverse(name)  # NoReverseMatch: the area is not wired yet
    member = {Role.OWNER: owner, Role.MANAGER: manager, Role.STAFF: staff}[role]
    client = Client()
    client.force_login(member)

    assert client.get(url).status_code == 200
