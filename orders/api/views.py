"""Order, return, coupon, customer and event endpoints. Each view parses, calls one service or selector,
renders; every read is scoped to the request's shop, so another shop's rows are 404."""

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.settings import api_settings

from orders import selectors, services
from orders.errors import CouponRejected, InvalidInput
from orders.models import BuyerRequest, Coupon, RequestKind, RequestStatus, Return
from orders.services import LineSpec, ParcelSpec
from orders.services.coupons import find_coupon
from orders.services.placing import ADDRESS_FIELDS
from orders.states import OrderStatus, PaymentStatus
from shop.api.cursors import decode_cursor, encode_cursor
from shop.api.errors import error_body, error_responses
from shop.api.idempotency import run_idempotently
from shop.api.views import ShopAPIView, expected_version
from shop.models import Customer

from . import serializers as s
from .representations import lines_change_json, order_json

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Retries with the same key and body return the first answer; another body is a 422.",
)
IF_MATCH_HEADER = OpenApiParameter(
    "If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, description='The order\'s version, e.g. "3".'
)
READ_ERRORS = error_responses(400, 401, 404, 429)
WRITE_ERRORS = error_responses(400, 401, 404, 409, 413, 415, 422, 429)


def _parse(serializer_class, data, **kwargs) -> dict:
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def query_of(request) -> dict:
    """The query string as a dict, without DRF's ``format`` switch (``?format=json``)."""
    query = request.query_params.dict()
    query.pop(api_settings.URL_FORMAT_OVERRIDE or "format", None)
    return query


def _split(query: dict, field: str, allowed) -> list[str]:
    """A comma-separated list of choices; 400 naming the field if one is unknown."""
    parts = [part.strip() for part in (query.get(field) or "").split(",") if part.strip()]
    unknown = [part for part in parts if part not in allowed]
    if unknown:
        message = _("Unknown value(s): %(unknown)s. Use: %(allowed)s.") % {
            "unknown": ", ".join(unknown),
            "allowed": ", ".join(allowed),
        }
        raise ValidationError({field: [message]})
    return parts


class OrderRenderMixin:
    def render_order(self, number: str, *, status_code: int = 200) -> Response:
        order = selectors.order_record_for_shop(self.shop, number)
        return Response(order_json(order), status=status_code, headers={"ETag": f'"{order["version"]}"'})


class OrderListView(OrderRenderMixin, ShopAPIView):
    @extend_schema(
        operation_id="orders_list",
        parameters=[s.OrderListQuery],
        responses={200: s.OrderPageOutput, **READ_ERRORS},
        summary="List orders, newest first",
    )
    def get(self, request):
        query = _parse(s.OrderListQuery, query_of(request))
        filters = selectors.OrderFilters(
            statuses=_split(query, "status", OrderStatus.values),
            payment_statuses=_split(query, "payment_status", PaymentStatus.values),
            placed_after=query.get("placed_after"),
            placed_before=query.get("placed_before"),
            updated_since=query.get("updated_since"),
            late=query.get("late"),
            has_open_return=query.get("has_open_return"),
            search=query.get("q", ""),
        )
        after = decode_cursor(query["cursor"], kinds=(datetime, int)) if query.get("cursor") else None
        orders, next_key = selectors.order_records_for_shop(
            self.shop, filters=filters, after=after, limit=query["limit"]
        )
        return Response(
            {
                "results": [order_json(order) for order in orders],
                "next_cursor": encode_cursor(*next_key) if next_key else None,
            }
        )

    @extend_schema(
        operation_id="orders_create",
        request=s.OrderCreateInput,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: s.OrderOutput, **WRITE_ERRORS},
        summary="Place an order",
    )
    def post(self, request):
        def write():
            data = _parse(s.OrderCreateInput, request.data)
            customer = data["customer"]
            order = services.place_order(
                shop=self.shop,
                email=customer["email"],
                customer_name=customer.get("name", ""),
                customer_phone=customer.get("phone", ""),
                address=dict(data["shipping_address"]),
                lines=[
                    LineSpec(
                        sku=line["sku"],
                        name=line["name"],
                        variant=line.get("variant", ""),
                        quantity=line["quantity"],
                        unit_price=line["unit_price"],
                    )
                    for line in data["lines"]
                ],
                shipping_price=data["shipping_price"],
                tax=data["tax"],
                payment_method=data["payment_method"],
                payment_status=data["payment_status"],
                coupon_code=data["coupon_code"],
                note=data["note"],
                language=data.get("language", ""),
                by=self.actor,
            )
            return self.render_order(order.number, status_code=status.HTTP_201_CREATED)

        return run_idempotently(request, self.shop, write)


