"""Every dashboard page in the navigation, on a desktop and on a phone: no serious axe-core findings, nothing
wider than the phone's screen, and the keyboard reaches the content through the skip link first."""

from urllib.parse import urlsplit

import pytest
from django.urls import Resolver404, resolve, reverse

from dashboard import urls as dashboard_urls
from dashboard.navigation import NAV
from orders.services import Actor, request_return
from orders.states import OrderStatus
from shop.models import Role
from tests.browser.conftest import axe_violations, sign_in
from tests.factories import CouponFactory, MembershipFactory, ShopFactory, order_in, return_everything

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


ACCOUNT_PAGES = {
    "login",
    "logout",
    "password_reset",
    "password_reset_done",
    "password_reset_complete",
    "switch_shop",
}


def an_owner_with_orders():
    """An owner of a shop with orders in every state, an open return, a finished one and a coupon."""
    shop = ShopFactory(name="Demo Threads", slug="demo-threads")
    owner = MembershipFactory(shop=shop, role=Role.OWNER, user__email="owner@example.com").user
    for status in (OrderStatus.PENDING, OrderStatus.PROCESSED, OrderStatus.SHIPPED, OrderStatus.CANCELLED):
        order_in(status, shop=shop, email=f"{status}@example.net")
    order_in(OrderStatus.PENDING, shop=shop, email="unpaid@example.net", paid=False)
    returning = order_in(OrderStatus.DELIVERED, shop=shop, email="returning@example.net")
    request_return(returning, lines={returning.lines.first().pk: 1}, reason="Too small", by=Actor.buyer())
    return_everything(order_in(OrderStatus.DELIVERED, shop=shop, email="returned@example.net"))
    CouponFactory(shop=shop, code="WELCOME10")
    return owner


def assert_accessible(page, url: str, *, phone: bool) -> None:
    response = page.goto(url)
    assert response.status == 200, url
    page.wait_for_load_state("load")
    assert axe_violations(page) == [], url
    if phone:
        too_wide = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
        assert too_wide <= 1, f"{url} is {too_wide}px wider than the phone's screen"
    # The first Tab lands on the skip link, and following it puts the focus on the main content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link", url
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main", url


@pytest.mark.parametrize("name", [name for name, _label, _role in NAV])
def test_every_nav_page_is_accessible_on_desktop_and_phone(name, live_server, page, phone):
    owner = an_owner_with_orders()
    url = live_server.url + reverse(name)  # a page that does not resolve fails here, never skipped
    for viewport, is_phone in ((page, False), (phone, True)):
        sign_in(viewport, live_server, owner)
        assert_accessible(viewport, url, phone=is_phone)


def linked_pages(page, live_server, nav_names: set[str]) -> dict[str, str]:
    """One URL for each dashboard page (by route name) that the nav pages link to from their content."""
    found: dict[str, str] = {}
    for nav_name in sorted(nav_names):
        page.goto(live_server.url + reverse(nav_name))
        for href in page.locator("main a[href]").evaluate_all("links => links.map(a => a.href)"):
            parts = urlsplit(href)
            if not href.startswith(live_server.url) or not parts.path.startswith("/dashboard/"):
                continue
            try:
                match = resolve(parts.path)
            except Resolver404:
                raise AssertionError(f"{nav_name} links to {href}, which does not resolve") from None
            name = f"{match.namespace}:{match.url_name}"
            if name not in nav_names:
                found.setdefault(name, href)
    return found


def routes_without_arguments(live_server) -> dict[str, str]:
    """Every dashboard route that takes no argument (pages such as the shipping upload among them)."""
    return {
        f"dashboard:{p.name}": live_server.url + reverse(f"dashboard:{p.name}")
        for p in dashboard_urls.urlpatterns
        if p.name and not p.pattern.converters and p.name not in ACCOUNT_PAGES
    }


def test_the_other_dashboard_pages_are_accessible_too(live_server, page, phone):
    """Order, customer, coupon and settings pages (one of each kind, as the nav pages link to them) and every
    page without arguments that is not in the nav."""
    owner = an_owner_with_orders()
    sign_in(page, live_server, owner)
    sign_in(phone, live_server, owner)
    nav_names = {name for name, _label, _role in NAV}
    pages = linked_pages(page, live_server, nav_names)
    assert "dashboard:order" in pages  # the list links to its orders
    for name, url in routes_without_arguments(live_server).items():
        if name not in nav_names:
            pages.setdefault(name, url)
    for _name, url in sorted(pages.items()):
        answer = page.request.get(url)
        if answer.status == 405 or not answer.headers.get("content-type", "").startswith("text/html"):
            continue  # an action that takes a POST, or a CSV export: not a page
        for viewport, is_phone in ((page, False), (phone, True)):
            assert_accessible(viewport, url, phone=is_phone)


@pytest.mark.parametrize("name", ["dashboard:login", "dashboard:password_reset"])
def test_the_sign_in_and_password_reset_pages_are_accessible(name, live_server, page, phone):
    url = live_server.url + reverse(name)
    for viewport, is_phone in ((page, False), (phone, True)):
        assert_accessible(viewport, url, phone=is_phone)
