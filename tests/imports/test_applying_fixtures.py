"""The parser tests' real-shaped export files, applied: every order becomes something, nobody is emailed,
and the same file again changes nothing."""

import pytest

from orders.models import EventKind, ItemOutcome, Notification, Order, OrderEvent

from .export_files import SHOPIFY_EXPORT, SHOPIFY_OLDER_EXPORT, TIKTOK_ALL_ORDERS, TIKTOK_TO_SHIP_UK
from .test_applying import imported, snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.mark.parametrize(
    "path", [SHOPIFY_EXPORT, SHOPIFY_OLDER_EXPORT, TIKTOK_ALL_ORDERS, TIKTOK_TO_SHIP_UK], ids=lambda p: p.stem
)
def test_each_fixture_applies_and_applies_again_as_unchanged(shop, owner, path):
    first = imported(shop, path, by=owner)

    items = first.items.count()
    assert items and first.orders_new + first.orders_rejected == items
    assert first.orders_new == Order.objects.for_shop(shop).count() > 0
    for item in first.items.filter(outcome=ItemOutcome.REJECTED):
        assert any(p["level"] == "error" and p["row"] for p in item.problems)
    assert OrderEvent.objects.exclude(kind=EventKind.IMPORTED).count() == 0
    assert not Notification.objects.exists()
    before = snapshot(shop)

    again = imported(shop, path, by=owner)

    assert again.orders_unchanged == first.orders_new and again.orders_new == again.orders_updated == 0
    assert snapshot(shop) == before