class OrderDetailView(OrderRenderMixin, ShopAPIView):
    @extend_schema(operation_id="orders_retrieve", responses={200: s.OrderOutput, **READ_ERRORS})
    def get(self, request, number):
        return self.render_order(number)

    @extend_schema(
        operation_id="orders_update",
        request=s.OrderPatchInput,
        parameters=[IF_MATCH_HEADER],
        responses={200: s.OrderOutput, **WRITE_ERRORS, **error_responses(428)},
        summary="Change the shipping address or add an internal note",
    )
    def patch(self, request, number):
        order = selectors.order_for_shop(self.shop, number)
        data = _parse(s.OrderPatchInput, request.data)
        version = expected_version(request, data, required=True)
        with transaction.atomic():
            order = services.lock_order(order, expected_version=version)
            if "shipping_address" in data:
                current = {key: getattr(order, f"ship_{key}") for key in ADDRESS_FIELDS}
                order = services.change_shipping_address(
                    order,
                    address={**current, **data["shipping_address"]},
                    by=self.actor,
                    expected_version=version,
                )
            if "internal_note" in data:
                services.add_note(order, text=data["internal_note"], by=self.actor)
        return self.render_order(order.number)


class OrderActionView(OrderRenderMixin, ShopAPIView):
    """A move of the state machine as a POST; an illegal one is a 409 naming the status and allowed moves.

    Each subclass says which service makes the move in ``act(order, data, version)``.
    """

    input_class = s.VersionInput

    def post(self, request, number):
        order = selectors.order_for_shop(self.shop, number)

        def write():
            data = _parse(self.input_class, request.data)
            changed = self.act(order, data, expected_version(request, data))
            return self.render_order(changed.number)

        return run_idempotently(request, self.shop, write)


def _action_schema(name: str, input_class, summary: str):
    return extend_schema(
        operation_id=f"orders_{name}",
        request=input_class,
        parameters=[IF_MATCH_HEADER, IDEMPOTENCY_HEADER],
        responses={200: s.OrderOutput, **WRITE_ERRORS},
        summary=summary,
    )


class OrderProcessView(OrderActionView):
    @_action_schema("process", s.VersionInput, "Accept the order (pending → processed)")
    def post(self, request, number):
        return super().post(request, number)

    def act(self, order, data, version):
        return services.process_order(order, by=self.actor, expected_version=version)


class OrderShipView(OrderActionView):
    input_class = s.ShipInput

    @_action_schema("ship", s.ShipInput, "Ship a parcel (all remaining lines, or the lines given)")
    def post(self, request, number):
        return super().post(request, number)

    def act(self, order, data, version):
        lines = {line["line"]: line["quantity"] for line in data["lines"]} if data.get("lines") else None
        parcel = ParcelSpec(
            tracking_number=data.get("tracking_number", ""),
            carrier_code=data.get("carrier") or "",
            lines=lines,
            no_tracking=data.get("no_tracking", False),
            estimated_delivery=data.get("estimated_delivery"),
        )
        return services.ship_order(order, parcels=[parcel], by=self.actor, expected_version=version)


class OrderDeliverView(OrderActionView):
    @_action_schema("deliver", s.VersionInput, "Mark the order delivered by hand")
    def post(self, request, number):
        return super().post(request, number)

    def act(self, order, data, version):
        return services.deliver_order(order, by=self.actor, expected_version=version)


