from django.urls import path

from . import views

app_name = "orders"

urlpatterns = [
    path("notifications/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
