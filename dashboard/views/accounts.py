"""Dashboard: accounts pages."""

urlpatterns = []
