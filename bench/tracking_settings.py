"""Settings for bench/tracking_page.py's server: the product's, with the bench URLconf.

Static files are not part of the measurement (wrk fetches the HTML only), so they are named without the
manifest and no collectstatic is needed.
"""

from shop.settings import *  # noqa: F403

ROOT_URLCONF = "bench.tracking_urls"
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
