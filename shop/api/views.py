"""The base of every /api/v1/ view: which shop the request acts for, and the order's version."""

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from orders.models import ActorKind
from orders.services import Actor
from shop.authentication import ApiClient
from shop.models import Shop
from shop.tenancy import shops_for_user

from .errors import ApiError

SHOP_HEADER = "X-Shipshape-Shop"


class ShopAPIView(APIView):
    """An endpoint that acts for one shop: the API key's shop, or for a signed-in seller (the browsable
    API) the shop named by the ``X-Shipshape-Shop`` header or ``?shop=``, or their only shop."""

    permission_classes = [IsAuthenticated]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.shop = self._resolve_shop(request)

    def _resolve_shop(self, request) -> Shop:
        user = request.user
        if isinstance(user, ApiClient):
            return user.shop
        slug = request.headers.get(SHOP_HEADER) or request.query_params.get("shop")
        shops = shops_for_user(user)
        if slug:
            shop = shops.filter(slug=slug).first()
            if shop is None:
                raise NotFound()
            return shop
        candidates = list(shops[:2])
        if len(candidates) != 1:
            raise ValidationError({"shop": [_("Name the shop with the X-Shipshape-Shop header or ?shop=.")]})
        return candidates[0]

    @property
    def actor(self) -> Actor:
        user = self.request.user
        if isinstance(user, ApiClient):
            return Actor(kind=ActorKind.API)
        return Actor.seller(user)


def expected_version(request, data: dict, *, required: bool = False) -> int | None:
    """The order version the client last saw: ``If-Match`` (``"3"`` or ``W/"3"``) or ``version``."""
    header = request.headers.get("If-Match")
    if header is not None:
        value = header.strip().removeprefix("W/").strip('"')
        if not value.isdigit() or len(value) > 9:
            raise ApiError(
                _('If-Match must be the order\'s version, e.g. "3".'), code="invalid_version", http_status=400
            )
        return int(value)
    if data.get("version") is not None:
        return data["version"]
    if required:
        raise ApiError(
            _("Send the order's version (If-Match or a version field) so no change is overwritten."),
            code="version_required",
            http_status=428,
        )
    return None


@extend_schema(exclude=True)
class NotFoundView(APIView):
    """Any path under /api/ that names no endpoint: a 404 in the API's error shape."""

    authentication_classes = []
    permission_classes = []

    def http_method_not_allowed(self, request, *args, **kwargs):
        raise Http404

    def get(self, request, *args, **kwargs):
        raise Http404
