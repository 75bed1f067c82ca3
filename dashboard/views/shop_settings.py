"""Dashboard: shop_settings pages."""

urlpatterns = []
