"""Headers every public tracking page sends: nothing cached on the way, no token leaked, nothing indexed.

``Referrer-Policy: no-referrer`` makes browsers post the pages' own forms with ``Origin: null`` and no
Referer; those forms are checked by ``actions.buyer_csrf_protect`` (the token as always, the origin from
``Sec-Fetch-Site``) instead of the site-wide CSRF middleware.
"""

from functools import wraps


def private_page(view):
    """The page holds one buyer's order (and its URL is a secret token): no shared caches, no Referer
    to the carrier's site or anywhere else, no search engine."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response["Cache-Control"] = "private, no-store"
        response["Referrer-Policy"] = "no-referrer"
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response

    return wrapped
