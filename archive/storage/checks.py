"""System checks run at start-up (migrate, runserver, `manage.py check`, the worker): storage that cannot keep the
promises the settings make is refused with a clear message."""

from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from archive.storage.locations import object_lock_check


@checks.register("coda_storage")
def object_lock_enabled(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """CODA_S3_OBJECT_LOCK=compliance/governance: each S3 location's bucket must have Object Lock (created if missing)."""
    try:
        object_lock_check()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="archive.E001",
                             hint="docs/retention.md: create the bucket with Object Lock, or set CODA_S3_OBJECT_LOCK=off.")]
    return []
