"""Reads for the returns queue: a shop's returns by status, with their order and items."""

from django.db.models import Count, Prefetch
from django.shortcuts import get_object_or_404

from orders.models import Return, ReturnLine, ReturnStatus

# The tabs, in the order a seller works them: new requests first.
RETURN_TABS = (
    ReturnStatus.REQUESTED,
    ReturnStatus.APPROVED,
    ReturnStatus.RECEIVED,
    ReturnStatus.REFUNDED,
    ReturnStatus.REJECTED,
)
PAGE_SIZE = 50


def returns_of_shop(shop):
    return Return.objects.filter(order__shop=shop)


def return_for_shop(shop, pk: int) -> Return:
    """One of the shop's returns; another shop's is a 404."""
    return get_object_or_404(returns_of_shop(shop).select_related("order"), pk=pk)


def return_queue(shop, status: str, *, limit: int = PAGE_SIZE) -> list[Return]:
    """The oldest requests first, so nothing waits at the bottom of the list; finished ones newest first."""
    ordering = (
        ("requested_at", "id")
        if status in (ReturnStatus.REQUESTED, ReturnStatus.APPROVED, ReturnStatus.RECEIVED)
        else ("-requested_at", "-id")
    )
    return list(
        returns_of_shop(shop)
        .filter(status=status)
        .select_related("order", "order__customer")
        .prefetch_related(Prefetch("lines", queryset=ReturnLine.objects.select_related("order_line")))
        .order_by(*ordering)[:limit]
    )


def return_counts(shop) -> dict[str, int]:
    rows = returns_of_shop(shop).values("status").annotate(count=Count("id")).order_by()
    counts = {status: 0 for status in RETURN_TABS}
    counts.update({row["status"]: row["count"] for row in rows})
    return counts
