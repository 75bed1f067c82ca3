"""``Authorization: Bearer <key>``: a shop's API key authenticates a request as that shop."""

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from .models import ApiKey, Shop, hash_api_key

# last_used_at is written at most this often per key, so a busy integration does not write on every call.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class ApiClient:
    """The ``request.user`` of a request authenticated by an API key: it acts for exactly one shop."""

    api_key: ApiKey

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    pk = None

    @property
    def shop(self) -> Shop:
        return self.api_key.shop

    def __str__(self) -> str:
        return str(self.api_key)


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Send the key as: Authorization: Bearer <key>."))
        try:
            raw_key = header[1].decode()
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed(_("The API key is not valid.")) from exc
        api_key = (
            ApiKey.objects.active().select_related("shop").filter(key_hash=hash_api_key(raw_key)).first()
        )
        if api_key is None:
            raise exceptions.AuthenticationFailed(_("The API key is not valid or has been revoked."))
        now = timezone.now()
        if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
            api_key.last_used_at = now
        return ApiClient(api_key), api_key

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="api"'


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Tells the OpenAPI schema that API keys are bearer tokens."""

    target_class = "shop.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer <API key>"}
