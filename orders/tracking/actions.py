"""Buyer self-service on the tracking page: requests, messages, returns, feedback."""


def page_context(request, order) -> dict:
    """What the order page needs to show the buyer's actions (merged into the page's context)."""
    return {}


urlpatterns = []
