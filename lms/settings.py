"""Settings for the LMS service, read from the environment (twelve-factor).

Development (the default) runs on an embedded SQLite file with a generated secret kept
in `.secret_key`. Production is `LMS_ENV=production`: it requires SECRET_KEY and turns on
every transport-security setting that `manage.py check --deploy` looks for.
"""

import os
import secrets
import uuid
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from lms.media import FILESYSTEM, media_storage
from lms.rates import parse_rate

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    # Real environment variables win over the file.
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

LMS_ENV = env.str("LMS_ENV", default="development")
if LMS_ENV not in ("development", "production"):
    raise ImproperlyConfigured(f"LMS_ENV must be `development` or `production`, not {LMS_ENV!r}.")
PRODUCTION = LMS_ENV == "production"
DEBUG = env.bool("DEBUG", default=False)


def _required_in_production(name: str, hint: str) -> str:
    value = env.str(name, default="")
    if not value:
        raise ImproperlyConfigured(f"{name} must be set when LMS_ENV=production: {hint}")
    return value


def _development_secret_key() -> str:
    # Generated once and kept, so sessions survive restarts of `make run`.
    key_file = BASE_DIR / ".secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    key = secrets.token_urlsafe(50)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


if PRODUCTION:
    SECRET_KEY = _required_in_production(
        "SECRET_KEY", "generate one with `python -c 'import secrets; print(secrets.token_urlsafe(50))'`."
    )
    _required_in_production("ALLOWED_HOSTS", "a comma-separated list of the host names the service answers to.")
else:
    SECRET_KEY = env.str("SECRET_KEY", default="") or _development_secret_key()

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
PORT = env.int("PORT", default=8000)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    # Swagger UI and Redoc assets served by the service itself: /api/docs/ works offline (DECISIONS §8).
    "drf_spectacular_sidecar",
    "corsheaders",
    "lms",
    "lms.events",
    "courses",
    "enrollment",
    "tracking",
    "viewer",
]

MIDDLEWARE = [
    "lms.api.middleware.RequestIdMiddleware",
    # Outside the body limit, so a 413 still carries the CORS headers a browser needs to read it.
    # django-cors-headers' CorsMiddleware, without parsing every header of requests with no Origin.
    "lms.api.middleware.CorsMiddleware",
    "lms.api.middleware.BodySizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.common.CommonMiddleware",
    # The admin and staff browser sessions need what lies between these two markers; a
    # bearer-token API request skips it (issue 15; lms.api.middleware says why that is safe).
    "lms.api.middleware.BrowserOnlySectionStart",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "lms.api.middleware.BrowserOnlySectionEnd",
    # A header only, and cheap: every answer keeps it, whoever asked.
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "lms.api.middleware.JsonErrorMiddleware",
]

ROOT_URLCONF = "lms.urls"
APPEND_SLASH = False

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

WSGI_APPLICATION = "lms.wsgi.application"

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let gunicorn's threads share the embedded database.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
    DATABASES["default"]["CONN_MAX_AGE"] = 0
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3" and "TEST" not in DATABASES["default"]:
    DATABASES["default"]["TEST"] = {"NAME": ""}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend with a connection check that polls the socket instead of sending `SELECT 1`
    # before each request's first query (lms/db/backends/postgresql/base.py); CONN_HEALTH_CHECKS
    # stays on so that Django still asks it once per request.
    DATABASES["default"]["ENGINE"] = "lms.db.backends.postgresql"
    # A database that does not answer must fail fast, so /health can say 503 while the LB still waits.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
    # Server-side parameters let psycopg prepare a statement a connection runs repeatedly (after
    # DB_PREPARE_THRESHOLD runs, 5 by default), so the hot paths skip PostgreSQL's parse and plan on
    # persistent connections: planning was 0.4 ms of view/update and 1.1 ms of the home screen's
    # progress read (issue 15). Django turns psycopg's preparing off unless `prepare_threshold` is set.
    DATABASES["default"]["OPTIONS"].setdefault("server_side_binding", env.bool("DB_SERVER_SIDE_BINDING", default=True))
    _prepare_threshold = env.str("DB_PREPARE_THRESHOLD", default="5").strip()
    DATABASES["default"]["OPTIONS"].setdefault("prepare_threshold", int(_prepare_threshold) if _prepare_threshold else None)
    # Behind a pooler in transaction mode (PgBouncer, docs/scaling.md) a named cursor outside a
    # transaction would outlive the server connection it was opened on: DB_TRANSACTION_POOLER=true
    # turns them off, and with them psycopg's prepared statements unless the pooler keeps those
    # (PgBouncer >= 1.21 with max_prepared_statements: DB_SERVER_SIDE_BINDING=true is then safe).
    if env.bool("DB_TRANSACTION_POOLER", default=False):
        DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
        DATABASES["default"]["OPTIONS"]["server_side_binding"] = env.bool("DB_SERVER_SIDE_BINDING", default=False)
        if not DATABASES["default"]["OPTIONS"]["server_side_binding"]:
            DATABASES["default"]["OPTIONS"]["prepare_threshold"] = None

