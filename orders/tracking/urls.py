"""/track/: the buyer's doors (token, lookup, order history) and their actions."""

from django.urls import path

from . import actions, modification, views

app_name = "tracking"

urlpatterns = [
    path("", views.lookup_page, name="lookup"),
    path("history/", views.history_request, name="history_request"),
    path("history/<str:signed>/", views.history_page, name="history"),
    path("<str:token>/", views.order_page, name="order"),
    *actions.urlpatterns,
    *modification.urlpatterns,
]
