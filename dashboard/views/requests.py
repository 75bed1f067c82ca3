"""Dashboard: requests pages."""

urlpatterns = []
