"""Dashboard: shipping_upload pages."""

urlpatterns = []