# Holds only immutable entries (e.g. rendered course trees keyed by content version), so a
# per-process cache is correct; CACHE_URL=redis://... shares it between processes.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://lms-default")}
# Rate-limit counters (lms.api.throttling) live apart from the rendered trees: in a per-process
# cache, thousands of per-user counters would otherwise evict the trees. With CACHE_URL=redis://...
# both aliases point at the same server, so the counters are shared by every process.
CACHES["throttle"] = env.cache("CACHE_URL", default="locmemcache://lms-throttle")
_LOCAL_CACHE = "django.core.cache.backends.locmem.LocMemCache"
if CACHES["default"]["BACKEND"] == _LOCAL_CACHE:
    # Only the local-memory backend understands MAX_ENTRIES; Redis would get it as a connection argument.
    CACHES["default"].setdefault("OPTIONS", {}).setdefault("MAX_ENTRIES", 500)
if CACHES["throttle"]["BACKEND"] == _LOCAL_CACHE:
    CACHES["throttle"].setdefault("OPTIONS", {}).setdefault("MAX_ENTRIES", 20_000)
    # The same local-memory cache, minus a memcached key check on each counter (lms.api.throttling).
    CACHES["throttle"]["BACKEND"] = "lms.api.throttling.LocalCounterCache"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
if not PRODUCTION:
    # The admin's assets load even before (or without) `collectstatic`, e.g. in tests.
    WHITENOISE_USE_FINDERS = True
    WHITENOISE_AUTOREFRESH = DEBUG or not STATIC_ROOT.is_dir()
