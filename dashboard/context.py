"""Template context for dashboard pages: the current shop, the shops to switch to, what the role allows."""

from shop.models import Role

from .access import can
from .navigation import nav_for


def dashboard(request) -> dict:
    if not hasattr(request, "shop"):
        return {}
    return {
        "current_shop": request.shop,
        "dashboard_shops": getattr(request, "dashboard_shops", [request.shop]),
        "role": request.role,
        "can_manage": can(request, Role.MANAGER),
        "is_owner": can(request, Role.OWNER),
        "nav": nav_for(request),
    }