class OrderCancelView(OrderActionView):
    input_class = s.CancelInput

    @_action_schema("cancel", s.CancelInput, "Cancel the order, with a reason")
    def post(self, request, number):
        return super().post(request, number)

    def act(self, order, data, version):
        return services.cancel_order(order, reason=data["reason"], by=self.actor, expected_version=version)


# --- the items of a pending order -----------------------------------------------------------------------


def _add_coupon_hint(exc: CouponRejected) -> None:
    """The service's explanation speaks of the dashboard's button; say what an API client sends instead."""
    exc.details["hint"] = _(
        'Send "drop_coupon_if_invalid": true to take the coupon off the order (the total goes up).'
    )


def _explain_lines_refusal(exc: InvalidInput, specs: list[LineSpec]) -> None:
    """Give a refused edit of the items the API's conventions: an unknown line names its place in the body
    (``lines.<n>.id``). (An order no longer pending is ``OrderNotPending``, a 409 of its own.)"""
    if exc.code == "unknown_line":
        unknown = set(exc.details.get("lines") or ())
        index = next((n for n, spec in enumerate(specs) if spec.id in unknown), None)
        if index is not None:
            exc.details["field"] = f"lines.{index}.id"


class OrderLinesView(ShopAPIView):
    @extend_schema(
        operation_id="orders_lines_update",
        request=s.LinesPatchInput,
        parameters=[IF_MATCH_HEADER],
        responses={200: s.LinesChangeOutput, **WRITE_ERRORS, **error_responses(428)},
        summary="Replace the items of a pending order",
        description=(
            "Send every line as it should be: a line with its id keeps the id and takes the values sent, "
            "a line without id is added, a line left out is removed. Totals are recomputed and the coupon "
            "checked again; the buyer is emailed the change. Needs the order's version (If-Match or "
            "version): 428 without it, 409 stale_version with an old one. 409 not_pending once the order is "
            "processed; 422 unknown_line, unchanged, or coupon_<rule> when the coupon no longer applies "
            "(details.hint: send drop_coupon_if_invalid)."
        ),
    )
    def patch(self, request, number):
        order = selectors.order_for_shop(self.shop, number)
        data = _parse(s.LinesPatchInput, request.data, context={"charges": order.shipping_price + order.tax})
        version = expected_version(request, data, required=True)
        specs = [
            LineSpec(
                id=line.get("id"),
                sku=line["sku"],
                name=line["name"],
                variant=line["variant"],
                quantity=line["quantity"],
                unit_price=line["unit_price"],
            )
            for line in data["lines"]
        ]
        try:
            change = services.seller_modify_lines(
                order,
                lines=specs,
                by=self.actor,
                expected_version=version,
                drop_coupon_if_invalid=data["drop_coupon_if_invalid"],
            )
        except CouponRejected as exc:
            _add_coupon_hint(exc)
            raise
        except InvalidInput as exc:
            _explain_lines_refusal(exc, specs)
            raise
        record = selectors.order_record_for_shop(self.shop, change.order.number)
        return Response(lines_change_json(change, record), headers={"ETag": f'"{record["version"]}"'})


# --- returns --------------------------------------------------------------------------------------------


class OrderReturnsView(ShopAPIView):
    @extend_schema(
        operation_id="orders_returns_list", responses={200: s.ReturnOutput(many=True), **READ_ERRORS}
    )
    def get(self, request, number):
        order = selectors.order_for_shop(self.shop, number)
        returns = Return.objects.filter(order=order).select_related("order").prefetch_related("lines")
        return Response(s.ReturnOutput(returns, many=True).data)

    @extend_schema(
        operation_id="orders_returns_create",
        request=s.ReturnRequestInput,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: s.ReturnOutput, **WRITE_ERRORS},
        summary="Request a return of delivered items",
    )
    def post(self, request, number):
        order = selectors.order_for_shop(self.shop, number)

        def write():
            data = _parse(s.ReturnRequestInput, request.data)
            lines: dict[int, int] = {}
            for line in data["lines"]:
                lines[line["line"]] = lines.get(line["line"], 0) + line["quantity"]
            created = services.request_return(order, lines=lines, reason=data["reason"], by=self.actor)
            return Response(_render_return(created.pk), status=status.HTTP_201_CREATED)

        return run_idempotently(request, self.shop, write)


