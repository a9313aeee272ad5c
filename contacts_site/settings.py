"""Settings, all read from the environment (and from `.env` for local development)."""

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# Real environment variables win; `.env` only fills the gaps. DJANGO_ENV_FILE="" disables it.
ENV_FILE = env.str("DJANGO_ENV_FILE", default=str(BASE_DIR / ".env"))
if ENV_FILE and Path(ENV_FILE).is_file():
    environ.Env.read_env(ENV_FILE)

DEBUG = env.bool("DJANGO_DEBUG", default=False)

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it to a long random value in production, "
            "or set DJANGO_DEBUG=true for local development."
        )
    SECRET_KEY = "insecure-development-key-never-use-in-production"

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1"] if DEBUG else [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "import_export",
    "rest_framework",
    "rest_framework_api_key",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "axes",
    "django_tasks",
    "django_tasks_db",
    "customers",
    "contacts",
]

MIDDLEWARE = [
    # Outermost: every response, those the others make up included, carries its X-Request-Id.
    "contacts.api.middleware.RequestIdMiddleware",
    # First: the responses other middleware make up (HTTPS redirects, static files, 413s) get its headers.
    "contacts_site.middleware.ResponseHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language of every response: the admin's from the browser, the API's from Accept-Language (no page
    # here sets Django's language cookie, and sessions hold no language), English when neither says.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After the user is known (the import upload's larger limit is for staff only), before any view or
    # process_view reads a body (CsrfViewMiddleware reads every POST's form).
    "contacts_site.middleware.RequestBodyLimitMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a refused login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "contacts_site.urls"
WSGI_APPLICATION = "contacts_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions take the write lock up front, so concurrent writers wait for each
    # other (up to the timeout) instead of failing with "database is locked" on lock upgrade.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"transaction_mode": "IMMEDIATE", "timeout": 20})
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Keep each server process's connection between requests: opening one costs more than most API calls
# (a single PUT took 94 ms at p50 through gunicorn with a new connection per request; bench/README.md).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A second connection to the same database for a background import's progress and heartbeat:
    # written while the import's own transaction is open, and seen by other processes at once.
    # It never waits long for a row lock: a report that would wait is skipped, never the import.
    DATABASES["progress"] = {
        **DATABASES["default"],
        "OPTIONS": {**DATABASES["default"].get("OPTIONS", {}), "options": "-c lock_timeout=2000"},
        "TEST": {"MIRROR": "default"},
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# django-axes refuses a locked-out login before the password is even checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# English unless the request (Accept-Language), the command line (LANGUAGE, --language) or the file's headers
# (the error report) ask for French: contacts/management/language.py, contacts/importing/reports.py.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Europe/Paris")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

# Committed import files. On local disk under MEDIA_ROOT by default (never served by URL: no MEDIA_URL
# route exists); with several app servers, in an S3-compatible bucket that every server reaches. The
# S3 credentials come from the standard AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY variables.
S3_BUCKET = env.str("DJANGO_S3_BUCKET", default="")
if S3_BUCKET:
    FILES_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": env.str("DJANGO_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("DJANGO_S3_REGION", default="") or None,
            "location": env.str("DJANGO_S3_PREFIX", default=""),
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
else:
    FILES_STORAGE = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": FILES_STORAGE,
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_ROOT = Path(env.str("DJANGO_MEDIA_ROOT", default=str(BASE_DIR / "media")))
# Client files hold personal data: readable by the server's user only.
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700

# Production hardening: on unless DEBUG; each can be turned off from the environment (e.g. behind a
# proxy that already redirects to HTTPS).
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=SECURE_HSTS_SECONDS > 0)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
BEHIND_PROXY = env.bool("DJANGO_BEHIND_PROXY", default=False)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# How many proxies in front append to X-Forwarded-For: the client's address is the entry that many places
# from the right (contacts_site.logins.client_ip; DRF's NUM_PROXIES below). Without a proxy the header is
# the client's to write, so it is ignored.
TRUSTED_PROXY_COUNT = env.int("DJANGO_PROXY_COUNT", default=1) if BEHIND_PROXY else 0
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# Content-Security-Policy (django-csp): our own files only; no inline script or style anywhere (the admin's
# templates have none, ours neither, and Swagger UI is served split: contacts_site/urls.py). Swagger UI's
# stylesheet draws its icons from data: URIs, and it fetches the schema and "Try it out" calls itself.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [NONE],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}
# Permissions-Policy (contacts_site.middleware): no page here needs any of these browser features.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "encrypted-media",
        "fullscreen",
        "geolocation",
        "gyroscope",
        "hid",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "picture-in-picture",
        "publickey-credentials-get",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Every line says which request it belongs to (X-Request-Id, echoed to the client).
    "filters": {"request_id": {"()": "contacts.api.middleware.RequestIdLogFilter"}},
    "formatters": {"request": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["request_id"], "formatter": "request"}
    },
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    # django-axes narrates every login at INFO; its failures and lockouts are WARNINGs, and enough.
    "loggers": {"axes": {"level": "WARNING"}},
}

# Request bodies (the REST API's JSON, admin forms) larger than this are refused with 413. Django's
# default, 2.5 MB, holds a bulk call of 1,000 contacts several times over.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DJANGO_DATA_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)

# The cache holds the API's per-key request counts. The default lives in one process: with several
# server processes (gunicorn workers), set CACHE_URL=redis://HOST:6379/1 so they share the counts.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

