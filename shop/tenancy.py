"""Which shops a user may see. Every seller-side read starts from ``shops_for_user``/``membership_for``."""

from django.db.models import QuerySet

from .models import Membership, Role, Shop

ROLE_RANK = {Role.STAFF: 1, Role.MANAGER: 2, Role.OWNER: 3}


def shops_for_user(user) -> QuerySet[Shop]:
    if not user.is_authenticated:
        return Shop.objects.none()
    if user.is_superuser:
        return Shop.objects.all()
    return Shop.objects.filter(memberships__user=user)


def membership_for(user, shop: Shop) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, shop=shop).first()


def has_role(user, shop: Shop, role: Role) -> bool:
    """True if the user holds ``role`` or a higher one in ``shop`` (superusers hold every role)."""
    if user.is_authenticated and user.is_superuser:
        return True
    membership = membership_for(user, shop)
    return membership is not None and ROLE_RANK[Role(membership.role)] >= ROLE_RANK[role]