def _render_return(pk: int) -> dict:
    return s.ReturnOutput(Return.objects.select_related("order").prefetch_related("lines").get(pk=pk)).data


class ReturnLookupMixin:
    def get_return(self, pk) -> Return:
        return get_object_or_404(Return.objects.filter(order__shop=self.shop), pk=pk)


class ReturnDetailView(ReturnLookupMixin, ShopAPIView):
    @extend_schema(operation_id="returns_retrieve", responses={200: s.ReturnOutput, **READ_ERRORS})
    def get(self, request, pk):
        return Response(_render_return(self.get_return(pk).pk))


class ReturnActionView(ReturnLookupMixin, ShopAPIView):
    input_class = s.EmptyInput

    def post(self, request, pk):
        return_request = self.get_return(pk)

        def write():
            data = _parse(self.input_class, request.data)
            self.act(return_request, data)
            return Response(_render_return(return_request.pk))

        return run_idempotently(request, self.shop, write)


def _return_action_schema(name: str, input_class, summary: str):
    return extend_schema(
        operation_id=f"returns_{name}",
        request=input_class,
        parameters=[IDEMPOTENCY_HEADER],
        responses={200: s.ReturnOutput, **WRITE_ERRORS},
        summary=summary,
    )


class ReturnApproveView(ReturnActionView):
    @_return_action_schema("approve", s.EmptyInput, "Approve a requested return")
    def post(self, request, pk):
        return super().post(request, pk)

    def act(self, return_request, data):
        services.approve_return(return_request, by=self.actor)


class ReturnRejectView(ReturnActionView):
    input_class = s.ReasonInput

    @_return_action_schema("reject", s.ReasonInput, "Reject a requested return, with a reason")
    def post(self, request, pk):
        return super().post(request, pk)

    def act(self, return_request, data):
        services.reject_return(return_request, reason=data["reason"], by=self.actor)


class ReturnReceiveView(ReturnActionView):
    @_return_action_schema("receive", s.EmptyInput, "Record that the returned items arrived")
    def post(self, request, pk):
        return super().post(request, pk)

    def act(self, return_request, data):
        services.receive_return(return_request, by=self.actor)


class ReturnRefundView(ReturnActionView):
    input_class = s.RefundInput

    @_return_action_schema("refund", s.RefundInput, "Refund a received return")
    def post(self, request, pk):
        return super().post(request, pk)

    def act(self, return_request, data):
        services.refund_return(return_request, by=self.actor, amount=data.get("amount"))


# --- buyers' requests ----------------------------------------------------------------------------------


def _render_buyer_request(pk: int) -> dict:
    return s.BuyerRequestOutput(BuyerRequest.objects.select_related("order").get(pk=pk)).data


class BuyerRequestLookupMixin:
    def get_buyer_request(self, pk) -> BuyerRequest:
        return get_object_or_404(BuyerRequest.objects.filter(shop=self.shop), pk=pk)


class BuyerRequestListView(ShopAPIView):
    @extend_schema(
        operation_id="requests_list",
        parameters=[s.BuyerRequestListQuery],
        responses={200: s.BuyerRequestPageOutput, **READ_ERRORS},
        summary="List the buyers' requests, newest first",
    )
    def get(self, request):
        query = _parse(s.BuyerRequestListQuery, query_of(request))
        after = decode_cursor(query["cursor"], kinds=(datetime, int)) if query.get("cursor") else None
        rows, next_key = selectors.buyer_requests_for_shop(
            self.shop,
            statuses=_split(query, "status", RequestStatus.values),
            kinds=_split(query, "kind", RequestKind.values),
            order_number=query.get("order", ""),
            after=after,
            limit=query["limit"],
        )
        return Response(
            {
                "results": s.BuyerRequestOutput(rows, many=True).data,
                "next_cursor": encode_cursor(*next_key) if next_key else None,
            }
        )


