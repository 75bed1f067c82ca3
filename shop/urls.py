from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from . import views

admin.site.site_header = _("Shipshape administration")
admin.site.site_title = _("Shipshape")
admin.site.index_title = _("Shops, orders and shipping")

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("dashboard/", include("dashboard.urls")),
    path("track/", include("orders.tracking.urls")),
    path("api/", include("shop.api.urls")),
    path("", include("orders.urls")),
]
