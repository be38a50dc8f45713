"""Celery: the broker (a folder under var/ by default, Redis in production) and the beat schedule."""

from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from config.env import env_int, env_str
from config.settings.base import VAR_DIR

# Default broker: kombu's filesystem transport, so `make run` runs a real, separate worker
# process with no broker server. Production uses Redis (redis://...).
# "localhost" names no server (the transport ignores it); without a host kombu warns "No hostname was supplied"
# on every connection.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://localhost/")
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
    # Sealed copies: decrypt a batch and check the plaintext SHA-256 (archive/assurance/deep_audit.py).
    **_beat("deep-audit", "archive.tasks.deep_audit_due", "45 4 * * *"),
    # Seal plaintext copies that an access change now requires sealed (archive/sealing/reseal.py).
    **_beat("reseal", "archive.tasks.reseal_pending", "*/30 * * * *"),
    **_beat("preservation-enforce", "archive.tasks.preservation_enforce", "*/30 * * * *"),
    **_beat("leftovers-sweep", "archive.tasks.leftovers_sweep", "15 3 * * *"),
    # Seconds: requeue work whose worker stopped sending heartbeats (archive/assurance/leases.py).
    **_beat("work-resume", "archive.tasks.work_resume", "30"),
    # Embargoes (catalogue/embargoes.py): apply scheduled access changes due today; hourly, so a change is late by
    # at most an hour whatever the time zone, and applying twice is harmless.
    **_beat("access-changes-apply", "archive.tasks.access_changes_apply", "5 * * * *"),
    # Two-person rule (catalogue/approvals.py): close proposals past CODA_APPROVAL_TTL_HOURS, an event each.
    **_beat("approvals-expire", "archive.tasks.proposals_expire", "*/10 * * * *"),
    # Object Lock: extend the retention of copies whose date is near, apply legal holds (archive/assurance/retention.py).
    **_beat("retention-extend", "archive.tasks.retention_extend", "40 2 * * *"),
    # Sign a checkpoint of the tamper-evident log when it grew (archive/log/services.py; docs/log.md).
    **_beat("log-checkpoint", "archive.tasks.checkpoint_sign", "*/10 * * * *"),
}
