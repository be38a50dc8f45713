"""Coda settings: every value comes from the environment, with embedded defaults for development.

`CODA_ENV=production` switches to production mode, which refuses to start without
`DJANGO_SECRET_KEY` and `DJANGO_ALLOWED_HOSTS` and turns on the secure defaults that
`manage.py check --deploy` asks for.
"""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_json, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("CODA_VAR_DIR", str(BASE_DIR / "var"))).resolve()

CODA_ENV = env_str("CODA_ENV", "development").strip().lower()
if CODA_ENV not in {"development", "production"}:
    raise ImproperlyConfigured(f"CODA_ENV must be 'development' or 'production', got {CODA_ENV!r}")
PRODUCTION = CODA_ENV == "production"

# --- Core -----------------------------------------------------------------------------------
if PRODUCTION:
    SECRET_KEY = env_str("DJANGO_SECRET_KEY")
    if not SECRET_KEY:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when CODA_ENV=production")
    ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must be set when CODA_ENV=production")
    DEBUG = env_bool("DJANGO_DEBUG", False)
    if DEBUG:
        raise ImproperlyConfigured("DJANGO_DEBUG cannot be true when CODA_ENV=production")
else:
    SECRET_KEY = env_str("DJANGO_SECRET_KEY", "dev-insecure-coda-key-only-for-local-development-0123456789")
    ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
    DEBUG = env_bool("DJANGO_DEBUG", True)

CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "config.admin_apps.CodaAdminConfig",  # the admin for curators (config/admin.py)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "core",
    "catalogue",
    "archive",
    "dossier",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # gunicorn serves static files itself (make run and production)
    "core.guard.RequestGuardMiddleware",  # NUL in URL, oversize body: JSON 400/413 before any view
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "catalogue.web.csp.WebCatalogueCSPMiddleware",  # CSP on the web catalogue's pages (not admin, not /api/docs/)
]

ROOT_URLCONF = "config.urls"
# Curators' permissions (admin included) come from catalogue.permissions, the one place for access rules.
# The throttle comes first: once a client or account reaches its sign-in failure limit no password is checked.
AUTHENTICATION_BACKENDS = [
    "core.throttling.SignInThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
    "catalogue.permissions.CuratorBackend",
]
WSGI_APPLICATION = "config.wsgi.application"

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

# --- Database ------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'coda.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DJANGO_CONN_MAX_AGE", 0))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A worker and the web server share the file: WAL lets readers run beside a writer, IMMEDIATE
    # transactions take the write lock up front, and the timeout waits for it instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 30, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
    # Tests use a file too (not shared-cache memory, whose table locks ignore the timeout), so a real
    # worker thread and the test can use the database at once.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-coda.sqlite3")}
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
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT", str(VAR_DIR / "static")))
try:  # whitenoise serves from here (collectstatic fills it) and warns on every start when it is missing
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
except OSError:
    pass
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- Security (production) -----------------------------------------------------------------
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("CODA_LOG_LEVEL", "INFO")},
    "loggers": {"botocore": {"level": "WARNING"}, "urllib3": {"level": "WARNING"}},
}

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["catalogue.permissions.CuratorWriteOrReadOnly"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.CodaCursorPagination",
    "PAGE_SIZE": env_int("CODA_API_PAGE_SIZE", 50),
    "DEFAULT_SCHEMA_CLASS": "core.schema.CodaAutoSchema",  # documents the error answers too
    "EXCEPTION_HANDLER": "core.errors.exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.DepthLimitedJSONParser",  # refuses JSON nested deeper than 32 levels
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # Proxies in front of Coda whose X-Forwarded-For entries are trusted (0: the client is REMOTE_ADDR).
    "NUM_PROXIES": env_int("CODA_NUM_PROXIES", 0),
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
}
# API tokens expire after this many days unless created with an explicit lifetime or as never-expiring;
# 0 makes never-expiring the default (an explicit choice of the deployment).
CODA_TOKEN_TTL_DAYS = env_int("CODA_TOKEN_TTL_DAYS", 90)
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=CODA_TOKEN_TTL_DAYS) if CODA_TOKEN_TTL_DAYS > 0 else None,
    "TOKEN_PREFIX": "coda_",
    "AUTH_HEADER_PREFIX": "Bearer",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Coda API",
    "DESCRIPTION": "Preservation archive and catalogue for retired AI models.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from the installed sidecar package: /api/docs/ works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "SnapshotStateEnum": "archive.models.Snapshot.State",
        "SnapshotFileStateEnum": "archive.models.SnapshotFile.State",
        "IngestJobStateEnum": "archive.models.IngestJob.State",
        "ReplicaStateEnum": "archive.models.Replica.State",
        "FileAccessEnum": "catalogue.models.FileAccess",
    },
}

