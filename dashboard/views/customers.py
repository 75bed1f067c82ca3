"""Dashboard: customers pages."""

urlpatterns = []
