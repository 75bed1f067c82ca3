"""CSRF tokens for the forms on an order's page, bound to the order's link instead of a cookie.

On the tracking page the link's token is the buyer's only credential: no cookie or session grants anything.
So a form token derived from it (an HMAC under the site's secret key) is the synchronizer token of that
"session": a page on another site cannot know it without knowing the link, and whoever knows the link can
act without any forgery. The same token serves every view of the page, so a cached page needs no
per-response token and sets no cookie. The origin checks (``Origin``, ``Sec-Fetch-Site``) still apply
(``actions.OrderFormCsrf``).
"""

from django.utils.crypto import constant_time_compare, salted_hmac

FIELD = "csrfmiddlewaretoken"
SALT = "shipshape.tracking.form-token"


def for_order(public_token: str) -> str:
    return salted_hmac(SALT, public_token, algorithm="sha256").hexdigest()


def is_valid(given: str, public_token: str) -> bool:
    return bool(given) and constant_time_compare(given, for_order(public_token))