# --- Celery ---------------------------------------------------------------------------------
# Default broker: kombu's filesystem transport, so `make run` runs a real, separate worker
# process with no broker server. Production uses Redis (redis://...).
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
_broker_dir = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem"):
    (_broker_dir / "processed").mkdir(parents=True, exist_ok=True)
    (_broker_dir / "control").mkdir(parents=True, exist_ok=True)
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        "control_folder": str(_broker_dir / "control"),  # exchange tables: runtime files under var/, not the cwd
    }
    if CELERY_BROKER_URL.startswith("filesystem")
    else {
        # How long Redis waits before redelivering a task nobody acknowledged (a killed worker's). Long work holds
        # a lease kept by heartbeats (archive/assurance/leases.py): a redelivered copy of a task still being worked on steps
        # aside, and killed work is resumed by the work-resume beat within minutes, not by this timeout.
        "visibility_timeout": env_int("CODA_BROKER_VISIBILITY_TIMEOUT", 3600),
    }
)
CELERY_RESULT_BACKEND = None  # job state lives in the database (IngestJob), not in Celery results
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_DEFAULT_QUEUE = "coda"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False


def _beat(name: str, task: str, default_cron: str) -> dict:
    """A beat entry whose crontab comes from CODA_BEAT_<NAME> ('m h dom mon dow'), a number of seconds, or 'disable'."""
    from celery.schedules import crontab

    raw = env_str(f"CODA_BEAT_{name.upper().replace('-', '_')}", default_cron).strip()
    if raw.lower() in ("disable", "disabled", "off", "none"):
        return {}
    if raw.replace(".", "", 1).isdigit():  # a number of seconds: for entries that run more often than a minute
        return {name: {"task": task, "schedule": float(raw)}}
    fields = raw.split()
    if len(fields) != 5:
        raise ImproperlyConfigured(f"CODA_BEAT_{name.upper().replace('-', '_')} must be a 5-field crontab or 'disable'")
    minute, hour, day_of_month, month_of_year, day_of_week = fields
    return {
        name: {
            "task": task,
            "schedule": crontab(minute, hour, day_of_week, day_of_month, month_of_year),
        }
    }


# Every entry is overridable (a crontab) or can be disabled ('disable') from the environment.
CELERY_BEAT_SCHEDULE: dict = {
    **_beat("fixity-audit", "archive.tasks.fixity_audit_due", "0 * * * *"),
    **_beat("preservation-enforce", "archive.tasks.preservation_enforce", "*/30 * * * *"),
    **_beat("leftovers-sweep", "archive.tasks.leftovers_sweep", "15 3 * * *"),
    # Seconds: requeue work whose worker stopped sending heartbeats (archive/assurance/leases.py).
    **_beat("work-resume", "archive.tasks.work_resume", "30"),
}

# --- Coda -----------------------------------------------------------------------------------
CODA_STAGING_ROOTS = [Path(p).resolve() for p in env_list("CODA_STAGING_ROOTS", [str(VAR_DIR / "staging")], sep=":")]
CODA_PART_SIZE = env_int("CODA_PART_SIZE", 8 * 1024 * 1024)
CODA_UPLOAD_CONCURRENCY = env_int("CODA_UPLOAD_CONCURRENCY", 8)
CODA_CHUNK_SIZE = env_int("CODA_CHUNK_SIZE", 1024 * 1024)
CODA_S3_CHECKSUMS = env_str("CODA_S3_CHECKSUMS", "when_supported")  # or when_required
# Per-part integrity on the wire: "crc32" (botocore's default flexible checksum, needs CODA_S3_CHECKSUMS=
# when_supported), "md5" (Content-MD5, validated by every S3 server) or "sha256" (x-amz-checksum-sha256).
CODA_S3_PART_CHECKSUM = env_str("CODA_S3_PART_CHECKSUM", "crc32")
# Where objects larger than one part live. "direct": uploaded once to blobs/uploads/<uuid> and kept there (the
# replica and the location's manifests record the key; proof: per-part MD5 and composite ETag). "sha256": uploaded
# to tmp/ and moved to blobs/sha256/... by a server-side copy (the server copies every byte once more).
CODA_S3_KEY_LAYOUT = env_str("CODA_S3_KEY_LAYOUT", "direct")
if CODA_S3_KEY_LAYOUT not in ("direct", "sha256"):
    raise ImproperlyConfigured(f"CODA_S3_KEY_LAYOUT must be 'direct' or 'sha256', not {CODA_S3_KEY_LAYOUT!r}.")
