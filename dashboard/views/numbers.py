"""Dashboard: numbers pages."""

urlpatterns = []
