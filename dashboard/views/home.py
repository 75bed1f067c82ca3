"""Dashboard: home pages."""

urlpatterns = []
