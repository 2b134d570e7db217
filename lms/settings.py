"""Settings for the LMS service, read from the environment (twelve-factor).

Development (the default) runs on an embedded SQLite file with a generated secret kept
in `.secret_key`. Production is `LMS_ENV=production`: it requires SECRET_KEY and turns on
every transport-security setting that `manage.py check --deploy` looks for.
"""

import secrets
import uuid
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

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
    "courses",
    "enrollment",
    "tracking",
    "viewer",
]

MIDDLEWARE = [
    "lms.api.middleware.RequestIdMiddleware",
    # Outside the body limit, so a 413 still carries the CORS headers a browser needs to read it.
    "corsheaders.middleware.CorsMiddleware",
    "lms.api.middleware.BodySizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
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
    # A database that does not answer must fail fast, so /health can say 503 while the LB still waits.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
    # Server-side parameters let psycopg prepare a statement a connection runs repeatedly (after
    # five runs), so the hot paths skip PostgreSQL's parse and plan on persistent connections.
    DATABASES["default"]["OPTIONS"].setdefault("server_side_binding", env.bool("DB_SERVER_SIDE_BINDING", default=True))

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
# The embedded default serves uploads itself; production points STORAGES at S3 or similar.
LMS_SERVE_MEDIA = env.bool("LMS_SERVE_MEDIA", default=True)
STORAGES = {
    "default": {"BACKEND": env.str("MEDIA_STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage")},
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
    "tenantid",
    "x-request-id",
    "x-requested-with",
]
CORS_EXPOSE_HEADERS = ["X-Request-Id", "X-Total-Count", "Retry-After"]
CORS_ALLOW_CREDENTIALS = False
# Plain Django views (catch-all, health, media) are CSRF-exempt; DRF checks CSRF itself for
# session-authenticated calls. What is left (the admin) fails through this view.
CSRF_FAILURE_VIEW = "lms.urls.csrf_failure"

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="lms@localhost")
# Learners are identified by UUID from the IdP; reminder mails go to the learner directory's
# address (DECISIONS §10), and to this template's for learners it has none for.
LMS_LEARNER_EMAIL_TEMPLATE = env.str("LMS_LEARNER_EMAIL_TEMPLATE", default="{user_id}@learners.invalid")

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
