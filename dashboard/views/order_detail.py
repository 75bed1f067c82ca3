"""Dashboard: order_detail pages."""

urlpatterns = []
