"""``/api/v1/imports/``: upload a TikTok Shop or Shopify orders export, follow its check, then apply it.

``POST /imports/`` (multipart ``file``, optional ``format``) keeps the file and starts the check (the
preview) in the background: nothing is written to the orders. ``GET /imports/{id}/`` follows its state and
progress; ``GET /imports/{id}/items/?outcome=rejected`` lists what each order would become (or became).
``POST /imports/{id}/apply/`` applies a checked import (409 otherwise, or while status texts are unknown).
Every lookup is scoped to the key's shop: another shop's import is a 404.
"""

from django.conf import settings
from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from orders.models import ImportState, ItemOutcome, OrderImport
from orders.states import OrderStatus
from shop.api.cursors import decode_cursor, encode_cursor
from shop.api.errors import ApiError, error_responses
from shop.api.views import ShopAPIView

from . import applying, tasks

READ_ERRORS = error_responses(400, 401, 404, 429)


class ImportUploadInput(serializers.Serializer):
    file = serializers.FileField(help_text="The export as downloaded: CSV (any encoding, BOM) or XLSX.")
    format = serializers.ChoiceField(
        choices=["auto", "shopify", "tiktok"],
        default="auto",
        help_text="auto detects the platform from the header row.",
    )


class ImportCounts(serializers.Serializer):
    new = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    rejected = serializers.IntegerField()


