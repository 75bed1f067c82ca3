"""/api/v1/ shipments, carriers, and the signed carrier webhook that pushes tracking scans."""

import hmac
import json
import time

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from orders.api.serializers import CursorQuery, ShipmentOutput, ShipmentPageOutput, StrictSerializer
from orders.api.views import query_of
from orders.errors import ShipshapeError
from orders.selectors import shipments_for_shop
from orders.services import Actor, deliver_shipment
from orders.services.tracking import record_scan
from shop.api.cursors import decode_cursor, encode_cursor
from shop.api.errors import ApiError, error_responses
from shop.api.idempotency import run_idempotently
from shop.api.throttling import CarrierWebhookThrottle
from shop.api.views import ShopAPIView
from shop.models import Shop
from shop.webhook_signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature_for

from .carriers import MAX_TRACKING_NUMBER_LENGTH, detect, normalise_tracking_number
from .models import Carrier, Shipment, ShipmentStatus

# A signed request older (or further ahead) than this is refused, so a captured one cannot be replayed.
SIGNATURE_TOLERANCE_SECONDS = 300
MAX_SCANS_PER_REQUEST = 100


def _render_shipment(pk: int) -> dict:
    shipment = (
        Shipment.objects.select_related("carrier", "order").prefetch_related("lines", "events").get(pk=pk)
    )
    return ShipmentOutput(shipment).data


class ShipmentListQuery(CursorQuery):
    tracking_number = serializers.CharField(required=False, max_length=64)
    status = serializers.ChoiceField(choices=ShipmentStatus.choices, required=False)


class ShipmentListView(ShopAPIView):
    @extend_schema(
        operation_id="shipments_list",
        parameters=[ShipmentListQuery],
        responses={200: ShipmentPageOutput, **error_responses(400, 401, 429)},
        summary="List parcels, newest first",
    )
    def get(self, request):
        query = ShipmentListQuery(data=query_of(request))
        query.is_valid(raise_exception=True)
        query = query.validated_data
        after = decode_cursor(query["cursor"], kinds=(int,))[0] if query.get("cursor") else None
        rows = shipments_for_shop(
            self.shop,
            tracking_number=query.get("tracking_number", ""),
            status=query.get("status", ""),
            after=after,
            limit=query["limit"],
        )
        more = len(rows) > query["limit"]
        rows = rows[: query["limit"]]
        return Response(
            {
                "results": ShipmentOutput(rows, many=True).data,
                "next_cursor": encode_cursor(rows[-1].pk) if more else None,
            }
        )


class ShipmentDetailView(ShopAPIView):
    @extend_schema(
        operation_id="shipments_retrieve", responses={200: ShipmentOutput, **error_responses(401, 404, 429)}
    )
    def get(self, request, pk):
        return Response(
            _render_shipment(get_object_or_404(Shipment.objects.filter(shop=self.shop), pk=pk).pk)
        )


class ShipmentDeliverView(ShopAPIView):
    @extend_schema(
        operation_id="shipments_deliver",
        request=None,
        responses={200: ShipmentOutput, **error_responses(401, 404, 409, 422, 429)},
        summary="Mark one parcel delivered (the order follows with its last parcel)",
    )
    def post(self, request, pk):
        shipment = get_object_or_404(Shipment.objects.filter(shop=self.shop), pk=pk)

        def write():
            deliver_shipment(shipment, by=self.actor)
            return Response(_render_shipment(shipment.pk))

        return run_idempotently(request, self.shop, write)