class BuyerRequestDetailView(BuyerRequestLookupMixin, ShopAPIView):
    @extend_schema(operation_id="requests_retrieve", responses={200: s.BuyerRequestOutput, **READ_ERRORS})
    def get(self, request, pk):
        return Response(_render_buyer_request(self.get_buyer_request(pk).pk))


class BuyerRequestApproveView(BuyerRequestLookupMixin, ShopAPIView):
    @extend_schema(
        operation_id="requests_approve",
        request=s.ApproveRequestInput,
        parameters=[IF_MATCH_HEADER, IDEMPOTENCY_HEADER],
        responses={200: s.BuyerRequestOutput, **WRITE_ERRORS},
        summary="Grant a buyer's request",
        description=(
            "The address changes, the order is cancelled, or the item change is applied; the buyer is "
            "emailed. If the order moved on meanwhile (processed, shipped) the request can no longer be "
            "granted: it is declined with the reason, the buyer is told, and the answer is 409 "
            "request_declined with details.reason and details.request. An item change whose coupon no "
            "longer applies is a 422 coupon_<rule> (nothing written) unless drop_coupon_if_invalid is true. "
            "An answered request is 422 already_decided. version (or If-Match) is the order's."
        ),
    )
    def post(self, request, pk):
        buyer_request = self.get_buyer_request(pk)

        def write():
            data = _parse(s.ApproveRequestInput, request.data)
            version = expected_version(request, data)
            try:
                decided = services.approve_request(
                    buyer_request.pk,
                    shop=self.shop,
                    by=self.actor,
                    expected_version=version,
                    drop_coupon_if_invalid=data["drop_coupon_if_invalid"],
                )
            except CouponRejected as exc:
                _add_coupon_hint(exc)
                raise
            body = _render_buyer_request(decided.pk)
            if decided.status == RequestStatus.DECLINED:
                # Committed: the request is declined and the buyer told; the client learns it was not granted.
                return Response(
                    error_body(
                        "request_declined",
                        _("The request can no longer be granted, so it was declined: %(reason)s")
                        % {"reason": decided.decline_reason},
                        {"reason": decided.decline_reason, "request": body},
                    ),
                    status=status.HTTP_409_CONFLICT,
                )
            return Response(body)

        return run_idempotently(request, self.shop, write)


class BuyerRequestDeclineView(BuyerRequestLookupMixin, ShopAPIView):
    @extend_schema(
        operation_id="requests_decline",
        request=s.DeclineRequestInput,
        parameters=[IF_MATCH_HEADER, IDEMPOTENCY_HEADER],
        responses={200: s.BuyerRequestOutput, **WRITE_ERRORS},
        summary="Decline a buyer's request, with a reason the buyer reads",
    )
    def post(self, request, pk):
        buyer_request = self.get_buyer_request(pk)

        def write():
            data = _parse(s.DeclineRequestInput, request.data)
            decided = services.decline_request(
                buyer_request.pk,
                shop=self.shop,
                reason=data["reason"],
                by=self.actor,
                expected_version=expected_version(request, data),
            )
            return Response(_render_buyer_request(decided.pk))

        return run_idempotently(request, self.shop, write)


# --- coupons --------------------------------------------------------------------------------------------


class CouponListView(ShopAPIView):
    @extend_schema(operation_id="coupons_list", responses={200: s.CouponSerializer(many=True), **READ_ERRORS})
    def get(self, request):
        return Response(
            s.CouponSerializer(
                Coupon.objects.filter(shop=self.shop).order_by("-created_at", "-id"), many=True
            ).data
        )

    @extend_schema(
        operation_id="coupons_create",
        request=s.CouponSerializer,
        responses={201: s.CouponSerializer, **WRITE_ERRORS},
    )
    def post(self, request):
        serializer = s.CouponSerializer(data=request.data, context={"shop": self.shop})
        serializer.is_valid(raise_exception=True)
        coupon = serializer.save(shop=self.shop)
        return Response(s.CouponSerializer(coupon).data, status=status.HTTP_201_CREATED)


