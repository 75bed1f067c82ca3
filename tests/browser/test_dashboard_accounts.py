"""A seller signs in through the form, switches shop from the header and signs out; forgets a password and
chooses a new one from the emailed link; and is locked out after too many guesses."""

import re

import pytest
from django.core import mail
from django.core.cache import cache
from django.urls import reverse
from playwright.sync_api import expect

from shop.models import Role
from tests.browser.conftest import axe_violations
from tests.factories import PASSWORD, MembershipFactory, ShopFactory, order_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def seller():
    """Owner of one shop and staff in another, with an order in each."""
    first = ShopFactory(name="Demo Threads", slug="demo-threads")
    second = ShopFactory(name="Zeta Supplies", slug="zeta-supplies")
    user = MembershipFactory(shop=first, role=Role.OWNER, user__email="ada@example.com").user
    MembershipFactory(shop=second, role=Role.STAFF, user=user)
    order_in("pending", shop=first)
    order_in("pending", shop=second)
    return user


def fill_sign_in(page, email: str, password: str) -> None:
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_sign_in_switch_shop_and_sign_out(live_server, page, seller, screenshots):
    home = live_server.url + reverse("dashboard:home")
    page.goto(home)
    expect(page).to_have_url(re.compile(r"/dashboard/login/\?next=/dashboard/$"))
    expect(page.get_by_role("heading", name="Sign in to your shop")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
    page.get_by_label("Email address").fill(seller.email)
    page.get_by_label("Email address").blur()
    page.screenshot(path=str(screenshots / "dashboard-sign-in.png"))

    fill_sign_in(page, seller.email, "not-my-password")
    expect(page.get_by_role("alert")).to_have_text(
        "That email address and password do not match an account. Check them and try again."
    )
    expect(page.get_by_label("Email address")).to_have_value(seller.email)
    expect(page.get_by_label("Password")).to_have_value("")
    assert axe_violations(page) == []

    fill_sign_in(page, seller.email, PASSWORD)
    expect(page).to_have_url(home)
    page.wait_for_load_state("load")  # dashboard.js (deferred) submits the switcher on change once it runs
    switcher = page.get_by_label("Shop", exact=True)
    expect(switcher.locator("option:checked")).to_have_text("Demo Threads")

    switcher.select_option(label="Zeta Supplies")  # submits on change (dashboard.js)
    expect(page.get_by_role("status")).to_contain_text("You are now working in Zeta Supplies.")
    expect(page).to_have_url(home)
    expect(page.get_by_label("Shop", exact=True).locator("option:checked")).to_have_text("Zeta Supplies")
    # Staff in this shop: no settings in the navigation.
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Orders")).to_be_visible()
    expect(nav.get_by_role("link", name="Settings")).to_have_count(0)

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(live_server.url + reverse("dashboard:login"))
    expect(page.get_by_role("status")).to_contain_text("You have signed out.")
    page.goto(home)
    expect(page).to_have_url(re.compile(r"/dashboard/login/"))


def test_switching_shop_works_without_javascript(live_server, browser, seller):
    context = browser.new_context(java_script_enabled=False, locale="en-US")
    page = context.new_page()
    try:
        page.goto(live_server.url + reverse("dashboard:login"))
        fill_sign_in(page, seller.email, PASSWORD)
        page.get_by_label("Shop", exact=True).select_option(label="Zeta Supplies")
        page.get_by_role("button", name="Switch").click()
        expect(page.get_by_role("status")).to_contain_text("You are now working in Zeta Supplies.")
    finally:
        context.close()


def test_a_forgotten_password_is_reset_through_the_emailed_link(live_server, page, seller):
    page.goto(live_server.url + reverse("dashboard:login"))
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email address").fill(seller.email)
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()

    (message,) = [m for m in mail.outbox if m.to == [seller.email]]  # the others: order emails to buyers
    link = re.search(r"https?://\S+/dashboard/password-reset/\S+/", message.body).group(0)
    page.goto(link)
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    assert axe_violations(page) == []
    page.get_by_label("New password", exact=True).fill("a-brand-new-secret-42")
    page.get_by_label("New password again").fill("a-brand-new-secret-42")
    page.get_by_role("button", name="Save the new password").click()
    expect(page.get_by_role("heading", name="Your password is changed")).to_be_visible()

    page.get_by_role("link", name="Sign in").click()
    fill_sign_in(page, seller.email, "a-brand-new-secret-42")
    expect(page).to_have_url(live_server.url + reverse("dashboard:home"))


def test_five_wrong_passwords_lock_the_sign_in_for_fifteen_minutes(live_server, page, seller):
    page.goto(live_server.url + reverse("dashboard:login"))
    for n in range(5):
        fill_sign_in(page, seller.email, f"guess-{n}")
    expect(page.get_by_role("alert")).to_have_text("Too many failed sign-ins. Try again in 15 minutes.")

    fill_sign_in(page, seller.email, PASSWORD)
    expect(page.get_by_role("alert")).to_have_text("Too many failed sign-ins. Try again in 15 minutes.")
    expect(page).to_have_url(re.compile(r"/dashboard/login/$"))


def csp_violations_on(page, url: str) -> list[str]:
    """Open ``url`` and collect what the browser refused under the Content-Security-Policy."""
    console = []
    page.on(
        "console", lambda msg: console.append(msg.text) if "Content Security Policy" in msg.text else None
    )
    page.add_init_script(
        "window.__csp = []; document.addEventListener('securitypolicyviolation',"
        " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    page.goto(url)
    page.wait_for_load_state("networkidle")
    return console + page.evaluate("window.__csp")


def test_the_api_docs_and_the_admin_work_under_the_content_security_policy(live_server, page, db):
    assert csp_violations_on(page, f"{live_server.url}/api/docs/") == []
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Shipshape API")
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible()

    assert csp_violations_on(page, f"{live_server.url}/admin/login/") == []
    expect(page.get_by_role("button", name="Log in")).to_be_visible()

    assert csp_violations_on(page, live_server.url + reverse("dashboard:login")) == []
