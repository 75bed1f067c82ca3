"""Bench-only URLconf (bench/tracking_settings.py selects it): the product's URLs plus a bare view.

The bare view returns a fixed string through the same middleware: the yardstick the tracking page is held
to (issue 6: at least 70 % of its requests per second). It never exists in the product's URLs.
"""

from django.http import HttpResponse
from django.urls import path

from shop.urls import urlpatterns as product_urlpatterns


def bare(request):
    return HttpResponse("OK", content_type="text/plain")


urlpatterns = [path("bench/bare/", bare), *product_urlpatterns]
