"""Who gets in: access grants, sign-up and sign-in, the web catalogue's pages, and the throttled doors (core/throttling.py)."""

from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_str
from config.settings.base import VAR_DIR

# An approved access request without an explicit expiry lasts this many days (0 = open-ended grants).
CODA_ACCESS_GRANT_DAYS = env_int("CODA_ACCESS_GRANT_DAYS", 365)

# Self sign-up is on by default; CODA_SELF_SIGNUP=false means curators invite researchers instead.
CODA_SELF_SIGNUP = env_bool("CODA_SELF_SIGNUP", True)
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:account"
LOGOUT_REDIRECT_URL = "web:home"
# Rows per page of the web catalogue's lists and file tables (pages stay well under 100 KB).
CODA_WEB_PAGE_SIZE = env_int("CODA_WEB_PAGE_SIZE", 50)

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

# Two-person rule (docs/approvals.md): dangerous changes (granting file access, lowering an access level, deleting
# bytes in a withdrawal, rotating the sealing key) wait for a second curator's approval: on restricted models
# (`restricted`, the default), on every model (`all`), or never (`off`). Proposals expire after the TTL.
CODA_TWO_PERSON_RULE = env_str("CODA_TWO_PERSON_RULE", "restricted").strip().lower()
if CODA_TWO_PERSON_RULE not in ("off", "restricted", "all"):
    raise ImproperlyConfigured(f"CODA_TWO_PERSON_RULE must be off, restricted or all, not {CODA_TWO_PERSON_RULE!r}")
CODA_APPROVAL_TTL_HOURS = env_int("CODA_APPROVAL_TTL_HOURS", 72)
if CODA_APPROVAL_TTL_HOURS < 1:
    raise ImproperlyConfigured("CODA_APPROVAL_TTL_HOURS must be at least 1")
