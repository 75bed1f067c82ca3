"""Dashboard: coupons pages."""

urlpatterns = []