MEDIA_URL = env.str("MEDIA_URL", default="/media/")
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))
# The embedded default keeps uploads on local disk and serves them itself; LMS_MEDIA_STORAGE=s3
# puts them in a bucket that every app instance shares (lms/media.py, docs/scaling.md).
_MEDIA_STORAGE = media_storage(os.environ)
LMS_SERVE_MEDIA = env.bool("LMS_SERVE_MEDIA", default=_MEDIA_STORAGE == FILESYSTEM)
STORAGES = {
    "default": _MEDIA_STORAGE,
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Request size limits: JSON bodies are small; uploads are capped per image elsewhere.
LMS_MAX_BODY_BYTES = env.int("LMS_MAX_BODY_BYTES", default=12 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000

# Identity and tenancy (DECISIONS §2, §8).
# Known to everyone who reads this repository, so it may sign tokens only on a developer's
# machine: never in production, and never beside an RS256 key (a deployment that verifies its
# identity provider's tokens must not also accept anyone's hand-made admin token).
LMS_DEVELOPMENT_JWT_SECRET = "dev-insecure-jwt-secret-change-me-0123456789"
LMS_JWT_PUBLIC_KEY = env.str("LMS_JWT_PUBLIC_KEY", default="", multiline=True)
LMS_JWT_PRIVATE_KEY = env.str("LMS_JWT_PRIVATE_KEY", default="", multiline=True)
_DEVELOPMENT_SECRET_ALLOWED = not PRODUCTION and not (LMS_JWT_PUBLIC_KEY or LMS_JWT_PRIVATE_KEY)
LMS_JWT_SECRET = env.str(
    "LMS_JWT_SECRET", default=LMS_DEVELOPMENT_JWT_SECRET if _DEVELOPMENT_SECRET_ALLOWED else ""
)
if LMS_JWT_SECRET == LMS_DEVELOPMENT_JWT_SECRET and not _DEVELOPMENT_SECRET_ALLOWED:
    raise ImproperlyConfigured(
        "LMS_JWT_SECRET is the built-in development secret, which is refused when LMS_ENV=production "
        "or an RS256 key (LMS_JWT_PUBLIC_KEY / LMS_JWT_PRIVATE_KEY) is set; generate a random one of 32+ characters or leave it unset."
    )
LMS_JWT_LEEWAY_SECONDS = env.int("LMS_JWT_LEEWAY_SECONDS", default=30)
# Checked only when set: identity providers stamp them, hand-minted tokens usually do not.
LMS_JWT_AUDIENCE = env.str("LMS_JWT_AUDIENCE", default="")
LMS_JWT_ISSUER = env.str("LMS_JWT_ISSUER", default="")
if PRODUCTION and not (LMS_JWT_SECRET or LMS_JWT_PUBLIC_KEY or LMS_JWT_PRIVATE_KEY):
    raise ImproperlyConfigured(
        "LMS_JWT_SECRET (HS256) or LMS_JWT_PUBLIC_KEY (RS256, PEM) must be set when LMS_ENV=production; "
        "without one no API token can be verified."
    )
if PRODUCTION and LMS_JWT_SECRET and len(LMS_JWT_SECRET) < 32:
    raise ImproperlyConfigured("LMS_JWT_SECRET must be at least 32 characters long (RFC 7518 §3.2).")
LMS_DEFAULT_TENANT = env.str("LMS_DEFAULT_TENANT", default="").strip()
if LMS_DEFAULT_TENANT:
    try:
        LMS_DEFAULT_TENANT = str(uuid.UUID(LMS_DEFAULT_TENANT))
    except ValueError:
        raise ImproperlyConfigured(f"LMS_DEFAULT_TENANT must be a UUID, not {LMS_DEFAULT_TENANT!r}.") from None
# Production trusts only the identity provider's view of tenants: every token must name its
# tenant, and a tenant the operators have not created is refused rather than provisioned.
LMS_AUTO_PROVISION_TENANTS = env.bool("LMS_AUTO_PROVISION_TENANTS", default=not PRODUCTION)
LMS_REQUIRE_TENANT_CLAIM = env.bool("LMS_REQUIRE_TENANT_CLAIM", default=PRODUCTION)
# Benchmark floor endpoints exist only when this is on (bench/ harness).
LMS_BENCH_ENDPOINTS = env.bool("LMS_BENCH_ENDPOINTS", default=False)
if LMS_BENCH_ENDPOINTS:
    INSTALLED_APPS.append("bench.floor")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "lms.api.authentication.JWTAuthentication",
        "lms.api.authentication.StaffSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["lms.api.permissions.IsAuthenticatedPrincipal"],
    "DEFAULT_RENDERER_CLASSES": ["lms.api.envelope.EnvelopeJSONRenderer"],
    # Answers the common Accept values without parsing them (issue 15).
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "lms.api.negotiation.FastContentNegotiation",
    "DEFAULT_PARSER_CLASSES": [
        "lms.api.parsers.JSONObjectParser",
        "lms.api.parsers.StrictMultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": None,
    "EXCEPTION_HANDLER": "lms.api.envelope.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["lms.api.throttling.UserAndTenantThrottle"],
    "DEFAULT_SCHEMA_CLASS": "lms.api.schema.EnvelopeAutoSchema",
    "UNAUTHENTICATED_USER": None,
    "DATETIME_FORMAT": "iso-8601",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # Viewsets have per-action serializers; OPTIONS answers 405 in the envelope instead of guessing.
    "DEFAULT_METADATA_CLASS": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "LMS service API",
    "DESCRIPTION": (
        "Courses, modules, lessons, enrollments, lesson and course tracking (LMS envelope), "
        "and the viewer API under /v1 (viewer envelope). Every request names its tenant in the "
        "`tenantid` header and authenticates with a Bearer JWT."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    # Security schemes (bearerAuth, staffSession) come from lms.api.schema's extensions.
    "GET_LIB_DOC_EXCLUDES": "lms.api.schema.lib_doc_excludes",
    # Several apps have a `status` field with different choices; name each set explicitly so
    # the schema's enum names are stable and readable (a path that stops importing only warns).
    "ENUM_NAME_OVERRIDES": {
        "ContentStatusEnum": "courses.models.ContentStatus",
        "WritableContentStatusEnum": "courses.models.LIVE_STATUS_CHOICES",
        "CourseTrackStatusEnum": "tracking.models.CourseTrackStatus",
        "AttemptStatusEnum": "tracking.models.AttemptStatus",
        # The two envelopes (lms.api.schema).
        "LmsVersionEnum": ["1.0"],
        "ViewerVersionEnum": ["v1"],
        "LmsOutcomeEnum": ["successful", "failed"],
        "ViewerOutcomeEnum": ["success", "failed"],
        "ViewerResponseCodeEnum": ["OK", "CLIENT_ERROR", "UNAUTHORIZED", "RESOURCE_NOT_FOUND", "SERVER_ERROR"],
    },
    "DISABLE_ERRORS_AND_WARNINGS": True,
    # The default hook (named enums), then multipart bodies' own components (lms.api.schema).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "lms.api.schema.multipart_empty_clears_nullable",
    ],
    # Assets from drf-spectacular-sidecar through the static files (whitenoise), never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Rate limits (DECISIONS §8), as DRF rate strings ("<count>/<s|min|hour|day>"), or "off".
# Far above any normal client and above what the benchmark sends: the bench's single tenant
# reaches ~80,000 requests a minute on 2 CPUs, its busiest user a few thousand.
LMS_THROTTLE_USER = env.str("LMS_THROTTLE_USER", default="12000/min")
LMS_THROTTLE_TENANT = env.str("LMS_THROTTLE_TENANT", default="600000/min")
parse_rate(LMS_THROTTLE_USER), parse_rate(LMS_THROTTLE_TENANT)  # a malformed rate stops the start-up
# Per client address on the public endpoints that take no token (certificate verification).
LMS_THROTTLE_PUBLIC = env.str("LMS_THROTTLE_PUBLIC", default="120/min")
parse_rate(LMS_THROTTLE_PUBLIC)

# Browsers on other origins (DECISIONS §8). Bearer tokens, not cookies, so no credentials.
if "LMS_CORS_ALLOWED_ORIGINS" in env:
    CORS_ALLOWED_ORIGINS = env.list("LMS_CORS_ALLOWED_ORIGINS")
    CORS_ALLOWED_ORIGIN_REGEXES = []
else:
    CORS_ALLOWED_ORIGINS = []
    # A front end under development on any local port; production allows no origin until told.
    CORS_ALLOWED_ORIGIN_REGEXES = [] if PRODUCTION else [r"^http://localhost(:\d+)?$", r"^http://127\.0\.0\.1(:\d+)?$"]
CORS_URLS_REGEX = r"^/(?!admin/).*$"
CORS_ALLOW_HEADERS = [
    "accept",
    "authorization",
    "content-type",
    # Players revalidate the course trees they hold (GET /courses/:id answers 304 to a matching ETag).
    "if-none-match",
    "tenantid",
    "x-request-id",
    "x-requested-with",
]
CORS_EXPOSE_HEADERS = ["X-Request-Id", "X-Total-Count", "Retry-After", "ETag"]
CORS_ALLOW_CREDENTIALS = False
# Plain Django views (catch-all, health, media) are CSRF-exempt; DRF checks CSRF itself for
# session-authenticated calls. What is left (the admin) fails through this view.
CSRF_FAILURE_VIEW = "lms.urls.csrf_failure"

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="lms@localhost")
# Learners are identified by UUID from the IdP; reminder mails go to the learner directory's
# address (DECISIONS §10), and to this template's for learners it has none for.
LMS_LEARNER_EMAIL_TEMPLATE = env.str("LMS_LEARNER_EMAIL_TEMPLATE", default="{user_id}@learners.invalid")

# Background work on Celery (DECISIONS §9; docs/events.md). Redis in production
# (CELERY_BROKER_URL=redis://...). Without it, the embedded default: the queue is a folder that
# the worker `make run` starts beside gunicorn reads (kombu's filesystem transport), so webhooks
# and jobs still run within seconds with nothing but Python.
LMS_CELERY_DIR = Path(env.str("LMS_CELERY_DIR", default=str(BASE_DIR / ".celery")))
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or "filesystem://"
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = LMS_CELERY_DIR / "queue"
    _queue_dir.mkdir(parents=True, exist_ok=True)
    # The exchange-to-queue bindings too: kombu's default `control_folder` is "control" in the
    # working directory, which put a stray control/ folder in the checkout.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir), "data_folder_out": str(_queue_dir),
        "control_folder": str(LMS_CELERY_DIR / "control"), "polling_interval": 0.5,
    }
else:
    # A broker that does not answer fails the publish at once (the request goes on; a sweep
    # picks the work up); messages a dead worker held come back after the visibility timeout.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_connect_timeout": 2, "socket_timeout": 5,
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    }
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_PUBLISH_RETRY = False
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
# Every task here claims its work in the database and is safe to repeat, so a message is
# acknowledged only after the task ran, and one whose worker died goes back to the queue.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_TIMEZONE = "UTC"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_DEFAULT_QUEUE = "lms"
CELERY_TASK_QUEUES = (Queue("lms", routing_key="lms"), Queue("webhooks", routing_key="webhooks"))
# Webhook sends wait on other people's servers: their own queue keeps the jobs moving.
CELERY_TASK_ROUTES = {"lms.events.deliver": {"queue": "webhooks"}}
# Beat remembers when it last ran each entry; the embedded default keeps that beside its queue.
CELERY_BEAT_SCHEDULE_FILENAME = env.str(
    "CELERY_BEAT_SCHEDULE_FILENAME",
    default=str(LMS_CELERY_DIR / "beat-schedule") if CELERY_BROKER_URL.startswith("filesystem://") else "celerybeat-schedule",
)
LMS_EVENTS_SWEEP_SECONDS = env.float("LMS_EVENTS_SWEEP_SECONDS", default=15.0)
# A relay kick covers every commit of its process in this window after it (lms.celery._Publisher):
# one publish costs about 1 ms of the process's CPU, so one per completion weighed on the requests.
LMS_TASK_KICK_GATHER_SECONDS = env.float("LMS_TASK_KICK_GATHER_SECONDS", default=0.1)
LMS_EVENTS_RETENTION_DAYS = env.int("LMS_EVENTS_RETENTION_DAYS", default=30)
LMS_JOBS_SWEEP_SECONDS = env.float("LMS_JOBS_SWEEP_SECONDS", default=60.0)
LMS_EXPIRY_REMINDERS_HOUR = env.int("LMS_EXPIRY_REMINDERS_HOUR", default=6)
CELERY_BEAT_SCHEDULE = {
    "events-sweep": {"task": "lms.events.sweep", "schedule": LMS_EVENTS_SWEEP_SECONDS},
    "events-prune": {"task": "lms.events.prune", "schedule": crontab(hour=3, minute=30)},
    "program-enrolment": {"task": "viewer.program_enrolment_run", "schedule": LMS_JOBS_SWEEP_SECONDS},
    "expiry-reminders": {
        "task": "enrollment.send_expiry_reminders", "schedule": crontab(hour=LMS_EXPIRY_REMINDERS_HOUR, minute=0),
    },
}
# Webhooks (DECISIONS §9).
LMS_WEBHOOK_ALLOW_PRIVATE = env.bool("LMS_WEBHOOK_ALLOW_PRIVATE", default=not PRODUCTION)
LMS_WEBHOOK_TIMEOUT_SECONDS = env.float("LMS_WEBHOOK_TIMEOUT_SECONDS", default=10.0)
# How long a worker holds a delivery it is sending; past it, the sweep gives it to another worker.
LMS_WEBHOOK_LEASE_SECONDS = env.float("LMS_WEBHOOK_LEASE_SECONDS", default=60.0)
# Waits after each failed attempt (seconds, ±20% jitter): 8 attempts over about 27 hours.
LMS_WEBHOOK_RETRY_SCHEDULE = env.list("LMS_WEBHOOK_RETRY_SCHEDULE", default=["5", "300", "1800", "7200", "18000", "36000", "36000"])
LMS_WEBHOOK_COUNTDOWN_MAX_SECONDS = env.float("LMS_WEBHOOK_COUNTDOWN_MAX_SECONDS", default=600.0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "lms.logcontext.RequestIdLogFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(resmsgid)s",
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^health$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"

# Text-search configuration of `GET /courses/search` on PostgreSQL (DECISIONS §11): a
# PostgreSQL regconfig name ('english', 'simple', 'german', ...). The GIN index is built with it
# (courses migration 0004), so change it together with a rebuild of that index.
LMS_SEARCH_LANGUAGE = env.str("LMS_SEARCH_LANGUAGE", default="english")
