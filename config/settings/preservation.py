"""Preservation assurance: how many copies, how often every copy is re-read, leftovers, leases on long work, retries and alerts."""

from config.env import env_bool, env_int, env_str
from config.settings.base import VAR_DIR

_min_copies = env_str("CODA_MIN_COPIES", "")
CODA_MIN_COPIES = int(_min_copies) if _min_copies.strip() else None  # None: 2 with two or more locations, else 1
CODA_FIXITY_INTERVAL_DAYS = env_int("CODA_FIXITY_INTERVAL_DAYS", 90)
CODA_FIXITY_BATCH_PERIOD_MINUTES = env_int("CODA_FIXITY_BATCH_PERIOD_MINUTES", 60)
CODA_MULTIPART_MAX_AGE_HOURS = env_int("CODA_MULTIPART_MAX_AGE_HOURS", 24)
CODA_ORPHAN_MIN_AGE_HOURS = env_int("CODA_ORPHAN_MIN_AGE_HOURS", 24)
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
# The archive's elliptic-curve (P-256) private key, PEM: signs every sealed snapshot (OpenSSF model-signing format).
# `make run` generates one here on first start (manage.py signing_key_init); empty or absent: snapshots are unsigned.
CODA_SIGNING_KEY_FILE = env_str("CODA_SIGNING_KEY_FILE", str(VAR_DIR / "signing" / "archive-key.pem"))
# The tamper-evident log (archive/log/, docs/log.md): each event's leaf is recorded with it unless CODA_EVENT_LOG is
# false (benchmarks only: events recorded then are back-filled by `manage.py log_backfill`); checkpoints name the log by
# CODA_LOG_ORIGIN (a schema-less URL, fixed for the log's life) and are signed by the log-checkpoint beat.
CODA_EVENT_LOG = env_bool("CODA_EVENT_LOG", True)
CODA_LOG_ORIGIN = env_str("CODA_LOG_ORIGIN", "coda.localhost/log")