CODA_S3_MAX_ATTEMPTS = env_int("CODA_S3_MAX_ATTEMPTS", 5)
CODA_S3_SIGN_PAYLOAD = env_bool("CODA_S3_SIGN_PAYLOAD", False)
# Storage outages: how long one S3 request may wait to connect and between bytes of an answer, and the most one
# request may take with its retries (no retry starts after it). A stalled server then fails an operation in about
# CODA_S3_DEADLINE seconds instead of holding a worker. The API answers 503 with Retry-After while storage is down.
CODA_S3_CONNECT_TIMEOUT = env_int("CODA_S3_CONNECT_TIMEOUT", 5)
CODA_S3_READ_TIMEOUT = env_int("CODA_S3_READ_TIMEOUT", 60)
CODA_S3_DEADLINE = env_int("CODA_S3_DEADLINE", 180)
CODA_STORAGE_RETRY_AFTER = env_int("CODA_STORAGE_RETRY_AFTER", 30)
_min_copies = env_str("CODA_MIN_COPIES", "")
CODA_MIN_COPIES = int(_min_copies) if _min_copies.strip() else None  # None: 2 with two or more locations, else 1
CODA_FIXITY_INTERVAL_DAYS = env_int("CODA_FIXITY_INTERVAL_DAYS", 90)
CODA_FIXITY_BATCH_PERIOD_MINUTES = env_int("CODA_FIXITY_BATCH_PERIOD_MINUTES", 60)
CODA_MULTIPART_MAX_AGE_HOURS = env_int("CODA_MULTIPART_MAX_AGE_HOURS", 24)
CODA_ORPHAN_MIN_AGE_HOURS = env_int("CODA_ORPHAN_MIN_AGE_HOURS", 24)
# An approved access request without an explicit expiry lasts this many days (0 = open-ended grants).
CODA_ACCESS_GRANT_DAYS = env_int("CODA_ACCESS_GRANT_DAYS", 365)
# Web processes freeze their long-lived objects out of the garbage collector after warm-up (config/gc_tuning.py).
CODA_GC_FREEZE = env_bool("CODA_GC_FREEZE", True)
CODA_INGEST_STALE_MINUTES = env_int("CODA_INGEST_STALE_MINUTES", 30)
# Leases on long work (archive/assurance/leases.py): the holder beats every CODA_HEARTBEAT_SECONDS; work whose last beat is
# older than CODA_WORK_STALE_SECONDS is taken over (requeued by the work-resume beat, or by a redelivered task).
CODA_HEARTBEAT_SECONDS = float(env_str("CODA_HEARTBEAT_SECONDS", "10"))
CODA_WORK_STALE_SECONDS = float(env_str("CODA_WORK_STALE_SECONDS", "120"))
# Test-only: seconds to sleep before each read of leased work, so fault tests can kill a worker mid-read.
CODA_TEST_READ_DELAY = float(env_str("CODA_TEST_READ_DELAY", "0"))
CODA_ALERT_WEBHOOK_URL = env_str("CODA_ALERT_WEBHOOK_URL", "")
CODA_TASK_MAX_RETRIES = env_int("CODA_TASK_MAX_RETRIES", 3)
CODA_TASK_RETRY_BACKOFF = env_int("CODA_TASK_RETRY_BACKOFF", 5)


