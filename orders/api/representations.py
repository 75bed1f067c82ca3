"""The JSON of an order, built straight from the plain values of ``selectors.order_records_for_shop``.

The order list and detail are the API's busiest reads; rendering a 25-order page through DRF serializers
(about 7,000 field objects visited) cost as much as its queries. These functions give exactly what
``serializers.OrderOutput`` gives (which stays the shape's definition in the OpenAPI schema):
the same keys, decimals as strings with two places, datetimes in ISO 8601 in the current time zone with
``Z`` for UTC. tests/api/test_order_representation.py compares the two on orders in every state.
"""

from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from orders.states import allowed_moves

CENT = Decimal("0.01")


def _money(value: Decimal) -> str:
    return f"{value.quantize(CENT):f}"


def _when(value, zone) -> str | None:
    """As DRF's DateTimeField renders an aware datetime (``zone``: the current time zone, looked up once
    per order: the lookup costs more than the conversion)."""
    if not value:
        return None
    text = value.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _day(value) -> str | None:
    return value.isoformat() if value else None


def _parcel_lines(lines: list[dict]) -> list[dict]:
    return [{"line": line["order_line_id"], "quantity": line["quantity"]} for line in lines]


def _shipment_json(parcel: dict, number: str, zone) -> dict:
    carrier = parcel["carrier"]
    return {
        "id": parcel["id"],
        "order": number,
        "carrier": carrier.code,
        "carrier_name": carrier.name,
        "tracking_number": parcel["tracking_number"],
        "tracking_url": carrier.tracking_url(parcel["tracking_number"]),
        "status": parcel["status"],
        "shipped_at": _when(parcel["shipped_at"], zone),
        "estimated_delivery": _day(parcel["estimated_delivery"]),
        "delivered_at": _when(parcel["delivered_at"], zone),
        "lines": _parcel_lines(parcel["lines"]),
        "events": [
            {
                "occurred_at": _when(scan["occurred_at"], zone),
                "status": scan["status"],
                "location": scan["location"],
                "description": scan["description"],
                "source": scan["source"],
            }
            for scan in parcel["events"]
        ],
    }


def _return_json(row: dict, number: str, zone) -> dict:
    return {
        "id": row["id"],
        "order": number,
        "status": row["status"],
        "reason": row["reason"],
        "rejection_reason": row["rejection_reason"],
        "refund_amount": _money(row["refund_amount"]),
        "requested_at": _when(row["requested_at"], zone),
        "decided_at": _when(row["decided_at"], zone),
        "received_at": _when(row["received_at"], zone),
        "refunded_at": _when(row["refunded_at"], zone),
        "lines": _parcel_lines(row["lines"]),
    }


def _event_json(event: dict, number: str, zone) -> dict:
    return {
        "id": event["id"],
        "order": number,
        "kind": event["kind"],
        "message": event["message"],
        "data": {str(key): value for key, value in event["data"].items()},
        "actor_kind": event["actor_kind"],
        "created_at": _when(event["created_at"], zone),
    }


def order_json(order: dict) -> dict:
    """One order record (``selectors.order_records_for_shop``) in the shape of ``OrderOutput``."""
    number = order["number"]
    zone = timezone.get_current_timezone()
    return {
        "number": number,
        "status": order["status"],
        "allowed_moves": [str(state) for state in allowed_moves(order["status"])],
        "payment_status": order["payment_status"],
        "payment_method": order["payment_method"],
        "version": order["version"],
        "currency": order["currency"],
        "subtotal": _money(order["subtotal"]),
        "discount": _money(order["discount"]),
        "shipping_price": _money(order["shipping_price"]),
        "tax": _money(order["tax"]),
        "total": _money(order["total"]),
        "refunded_total": _money(order["refunded_total"]),
        "coupon_code": order["coupon__code"],
        "customer": {
            "id": order["customer_id"],
            "email": order["customer__email"],
            "name": order["customer__name"],
            "phone": order["customer__phone"],
        },
        "shipping_address": {
            "name": order["ship_name"],
            "line1": order["ship_line1"],
            "line2": order["ship_line2"],
            "city": order["ship_city"],
            "region": order["ship_region"],
            "postal_code": order["ship_postal_code"],
            "country": order["ship_country"],
            "phone": order["ship_phone"],
        },
        "note": order["note"],
        "lines": [
            {
                "id": line["id"],
                "sku": line["sku"],
                "name": line["name"],
                "variant": line["variant"],
                "quantity": line["quantity"],
                "unit_price": _money(line["unit_price"]),
            }
            for line in order["lines"]
        ],
        "shipments": [_shipment_json(parcel, number, zone) for parcel in order["shipments"]],
        "returns": [_return_json(row, number, zone) for row in order["returns"]],
        "events": [_event_json(event, number, zone) for event in order["events"]],
        "tracking_url": f"{settings.SITE_URL}/track/{order['public_token']}/",
        "placed_at": _when(order["placed_at"], zone),
        "processed_at": _when(order["processed_at"], zone),
        "shipped_at": _when(order["shipped_at"], zone),
        "delivered_at": _when(order["delivered_at"], zone),
        "cancelled_at": _when(order["cancelled_at"], zone),
        "returned_at": _when(order["returned_at"], zone),
        "cancel_reason": order["cancel_reason"],
        "updated_at": _when(order["updated_at"], zone),
    }


def lines_change_json(change, order: dict) -> dict:
    """What a change of items did (``services.LinesChange``) with the order after it, in the shape of
    ``serializers.LinesChangeOutput``. ``order`` is the order's record, re-read after the change."""
    return {
        "order": order_json(order),
        "old_total": _money(change.old_total),
        "new_total": _money(change.new_total),
        "difference": _money(change.difference),
        "settlement": change.settlement,
        "amount": _money(change.amount),
        "dropped_coupon": change.dropped_coupon,
    }