class CouponDetailView(ShopAPIView):
    def get_coupon(self, pk) -> Coupon:
        return get_object_or_404(Coupon.objects.filter(shop=self.shop), pk=pk)

    @extend_schema(operation_id="coupons_retrieve", responses={200: s.CouponSerializer, **READ_ERRORS})
    def get(self, request, pk):
        return Response(s.CouponSerializer(self.get_coupon(pk)).data)

    @extend_schema(
        operation_id="coupons_update",
        request=s.CouponSerializer,
        responses={200: s.CouponSerializer, **WRITE_ERRORS},
    )
    def patch(self, request, pk):
        coupon = self.get_coupon(pk)
        serializer = s.CouponSerializer(coupon, data=request.data, partial=True, context={"shop": self.shop})
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            Coupon.objects.select_for_update().get(pk=coupon.pk)
            coupon = serializer.save()
        return Response(s.CouponSerializer(coupon).data)

    @extend_schema(
        operation_id="coupons_destroy", responses={204: None, **error_responses(401, 404, 409, 429)}
    )
    def delete(self, request, pk):
        self.get_coupon(pk).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class CouponValidateView(ShopAPIView):
    @extend_schema(
        operation_id="coupons_validate",
        request=s.CouponValidateInput,
        responses={200: s.CouponQuoteOutput, **WRITE_ERRORS},
        summary="Price a cart with a coupon, without using it",
    )
    def post(self, request):
        data = _parse(s.CouponValidateInput, request.data)
        coupon = find_coupon(self.shop, data["code"])
        email = (data.get("email") or "").strip().lower()
        customer = Customer.objects.filter(shop=self.shop, email=email).first() if email else None
        subtotal = sum((line["unit_price"] * line["quantity"] for line in data["lines"]), Decimal("0.00"))
        quote = services.quote_coupon(
            coupon,
            customer=customer,
            subtotal=subtotal,
            quantity=sum(line["quantity"] for line in data["lines"]),
            shipping_price=data["shipping_price"],
        )
        return Response(
            s.CouponQuoteOutput(
                {
                    "code": coupon.code,
                    "valid": True,
                    "subtotal": subtotal,
                    "discount": quote.discount,
                    "shipping_price": data["shipping_price"],
                    "total": subtotal - quote.discount + data["shipping_price"],
                }
            ).data
        )


# --- customers and the events feed ----------------------------------------------------------------------


class CustomerListView(ShopAPIView):
    @extend_schema(
        operation_id="customers_list",
        parameters=[s.CustomerListQuery],
        responses={200: s.CustomerPageOutput, **READ_ERRORS},
    )
    def get(self, request):
        query = _parse(s.CustomerListQuery, query_of(request))
        after = decode_cursor(query["cursor"], kinds=(int,))[0] if query.get("cursor") else None
        rows = selectors.customers_for_shop(
            self.shop, email=query.get("email", ""), after=after, limit=query["limit"]
        )
        more = len(rows) > query["limit"]
        rows = rows[: query["limit"]]
        return Response(
            {
                "results": s.CustomerOutput(rows, many=True).data,
                "next_cursor": encode_cursor(rows[-1].pk) if more else None,
            }
        )


class CustomerDetailView(ShopAPIView):
    @extend_schema(operation_id="customers_retrieve", responses={200: s.CustomerOutput, **READ_ERRORS})
    def get(self, request, pk):
        return Response(
            s.CustomerOutput(get_object_or_404(Customer.objects.filter(shop=self.shop), pk=pk)).data
        )


class EventFeedView(ShopAPIView):
    @extend_schema(
        operation_id="events_list",
        parameters=[s.EventFeedQuery],
        responses={200: s.EventPageOutput, **READ_ERRORS},
        summary="Every order event of the shop, oldest first, after a cursor",
    )
    def get(self, request):
        query = _parse(s.EventFeedQuery, query_of(request))
        after = decode_cursor(query["after"], kinds=(int,), field="after")[0] if query.get("after") else 0
        events = selectors.events_for_shop(self.shop, after=after, limit=query["limit"])
        last = events[-1].pk if events else after
        return Response(
            {"results": s.EventOutput(events, many=True).data, "next_cursor": encode_cursor(last)}
        )
