"""/track/: the buyer's doors (token, lookup, order history) and their actions."""

from . import actions

app_name = "tracking"

urlpatterns = [
    *actions.urlpatterns,
]
