"""/dashboard/: every area's URLs, gathered from its module in dashboard/views/."""

from .views import (
    accounts,
    coupons,
    customers,
    home,
    imports,
    numbers,
    order_detail,
    order_lines,
    orders,
    requests,
    returns,
    shipping_upload,
    shop_settings,
)

app_name = "dashboard"

urlpatterns = [
    *accounts.urlpatterns,
    *home.urlpatterns,
    *orders.urlpatterns,
    *order_detail.urlpatterns,
    *order_lines.urlpatterns,
    *shipping_upload.urlpatterns,
    *imports.urlpatterns,
    *returns.urlpatterns,
    *requests.urlpatterns,
    *coupons.urlpatterns,
    *customers.urlpatterns,
    *numbers.urlpatterns,
    *shop_settings.urlpatterns,
]
