"""One module per area of the dashboard; each defines its own ``urlpatterns`` (see dashboard/urls.py)."""
