"""Rate limits per API key (or per signed-in user), counted in the default cache (Redis in production)."""

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from shop.authentication import ApiClient


class ApiKeyRateThrottle(SimpleRateThrottle):
    scope = "api_key"

    def get_rate(self):
        # Read on every request (not at import) so the rate follows the settings.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request, view):
        user = request.user
        if isinstance(user, ApiClient):
            ident = f"key{user.api_key.pk}"
        elif user is not None and user.is_authenticated:
            ident = f"user{user.pk}"
        else:
            ident = f"ip{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class CarrierWebhookThrottle(ApiKeyRateThrottle):
    """Carriers are counted per shop and carrier: the webhook has no key."""

    scope = "carrier_webhook"

    def get_cache_key(self, request, view):
        kwargs = view.kwargs
        ident = f"{kwargs.get('slug')}:{kwargs.get('code')}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
