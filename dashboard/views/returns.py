"""Dashboard: returns pages."""

urlpatterns = []
