"""/api/: v1 endpoints, the OpenAPI schema and its docs. Anything else under /api/ is a JSON 404."""

from django.urls import include, path, re_path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from orders.api import views as orders
from shipping import api as shipping

from .views import NotFoundView


class IdConverter:
    """A database id: digits that fit a bigint, so a huge number is a 404 and never a database error."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(value)


class OrderNumberConverter:
    regex = "[A-Za-z0-9][A-Za-z0-9-]{0,31}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value) -> str:
        return str(value)


register_converter(IdConverter, "id")
register_converter(OrderNumberConverter, "number")

v1 = [
    path("orders/", orders.OrderListView.as_view(), name="order-list"),
    path("orders/<number:number>/", orders.OrderDetailView.as_view(), name="order-detail"),
    path("orders/<number:number>/process/", orders.OrderProcessView.as_view(), name="order-process"),
    path("orders/<number:number>/ship/", orders.OrderShipView.as_view(), name="order-ship"),
    path("orders/<number:number>/deliver/", orders.OrderDeliverView.as_view(), name="order-deliver"),
    path("orders/<number:number>/cancel/", orders.OrderCancelView.as_view(), name="order-cancel"),
    path("orders/<number:number>/returns/", orders.OrderReturnsView.as_view(), name="order-returns"),
    path("orders/<number:number>/lines/", orders.OrderLinesView.as_view(), name="order-lines"),
    path("requests/", orders.BuyerRequestListView.as_view(), name="request-list"),
    path("requests/<id:pk>/", orders.BuyerRequestDetailView.as_view(), name="request-detail"),
    path("requests/<id:pk>/approve/", orders.BuyerRequestApproveView.as_view(), name="request-approve"),
    path("requests/<id:pk>/decline/", orders.BuyerRequestDeclineView.as_view(), name="request-decline"),
    path("returns/<id:pk>/", orders.ReturnDetailView.as_view(), name="return-detail"),
    path("returns/<id:pk>/approve/", orders.ReturnApproveView.as_view(), name="return-approve"),
    path("returns/<id:pk>/reject/", orders.ReturnRejectView.as_view(), name="return-reject"),
    path("returns/<id:pk>/receive/", orders.ReturnReceiveView.as_view(), name="return-receive"),
    path("returns/<id:pk>/refund/", orders.ReturnRefundView.as_view(), name="return-refund"),
    path("coupons/", orders.CouponListView.as_view(), name="coupon-list"),
    path("coupons/validate/", orders.CouponValidateView.as_view(), name="coupon-validate"),
    path("coupons/<id:pk>/", orders.CouponDetailView.as_view(), name="coupon-detail"),
    path("customers/", orders.CustomerListView.as_view(), name="customer-list"),
    path("customers/<id:pk>/", orders.CustomerDetailView.as_view(), name="customer-detail"),
    path("events/", orders.EventFeedView.as_view(), name="event-list"),
    path("shipments/", shipping.ShipmentListView.as_view(), name="shipment-list"),
    path("shipments/<id:pk>/", shipping.ShipmentDetailView.as_view(), name="shipment-detail"),
    path("shipments/<id:pk>/deliver/", shipping.ShipmentDeliverView.as_view(), name="shipment-deliver"),
    path("carriers/", shipping.CarrierListView.as_view(), name="carrier-list"),
    path("imports/", include("orders.imports.api")),
    path("carriers/detect/", shipping.CarrierDetectView.as_view(), name="carrier-detect"),
    path(
        "shops/<slug:slug>/carriers/<slug:code>/events/",
        shipping.CarrierWebhookView.as_view(),
        name="carrier-webhook",
    ),
]

app_name = "api"
urlpatterns = [
    path("v1/", include(v1)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    re_path(r"^[\s\S]*$", NotFoundView.as_view(), name="not-found"),  # [\s\S]: paths with newlines too
]
