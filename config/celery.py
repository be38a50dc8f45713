"""Celery application: configuration comes from Django settings (CELERY_* names)."""

import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("coda")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def object_lock_refuse(**kwargs):
    """A worker does not start on a bucket without the Object Lock CODA_S3_OBJECT_LOCK asks for (clear message)."""
    from archive.storage.locations import object_lock_check

    object_lock_check()
