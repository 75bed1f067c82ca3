"""The platforms' status texts → Shipshape statuses."""

import pytest

from orders.imports.statuses import builtin_status, normalise_status_text, tiktok_status_text
from orders.states import OrderStatus

S = OrderStatus


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("Unpaid", S.PENDING),
        ("On hold", S.PENDING),
        ("Awaiting shipment", S.PENDING),
        ("To ship", S.PENDING),
        ("Awaiting collection", S.PROCESSED),
        ("Partially shipped", S.PROCESSED),
        ("In transit", S.SHIPPED),
        ("Shipped", S.SHIPPED),
        ("Delivered", S.DELIVERED),
        ("Completed", S.DELIVERED),
        ("Cancelled", S.CANCELLED),
        ("Canceled", S.CANCELLED),
        ("  AWAITING   shipment ", S.PENDING),
        ("Shipped / Delivered", S.DELIVERED),  # the substatus says more
        ("To ship / Awaiting collection", S.PROCESSED),
        ("Cancelled / Some new substatus", S.CANCELLED),
        ("Zugestellt", None),
        ("Return/Refund", None),
        ("", None),
    ],
)
def test_tiktok_statuses(text, status):
    assert builtin_status("tiktok", text) == status


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("unfulfilled", S.PENDING),
        ("partial", S.PROCESSED),
        ("fulfilled", S.SHIPPED),  # Shopify's export has no "delivered"
        ("restocked", S.CANCELLED),
        ("cancelled", S.CANCELLED),
        ("unfulfilled, refunded", S.CANCELLED),
        ("unfulfilled, voided", S.CANCELLED),
        ("Fulfilled", S.SHIPPED),
        ("scheduled", None),
    ],
)
def test_shopify_statuses(text, status):
    assert builtin_status("shopify", text) == status


def test_an_unknown_source_knows_nothing():
    assert builtin_status("amazon", "Shipped") is None


def test_normalise_status_text():
    assert normalise_status_text("  In\tTransit  ") == "in transit"
    assert normalise_status_text("ZUGESTELLT") == "zugestellt"
    assert normalise_status_text("") == ""


def test_tiktok_status_text_adds_the_substatus_only_when_it_says_more():
    assert tiktok_status_text("Shipped", "In transit") == "Shipped / In transit"
    assert tiktok_status_text("Completed", "completed") == "Completed"
    assert tiktok_status_text("Unpaid", "") == "Unpaid"
    assert tiktok_status_text("", "Awaiting shipment") == "Awaiting shipment"
