"""Who may open a dashboard page, and in which shop.

Every dashboard view is wrapped in ``seller_view(role)``: it requires a signed-in member of a shop, picks the
current shop (the one chosen in the header, kept in the session; else the user's first), and refuses a role
below the one the page needs with a 403. Views then read ``request.shop`` and never take a shop from the URL,
so another shop's data is out of reach by construction (objects are looked up with ``shop=request.shop``;
a miss is a 404).
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from shop.models import Membership, Role, Shop
from shop.tenancy import ROLE_RANK

SESSION_SHOP_KEY = "dashboard_shop_id"


def memberships_of(user) -> list[tuple[Shop, str]]:
    """(shop, role) pairs the user can work in; a superuser is an owner everywhere."""
    if user.is_superuser:
        return [(shop, Role.OWNER) for shop in Shop.objects.order_by("name")]
    return [
        (m.shop, m.role)
        for m in Membership.objects.filter(user=user).select_related("shop").order_by("shop__name")
    ]


def resolve_shop(request) -> tuple[Shop, str] | None:
    choices = memberships_of(request.user)
    if not choices:
        return None
    wanted = request.session.get(SESSION_SHOP_KEY)
    chosen = next(((s, r) for s, r in choices if s.pk == wanted), choices[0])
    request.dashboard_shops = [s for s, _r in choices]
    return chosen


def role_at_least(role: str, needed: str) -> bool:
    return ROLE_RANK[Role(role)] >= ROLE_RANK[Role(needed)]


def seller_view(role: str = Role.STAFF):
    """Decorator: signed in, a member of a shop, holding ``role`` or higher there."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            resolved = resolve_shop(request)
            if resolved is None:
                raise PermissionDenied(_("Your account is not a member of any shop."))
            request.shop, request.role = resolved
            if not role_at_least(request.role, role):
                raise PermissionDenied(_("Your role in this shop does not allow this."))
            return view(request, *args, **kwargs)

        wrapped.required_role = role
        return wrapped

    return decorator


def can(request, needed: str) -> bool:
    """For templates and views: may the current user do what ``needed`` allows in the current shop?"""
    role = getattr(request, "role", None)
    return role is not None and role_at_least(role, needed)