def _storage_locations() -> list[dict]:
    explicit = env_json("CODA_STORAGE_LOCATIONS", None)
    if explicit is not None:
        if not isinstance(explicit, list) or not explicit:
            raise ImproperlyConfigured("CODA_STORAGE_LOCATIONS must be a non-empty JSON list")
        return explicit
    if env_str("CODA_S3_BUCKET"):
        return [
            {
                "name": env_str("CODA_S3_LOCATION_NAME", "s3"),
                "kind": "s3",
                "endpoint_url": env_str("CODA_S3_ENDPOINT_URL"),
                "bucket": env_str("CODA_S3_BUCKET"),
                "prefix": env_str("CODA_S3_PREFIX", ""),
                "region": env_str("CODA_S3_REGION", "us-east-1"),
                "access_key_env": "CODA_S3_ACCESS_KEY_ID",
                "secret_key_env": "CODA_S3_SECRET_ACCESS_KEY",
                "primary": True,
            }
        ]
    return [
        {
            "name": "local",
            "kind": "filesystem",
            "root": env_str("CODA_STORAGE_ROOT", str(VAR_DIR / "storage")),
            "primary": True,
        }
    ]


CODA_STORAGE_LOCATIONS = _storage_locations()

# --- Retirement dossier (dossier/) ---------------------------------------------------------
# Several dossier fields are called "status"; name their enums in the OpenAPI schema explicitly.
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(
    {
        "ResponseStatusEnum": "dossier.models.ResponseStatus",
        "WritingStatusEnum": "dossier.models.WritingStatus",
    }
)
# --- end retirement dossier ------------------------------------------------------------------
# --- Interoperability: Hub-compatible API (/hf) and BagIt export ------------------------------
# S3 copies: answer /hf resolve with a 302 to a presigned URL (the client fetches from storage directly);
# false streams through Coda instead (storage not reachable by clients).
CODA_HF_S3_REDIRECT = env_bool("CODA_HF_S3_REDIRECT", True)
CODA_HF_PRESIGN_SECONDS = env_int("CODA_HF_PRESIGN_SECONDS", 15 * 60)
CODA_HF_TREE_PAGE_SIZE = env_int("CODA_HF_TREE_PAGE_SIZE", 1000)  # entries per /tree page (the Hub's own cap)
CODA_BAG_SOURCE_ORGANIZATION = env_str("CODA_BAG_SOURCE_ORGANIZATION", "Coda preservation archive")
# --- end interoperability ---------------------------------------------------------------------
# --- Web catalogue (pages, sign-up, sign-in) ------------------------------------------------
# Self sign-up is on by default; CODA_SELF_SIGNUP=false means curators invite researchers instead.
CODA_SELF_SIGNUP = env_bool("CODA_SELF_SIGNUP", True)
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:account"
LOGOUT_REDIRECT_URL = "web:home"
# Rows per page of the web catalogue's lists and file tables (pages stay well under 100 KB).
CODA_WEB_PAGE_SIZE = env_int("CODA_WEB_PAGE_SIZE", 50)
# --- Doors: throttled sign-in, tokens (core/throttling.py) ---------------------------------
# The counters live in the default cache, which every web process must share: Redis (CODA_CACHE_URL=redis://…)
# in production, else a file cache under var/ (shared by one host's processes, e.g. make run's gunicorn workers).
CODA_CACHE_URL = env_str("CODA_CACHE_URL", "")
if CODA_CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CODA_CACHE_URL,
            "KEY_PREFIX": "coda",
        }
    }
elif CODA_CACHE_URL:
    raise ImproperlyConfigured(f"CODA_CACHE_URL must be a redis:// URL, not {CODA_CACHE_URL!r}")
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }
CODA_AUTH_WINDOW_SECONDS = env_int("CODA_AUTH_WINDOW_SECONDS", 15 * 60)
CODA_AUTH_FAILURES_PER_ADDRESS = env_int("CODA_AUTH_FAILURES_PER_ADDRESS", 10)  # sign-ins and bearer tokens
CODA_AUTH_FAILURES_PER_USER = env_int("CODA_AUTH_FAILURES_PER_USER", 30)  # from any address (slows spread guessing)
CODA_TOKEN_CREATE_LIMIT = env_int("CODA_TOKEN_CREATE_LIMIT", 20)  # tokens per user per window
# --- end doors ------------------------------------------------------------------------------------