# REST API (contacts/api): per-organization API keys, JSON only, errors as {"message", "errors"}.
API_THROTTLE_RATE = env.str("API_THROTTLE_RATE", default="600/min")  # per API key
# Requests with a wrong API key allowed per client address; past it, 429 until the window ends.
API_AUTH_FAILURE_RATE = env.str("API_AUTH_FAILURE_RATE", default="60/min")
# How long a POST's Idempotency-Key keeps its response for retries.
IDEMPOTENCY_KEY_HOURS = env.int("API_IDEMPOTENCY_KEY_HOURS", default=24)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["contacts.api.authentication.OrganizationAPIKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["contacts.api.authentication.HasOrganizationAPIKey"],
    "DEFAULT_THROTTLE_CLASSES": ["contacts.api.throttling.APIKeyRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["contacts.api.parsers.LimitedJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "contacts.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # `?format=` is no filter of ours: an unknown parameter like any other (a 400).
    "URL_FORMAT_OVERRIDE": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Contacts API",
    "DESCRIPTION": (
        "Create and update your customers' contacts from your own systems. Authenticate with the "
        "`X-Api-Key: KEY` header (or `Authorization: Api-Key KEY`). Error messages are in English, or in "
        "French with `Accept-Language: fr` (`Content-Language` says which).\n\n"
        "The API is for server-to-server use: it sends no CORS headers, so a web page on another site "
        "cannot call it from a browser (the page would hand your API key to every visitor). "
        "`OPTIONS` answers on every URL without a key: 204 and the methods it takes in `Allow`."
    ),
    "VERSION": "1.0.0",
    "TAGS": [
        {"name": "customers", "description": "Your customers, as the invoicing system has them (read-only)."},
        {"name": "contacts", "description": "Your customers' contacts: read, create, change, delete."},
        {"name": "changes", "description": "Every change to your contacts, to keep a copy of them exact."},
    ],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"PositionEnum": "contacts.models.Contact.Occupation"},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "contacts.api.schema.postprocess",
    ],
    # Swagger UI from our own static files: the docs page loads nothing from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    # No validator badge: it is an image from swagger.io, which the CSP would block anyway.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Spreadsheet import: files larger than this, or with more data rows, are refused before any row is read.
CONTACT_IMPORT_MAX_BYTES = env.int("CONTACT_IMPORT_MAX_BYTES", default=20 * 1024 * 1024)
CONTACT_IMPORT_MAX_ROWS = env.int("CONTACT_IMPORT_MAX_ROWS", default=200_000)
# A header row wider than this many columns refuses the file before any data row is built.
CONTACT_IMPORT_MAX_COLUMNS = env.int("CONTACT_IMPORT_MAX_COLUMNS", default=200)
# Every request body is capped before it is read (contacts_site.middleware): at DATA_UPLOAD_MAX_MEMORY_SIZE,
# except on these routes (URL names), for signed-in staff only. The import upload takes its file plus the
# form's other fields and the multipart framing (well under 1 KB; 64 KB leaves room for a long file name).
REQUEST_BODY_LIMITS = {"admin:contacts_contact_import": CONTACT_IMPORT_MAX_BYTES + 64 * 1024}
# Committed spreadsheet imports allowed per organization per calendar month (in TIME_ZONE); dry runs
# do not count. Staff with contacts.override_import_limit may exceed it with a recorded reason.
CONTACT_IMPORTS_PER_MONTH = env.int("CONTACT_IMPORTS_PER_MONTH", default=1)

# Login throttling (django-axes): a username or an address with LOGIN_FAILURE_LIMIT failed logins, none more
# than LOGIN_LOCKOUT_MINUTES after the one before, is refused for LOGIN_LOCKOUT_MINUTES after its last
# attempt; the admin's login page says when to try again. Failures are counted in the database (axes'
# default handler), so every gunicorn worker sees the same counts whatever CACHE_URL says.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either one reaching the limit locks
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
# A login tried while locked out restarts the lock: guessing on does not shorten it (logins.retry_time).
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = True
AXES_CLIENT_IP_CALLABLE = "contacts_site.logins.client_ip"
AXES_LOCKOUT_CALLABLE = "contacts_site.logins.lockout_response"
# Files with more rows than this (estimated from the bytes) are previewed and committed by a background
# worker (`manage.py import_worker`) while the admin shows their progress; smaller ones at once.
CONTACT_IMPORT_BACKGROUND_ROWS = env.int("CONTACT_IMPORT_BACKGROUND_ROWS", default=5_000)
# A background import whose worker has not reported for this many seconds failed: its worker stopped.
CONTACT_IMPORT_HEARTBEAT_TIMEOUT = env.int("CONTACT_IMPORT_HEARTBEAT_TIMEOUT", default=30)
# An upload nobody previewed or confirmed for this many hours is abandoned and deleted.
CONTACT_IMPORT_PREVIEW_HOURS = env.int("CONTACT_IMPORT_PREVIEW_HOURS", default=2)
# Committed imports' stored files are deleted after this many days; the history keeps counts and messages.
CONTACT_IMPORT_FILE_RETENTION_DAYS = env.int("CONTACT_IMPORT_FILE_RETENTION_DAYS", default=90)

# Background tasks (django-tasks): stored in the database, run by `manage.py import_worker`.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
