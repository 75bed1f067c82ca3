"""Public views of the orders app: unsubscribing from non-essential mail."""

from django.core import signing
from django.db import IntegrityError, transaction
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from shop.models import Shop

from .models import Suppression
from .notifications.email import read_unsubscribe_token


@never_cache
@csrf_exempt  # RFC 8058 one-click unsubscribe: mail clients POST without a CSRF token; the link is signed
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    """GET asks for confirmation (link scanners must not unsubscribe anyone); POST unsubscribes."""
    try:
        shop_id, email = read_unsubscribe_token(token)
        shop = Shop.objects.get(pk=shop_id)
    except (signing.BadSignature, Shop.DoesNotExist, KeyError, ValueError):
        return render(request, "orders/unsubscribe.html", {"state": "invalid"}, status=404)
    if request.method == "POST":
        try:
            with transaction.atomic():
                Suppression.objects.get_or_create(shop=shop, email=email)
        except IntegrityError:
            pass  # unsubscribed by a simultaneous request
        return render(request, "orders/unsubscribe.html", {"state": "done", "shop": shop, "email": email})
    return render(request, "orders/unsubscribe.html", {"state": "confirm", "shop": shop, "email": email})