class CarrierOutput(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class CarrierListView(ShopAPIView):
    @extend_schema(
        operation_id="carriers_list", responses={200: CarrierOutput(many=True), **error_responses(401, 429)}
    )
    def get(self, request):
        return Response(
            CarrierOutput(Carrier.objects.filter(is_active=True).order_by("code"), many=True).data
        )


class DetectQuery(StrictSerializer):
    number = serializers.CharField(
        max_length=MAX_TRACKING_NUMBER_LENGTH, help_text="A tracking number; spaces and dashes are ignored."
    )


class CarrierCandidateOutput(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField(help_text="For a national post, the post of the number's country.")
    tracking_url = serializers.CharField(help_text="Empty when the carrier has no public tracking page.")


class DetectionOutput(serializers.Serializer):
    number = serializers.CharField(help_text="The number without spaces or dashes, in capitals.")
    valid = serializers.BooleanField(
        help_text="The number fits at least one carrier's format (and its check digit, where it has one)."
    )
    carrier = serializers.CharField(
        allow_null=True, help_text="The carrier's code when exactly one carrier fits, else null."
    )
    candidates = CarrierCandidateOutput(many=True, help_text="Every carrier the number can belong to.")


class CarrierDetectView(APIView):
    """Detection reads no shop's data (carriers are shared), so it needs a signed-in seller or an API key
    but no shop; the dashboard's ship dialog asks it as the seller types."""

    @extend_schema(
        operation_id="carriers_detect",
        parameters=[DetectQuery],
        responses={200: DetectionOutput, **error_responses(400, 401, 429)},
        summary="Detect the carrier of a tracking number",
        description=(
            "Checks the number against every active carrier: the published formats and check digits of "
            "tracking_number_data for built-in carriers, the pattern of any other. `carrier` is set only "
            "when exactly one carrier fits; a number that fits several lists them all."
        ),
    )
    def get(self, request):
        query = DetectQuery(data=query_of(request))
        query.is_valid(raise_exception=True)
        detection = detect(query.validated_data["number"])
        return Response(
            {
                "number": detection.number,
                "valid": detection.valid,
                "carrier": detection.carrier,
                "candidates": [
                    {"code": info.code, "name": info.name, "tracking_url": info.tracking_url}
                    for info in detection.candidates
                ],
            }
        )


# --- the carrier webhook --------------------------------------------------------------------------------


class ScanInput(StrictSerializer):
    tracking_number = serializers.CharField(max_length=64)
    status = serializers.ChoiceField(choices=ShipmentStatus.choices)
    occurred_at = serializers.DateTimeField(help_text="When the carrier scanned the parcel.")
    location = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    description = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ScanBatchInput(StrictSerializer):
    events = ScanInput(many=True, min_length=1, max_length=MAX_SCANS_PER_REQUEST)


class ScanResultOutput(serializers.Serializer):
    tracking_number = serializers.CharField()
    result = serializers.ChoiceField(
        choices=["recorded", "duplicate", "unknown_tracking_number", "refused"],
        help_text="duplicate: this scan was already received and changed nothing.",
    )
    shipment = serializers.IntegerField(allow_null=True)
    error = serializers.DictField(required=False)


def verify_signature(shop: Shop | None, headers, body: bytes, *, now: float | None = None) -> None:
    """Refuse (401) a request that is not signed with the shop's secret, or that is too old."""
    refused = ApiError(
        _("The signature is missing or does not match."), code="invalid_signature", http_status=401
    )
    timestamp = headers.get(TIMESTAMP_HEADER, "")
    signature = headers.get(SIGNATURE_HEADER, "")
    if shop is None or not timestamp.isdigit() or len(timestamp) > 12 or not signature:
        raise refused
    if abs((now or time.time()) - int(timestamp)) > SIGNATURE_TOLERANCE_SECONDS:
        raise ApiError(
            _("The timestamp is more than five minutes away from now; sign the request again."),
            code="stale_timestamp",
            http_status=401,
        )
    if not hmac.compare_digest(signature_for(shop.carrier_webhook_secret, timestamp, body), signature):
        raise refused


def record_carrier_scan(shop: Shop, carrier: Carrier, scan: dict) -> dict:
    """Find the shop's parcel by carrier and tracking number and hand the scan to ``record_scan``, the
    service every source of scans goes through (replays, late scans, deliveries, out-for-delivery emails)."""
    number = normalise_tracking_number(scan["tracking_number"])
    shipment = Shipment.objects.filter(shop=shop, carrier=carrier, tracking_number=number).first()
    result = {"tracking_number": number, "shipment": shipment.pk if shipment else None}
    if shipment is None:
        return {**result, "result": "unknown_tracking_number"}
    try:
        recorded = record_scan(
            shipment,
            status=scan["status"],
            occurred_at=scan["occurred_at"],
            location=scan["location"],
            description=scan["description"],
            by=Actor.carrier(),
        )
    except ShipshapeError as exc:
        return {**result, "result": "refused", "error": exc.as_dict()}
    return {**result, "result": "recorded" if recorded else "duplicate"}


class CarrierWebhookView(APIView):
    """Tracking scans pushed by a carrier or tracking service, signed with the shop's webhook secret."""

    authentication_classes = []
    permission_classes = []
    throttle_classes = [CarrierWebhookThrottle]

    @extend_schema(
        operation_id="carrier_events_create",
        auth=[],
        request=ScanBatchInput,
        parameters=[
            OpenApiParameter(
                TIMESTAMP_HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=True,
                description="Unix seconds.",
            ),
            OpenApiParameter(
                SIGNATURE_HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=True,
                description='"sha256=" + hex HMAC-SHA256(shop secret, timestamp + "." + raw body).',
            ),
        ],
        responses={
            200: inline_serializer("ScanResults", {"results": ScanResultOutput(many=True)}),
            **error_responses(400, 401, 404, 413, 415, 429),
        },
        summary="Push tracking scans (signed)",
    )
    def post(self, request, slug, code):
        body = request.body  # the raw bytes, as signed; read before anything parses them
        shop = Shop.objects.filter(slug=slug).first()
        verify_signature(shop, request.headers, body)
        carrier = get_object_or_404(Carrier, code=code)
        if request.content_type.split(";")[0].strip() != "application/json":
            raise ApiError(_("Send JSON."), code="unsupported_media_type", http_status=415)
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError(_("The body is not valid JSON."), code="parse_error", http_status=400) from exc
        if isinstance(payload, dict) and "events" not in payload:
            payload = {"events": [payload]}  # a single scan is accepted as it is
        batch = ScanBatchInput(data=payload)
        batch.is_valid(raise_exception=True)
        results = [record_carrier_scan(shop, carrier, scan) for scan in batch.validated_data["events"]]
        return Response({"results": results})
