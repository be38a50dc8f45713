"""The database: `DATABASE_URL` (PostgreSQL in production), SQLite under var/ by default."""

import dj_database_url

from config.env import env_int, env_str
from config.settings.base import VAR_DIR

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
