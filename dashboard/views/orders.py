"""Dashboard: orders pages."""

urlpatterns = []