class ImportOutput(serializers.Serializer):
    id = serializers.IntegerField()
    file_name = serializers.CharField()
    size = serializers.IntegerField(help_text="Bytes.")
    import_format = serializers.CharField(help_text="shopify or tiktok; empty until the file is read.")
    state = serializers.ChoiceField(
        choices=ImportState.choices,
        help_text="uploaded → previewing → previewed → applying → done; failed with an error.",
    )
    rows_total = serializers.IntegerField()
    rows_done = serializers.IntegerField()
    percent_done = serializers.IntegerField()
    orders = ImportCounts(help_text="What the check found (previewed) or what applying did (done).")
    unknown_status_texts = serializers.ListField(
        child=serializers.CharField(),
        help_text="Status texts nobody mapped yet; they must be mapped (dashboard) before applying.",
    )
    error = serializers.CharField(help_text="Why the whole file failed; empty otherwise.")
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class ImportPageOutput(serializers.Serializer):
    results = ImportOutput(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class ImportProblem(serializers.Serializer):
    level = serializers.ChoiceField(choices=["error", "warning"], help_text="error rejects the order.")
    message = serializers.CharField()
    row = serializers.IntegerField(allow_null=True, help_text="The file's row, 1 = the header.")
    column = serializers.CharField()
    code = serializers.CharField(required=False, help_text="unknown_status for a status nobody mapped yet.")


class ImportItemOutput(serializers.Serializer):
    external_id = serializers.CharField(help_text="The order's id on the platform.")
    first_row = serializers.IntegerField()
    last_row = serializers.IntegerField()
    outcome = serializers.ChoiceField(choices=ItemOutcome.choices)
    status_text = serializers.CharField(help_text="The platform's status as the file says it.")
    status = serializers.ChoiceField(choices=OrderStatus.choices, allow_null=True)
    problems = ImportProblem(many=True)
    order = serializers.CharField(allow_null=True, help_text="The Shipshape order number, once there is one.")
    applied = serializers.BooleanField()


class ImportItemPageOutput(serializers.Serializer):
    results = ImportItemOutput(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class ImportListQuery(serializers.Serializer):
    cursor = serializers.CharField(required=False)
    limit = serializers.IntegerField(required=False, default=50, min_value=1, max_value=200)


class ImportItemQuery(ImportListQuery):
    outcome = serializers.ChoiceField(choices=ItemOutcome.choices, required=False)
    limit = serializers.IntegerField(required=False, default=100, min_value=1, max_value=500)


def import_json(order_import: OrderImport) -> dict:
    unknown = (
        applying.unknown_status_texts(order_import)
        if order_import.state == ImportState.PREVIEWED and order_import.orders_rejected
        else []
    )
    return {
        "id": order_import.pk,
        "file_name": order_import.original_name,
        "size": order_import.size,
        "import_format": order_import.format,
        "state": order_import.state,
        "rows_total": order_import.rows_total,
        "rows_done": order_import.rows_done,
        "percent_done": order_import.percent_done,
        "orders": {
            "new": order_import.orders_new,
            "updated": order_import.orders_updated,
            "unchanged": order_import.orders_unchanged,
            "rejected": order_import.orders_rejected,
        },
        "unknown_status_texts": unknown,
        "error": order_import.error,
        "created_at": order_import.created_at,
        "started_at": order_import.started_at,
        "finished_at": order_import.finished_at,
    }


def item_json(item) -> dict:
    return {
        "external_id": item.external_id,
        "first_row": item.first_row,
        "last_row": item.last_row,
        "outcome": item.outcome,
        "status_text": item.status_text,
        "status": item.status or None,
        "problems": [
            {key: problem.get(key) for key in ("level", "message", "row", "column", "code") if key in problem}
            for problem in item.problems or []
        ],
        "order": item.order.number if item.order_id else None,
        "applied": item.applied,
    }


def _parse(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _query(request) -> dict:
    query = request.query_params.dict()
    query.pop("format", None)
    return query


def _too_large() -> ApiError:
    limit = settings.SHIPSHAPE["IMPORT_MAX_UPLOAD_BYTES"]
    return ApiError(
        _("The file is too large; files up to %(limit)s MB can be imported.")
        % {"limit": round(limit / 1_000_000, 1)},
        code="file_too_large",
        http_status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        details={"max_bytes": limit},
    )


class ImportShopView(ShopAPIView):
    def get_import(self, pk) -> OrderImport:
        return get_object_or_404(OrderImport.objects.filter(shop=self.shop).select_related("shop"), pk=pk)


class ImportListView(ImportShopView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        operation_id="imports_list",
        parameters=[ImportListQuery],
        responses={200: ImportPageOutput, **READ_ERRORS},
        summary="The shop's imports, newest first",
    )
    def get(self, request):
        query = _parse(ImportListQuery, _query(request))
        imports = OrderImport.objects.filter(shop=self.shop).order_by("-id")
        if query.get("cursor"):
            imports = imports.filter(pk__lt=decode_cursor(query["cursor"], kinds=(int,))[0])
        rows = list(imports[: query["limit"] + 1])
        more = len(rows) > query["limit"]
        rows = rows[: query["limit"]]
        return Response(
            {
                "results": [import_json(row) for row in rows],
                "next_cursor": encode_cursor(rows[-1].pk) if more else None,
            }
        )

    @extend_schema(
        operation_id="imports_create",
        request={"multipart/form-data": ImportUploadInput},
        responses={202: ImportOutput, **error_responses(400, 401, 413, 415, 429)},
        summary="Upload an orders export; it is checked in the background (nothing is written yet)",
    )
    def post(self, request):
        limit = settings.SHIPSHAPE["IMPORT_MAX_UPLOAD_BYTES"]
        if int(request.META.get("CONTENT_LENGTH") or 0) > limit + 64 * 1024:
            raise _too_large()  # refused before the body is read
        data = _parse(ImportUploadInput, request.data)
        upload = data["file"]
        if not upload.size:
            raise ValidationError({"file": [_("The file is empty.")]})
        try:
            order_import = applying.receive_file(
                self.shop,
                upload,
                name=upload.name or "upload.csv",
                size=upload.size,
                format=data["format"],
                by=request.user if getattr(request.user, "pk", None) else None,
            )
        except applying.ImportRefused as refused:
            if refused.http_status == 413:
                raise _too_large() from refused
            raise ValidationError({"file": [refused.message]}) from refused
        order_import = tasks.start_preview(order_import)
        order_import.refresh_from_db()
        return Response(import_json(order_import), status=status.HTTP_202_ACCEPTED)


class ImportDetailView(ImportShopView):
    @extend_schema(operation_id="imports_retrieve", responses={200: ImportOutput, **READ_ERRORS})
    def get(self, request, pk):
        return Response(import_json(self.get_import(pk)))


class ImportItemsView(ImportShopView):
    @extend_schema(
        operation_id="imports_items",
        parameters=[ImportItemQuery],
        responses={200: ImportItemPageOutput, **READ_ERRORS},
        summary="What each order of the file would become (or became), in file order",
    )
    def get(self, request, pk):
        order_import = self.get_import(pk)
        query = _parse(ImportItemQuery, _query(request))
        items = order_import.items.select_related("order").order_by("first_row", "id")
        if query.get("outcome"):
            items = items.filter(outcome=query["outcome"])
        if query.get("cursor"):
            first_row, item_id = decode_cursor(query["cursor"], kinds=(int, int))
            items = items.filter(first_row__gte=first_row).exclude(first_row=first_row, id__lte=item_id)
        rows = list(items[: query["limit"] + 1])
        more = len(rows) > query["limit"]
        rows = rows[: query["limit"]]
        return Response(
            {
                "results": [item_json(item) for item in rows],
                "next_cursor": encode_cursor(rows[-1].first_row, rows[-1].pk) if more else None,
            }
        )


class ImportApplyView(ImportShopView):
    @extend_schema(
        operation_id="imports_apply",
        request=None,
        responses={202: ImportOutput, **error_responses(401, 404, 409, 429)},
        summary="Apply a checked import in the background (409 unless checked and every status is known)",
    )
    def post(self, request, pk):
        order_import = self.get_import(pk)
        user = request.user if getattr(request.user, "pk", None) else None  # None for an API key
        order_import = tasks.start_apply(order_import, by=user)
        order_import.refresh_from_db()
        return Response(import_json(order_import), status=status.HTTP_202_ACCEPTED)


# Included under /api/v1/imports/ by shop/api/urls.py (the ``id`` converter is registered there).
urlpatterns = [
    path("", ImportListView.as_view(), name="import-list"),
    path("<id:pk>/", ImportDetailView.as_view(), name="import-detail"),
    path("<id:pk>/items/", ImportItemsView.as_view(), name="import-items"),
    path("<id:pk>/apply/", ImportApplyView.as_view(), name="import-apply"),
]
