"""Reads for the buyer requests queue: a shop's requests by status and kind, with their order."""

from django.db.models import Count
from django.shortcuts import get_object_or_404

from orders.models import BuyerRequest, RequestKind, RequestStatus

# The tabs, in the order a seller works them: open requests first.
REQUEST_TABS = (RequestStatus.OPEN, RequestStatus.APPROVED, RequestStatus.DECLINED, RequestStatus.WITHDRAWN)
PAGE_SIZE = 50


def requests_of_shop(shop):
    return BuyerRequest.objects.filter(shop=shop)


def request_for_shop(shop, pk: int) -> BuyerRequest:
    """One of the shop's requests; another shop's is a 404."""
    return get_object_or_404(requests_of_shop(shop).select_related("order"), pk=pk)


def request_queue(shop, *, status: str, kind: str = "", limit: int = PAGE_SIZE) -> list[BuyerRequest]:
    """Open requests oldest first (nothing waits at the bottom); answered ones newest first. One query
    (the shop, status, kind index), with the order and its customer."""
    requests = requests_of_shop(shop).filter(status=status)
    if kind:
        requests = requests.filter(kind=kind)
    ordering = ("created_at", "id") if status == RequestStatus.OPEN else ("-created_at", "-id")
    return list(requests.select_related("order", "order__customer", "decided_by").order_by(*ordering)[:limit])


def request_counts(shop, *, kind: str = "") -> dict[str, int]:
    requests = requests_of_shop(shop)
    if kind:
        requests = requests.filter(kind=kind)
    rows = requests.values("status").annotate(count=Count("id")).order_by()
    counts = {status: 0 for status in REQUEST_TABS}
    counts.update({row["status"]: row["count"] for row in rows})
    return counts


def valid_kind(kind: str) -> str:
    return kind if kind in RequestKind.values else ""


def valid_status(status: str) -> str:
    return status if status in REQUEST_TABS else RequestStatus.OPEN
