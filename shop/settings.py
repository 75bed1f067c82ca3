"""Shipshape settings: everything comes from the environment.

With nothing set the project runs on embedded defaults (SQLite under ``var/``, Celery tasks executed
in-process, mail written to ``var/mail/``). ``DATABASE_URL``, ``REDIS_URL`` and ``EMAIL_URL`` switch to
PostgreSQL, Redis (broker and cache) and real mail. ``DEBUG=false`` is production mode and refuses to
start without ``SECRET_KEY`` and ``ALLOWED_HOSTS``.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=True)

if DEBUG:
    SECRET_KEY = env.str("SECRET_KEY", default="django-insecure-shipshape-development-key-not-for-production")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
else:
    SECRET_KEY = env.str("SECRET_KEY", default="")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
    if not SECRET_KEY or SECRET_KEY.startswith("django-insecure"):
        raise ImproperlyConfigured("SECRET_KEY must be set to a long random value when DEBUG is false.")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS must list the site's host names when DEBUG is false.")

CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "shop",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_htmx",
    "orders",
    "shipping",
    "dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "orders.notifications.outbox.CoalescePublishesMiddleware",
]

if not DEBUG:
    # Static files straight from gunicorn in production (collected into STATIC_ROOT at image build).
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "shop.urls"
WSGI_APPLICATION = "shop.wsgi.application"
ASGI_APPLICATION = "shop.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
                "dashboard.context.dashboard",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------
DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # psycopg 3's connection pool (Django's own integration). DATABASE_POOL=false falls back to
    # one connection per request, e.g. behind PgBouncer.
    if env.bool("DATABASE_POOL", default=True):
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": env.int("DATABASE_POOL_MIN", default=2),
            "max_size": env.int("DATABASE_POOL_MAX", default=20),
            "timeout": env.int("DATABASE_POOL_TIMEOUT", default=10),
        }
    else:
        DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default="test_shipshape")}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "shop.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "dashboard:login"
LOGIN_REDIRECT_URL = "dashboard:home"
LOGOUT_REDIRECT_URL = "dashboard:login"
# Sign-in lockout (dashboard/signin_throttle.py): this many failures lock the account and the client address
# out for this long. Counters live in the cache (Redis in production, shared by every process).
SIGNIN_MAX_FAILURES = env.int("SIGNIN_MAX_FAILURES", default=5)
SIGNIN_LOCKOUT_SECONDS = env.int("SIGNIN_LOCKOUT_SECONDS", default=15 * 60)
# How many proxies of ours stand in front of the app and append to X-Forwarded-For. 0: use REMOTE_ADDR only,
# so a client cannot forge its address; set it to the real count behind a load balancer.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# --- Redis: Celery broker and cache ---------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")

if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# At-least-once delivery with exactly-once effect: a task is acknowledged only after it ran, is
# re-queued when its worker dies, and every task is idempotent (see docs/notifications.md).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Longer than any retry delay (NOTIFICATION_RETRY_MAX_SECONDS), so Redis never re-delivers a waiting retry.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "socket_connect_timeout": 2}
# A request must never hang because the broker is down: publishing gives up quickly and the
# outbox sweep re-queues whatever was not published.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
# Synced into django-celery-beat's tables at start, where admins can see and change it.
CELERY_BEAT_SCHEDULE = {
    "sweep-notification-outbox": {"task": "orders.tasks.sweep_outbox", "schedule": 60.0},
    "flag-late-orders": {"task": "orders.tasks.flag_late_orders", "schedule": 15 * 60.0},
    "report-stalled-shipments": {"task": "orders.tasks.report_stalled_shipments", "schedule": 60 * 60.0},
    "request-feedback": {"task": "orders.tasks.request_feedback", "schedule": 60 * 60.0},
    "expire-unpaid-orders": {"task": "orders.tasks.expire_unpaid_orders", "schedule": 15 * 60.0},
    "purge-idempotency-records": {"task": "shop.tasks.purge_idempotency_records", "schedule": 60 * 60.0},
}

# --- Mail -----------------------------------------------------------------------------------------
EMAIL_URL = env.str("EMAIL_URL", default="")
if EMAIL_URL:
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "mail"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Shipshape <orders@shipshape.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Internationalisation -------------------------------------------------------------------------
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="en")
LANGUAGES = [
    ("en", _("English")),
    ("es", _("Spanish")),
    ("fr", _("French")),
    ("de", _("German")),
    ("pt-br", _("Brazilian Portuguese")),
    ("id", _("Indonesian")),
    ("vi", _("Vietnamese")),
    ("th", _("Thai")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = VAR_DIR / "media"

# --- Security (production) ------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy on every page (Django's own support): scripts only from our origin or with the
# request's nonce, no inline event handlers, no framing. The admin and the API docs live with it too.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],  # style attributes (admin, htmx indicators); never scripts
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    if env.bool("BEHIND_TLS_PROXY", default=True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SILENCED_SYSTEM_CHECKS = env.list("SILENCED_SYSTEM_CHECKS", default=["security.W021"])

# --- REST framework -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # API keys first: a request without credentials then gets a 401 with WWW-Authenticate, not a 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "shop.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["shop.api.throttling.ApiKeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "api_key": env.str("API_RATE_LIMIT", default="1200/minute"),
        "carrier_webhook": env.str("CARRIER_WEBHOOK_RATE_LIMIT", default="600/minute"),
    },
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "EXCEPTION_HANDLER": "shop.api.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Shipshape API",
    "DESCRIPTION": "Orders, shipments, returns, coupons and events of one shop. See docs/api.md.",
    "VERSION": "1.0.0",
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "shop.api.schema.forbid_unknown_fields",
    ],
    # Swagger UI and ReDoc from the drf-spectacular-sidecar package: no CDN needed.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "orders.states.OrderStatus",
        "PaymentStatusEnum": "orders.states.PaymentStatus",
        "ShipmentStatusEnum": "shipping.models.ShipmentStatus",
    },
}

# --- Shipshape ------------------------------------------------------------------------------------
SHIPSHAPE = {
    # After a failed publish, requests stop trying the broker for this long; the sweep re-queues the rows.
    "NOTIFICATION_PUBLISH_PAUSE": env.float("NOTIFICATION_PUBLISH_PAUSE", default=15.0),
    "NOTIFICATION_MAX_ATTEMPTS": env.int("NOTIFICATION_MAX_ATTEMPTS", default=8),
    # Backoff: the n-th retry waits a random time up to base × 2^(n-1), capped; 8 attempts span about 20 min.
    "NOTIFICATION_RETRY_BASE_SECONDS": env.float("NOTIFICATION_RETRY_BASE_SECONDS", default=10.0),
    "NOTIFICATION_RETRY_MAX_SECONDS": env.float("NOTIFICATION_RETRY_MAX_SECONDS", default=1800.0),
    # A queued row this long past due is taken to be lost by the broker and re-queued by the sweep.
    "NOTIFICATION_SWEEP_GRACE_SECONDS": env.int("NOTIFICATION_SWEEP_GRACE_SECONDS", default=60),
    # true: a delivery's "sent" mark is committed without waiting for the disk flush (about 4 ms less per
    # email); a crash of the database server in the following fraction of a second could then send that
    # email a second time. false (the default) keeps "never twice" even then. See docs/notifications.md.
    "NOTIFICATION_ASYNC_COMMIT": env.bool("NOTIFICATION_ASYNC_COMMIT", default=False),
    # A request (or task) that commits many changes publishes their rows in tasks of this many.
    "NOTIFICATION_PUBLISH_BATCH": env.int("NOTIFICATION_PUBLISH_BATCH", default=50),
    # How long the API remembers an Idempotency-Key and its first answer.
    "IDEMPOTENCY_KEY_RETENTION_HOURS": env.int("IDEMPOTENCY_KEY_RETENTION_HOURS", default=24),
    # Order files from TikTok Shop / Shopify (docs/imports.md): the largest upload accepted.
    "IMPORT_MAX_UPLOAD_BYTES": env.int("IMPORT_MAX_UPLOAD_BYTES", default=50 * 1024 * 1024),
}

# --- Buyer tracking pages (/track/, docs/tracking.md) -------------------------------------------------
# Lookups by order number + email/postcode: tries per client address and per order number in a fixed window.
TRACKING_LOOKUP_WINDOW_SECONDS = env.int("TRACKING_LOOKUP_WINDOW_SECONDS", default=15 * 60)
TRACKING_LOOKUP_LIMIT_PER_ADDRESS = env.int("TRACKING_LOOKUP_LIMIT_PER_ADDRESS", default=10)
TRACKING_LOOKUP_LIMIT_PER_ORDER = env.int("TRACKING_LOOKUP_LIMIT_PER_ORDER", default=5)
# "All my orders" link requests: per client address and per email address, in the same window.
TRACKING_HISTORY_LIMIT_PER_ADDRESS = env.int("TRACKING_HISTORY_LIMIT_PER_ADDRESS", default=5)
TRACKING_HISTORY_LIMIT_PER_EMAIL = env.int("TRACKING_HISTORY_LIMIT_PER_EMAIL", default=3)
# How long an emailed order-history link works.
TRACKING_HISTORY_LINK_MAX_AGE = env.int("TRACKING_HISTORY_LINK_MAX_AGE", default=24 * 60 * 60)
# The rendered order page is cached per token and per change stamp; this bounds staleness of shop details.
TRACKING_PAGE_CACHE_SECONDS = env.int("TRACKING_PAGE_CACHE_SECONDS", default=5 * 60)
# The order page's per-view query runs as a prepared statement; false behind PgBouncer's transaction pooling.
TRACKING_PREPARED_STATEMENTS = env.bool("TRACKING_PREPARED_STATEMENTS", default=True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
