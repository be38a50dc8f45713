"""Celery tasks: named after the services they call; ids in, idempotent, safe to deliver twice."""

import logging

from celery import shared_task
from django.conf import settings

from archive import services
from archive.exceptions import TransientStorageError
from catalogue.exceptions import DomainError

logger = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def snapshot_file_ingest(self, file_id: int) -> None:
    """Ingest one snapshot file; transient storage errors retry with backoff, then fail the file clearly."""
    try:
        services.snapshot_file_ingest(file_id=file_id)
    except TransientStorageError as exc:
        attempt = self.request.retries
        if attempt >= settings.CODA_TASK_MAX_RETRIES:
            services.snapshot_file_fail(
                file_id=file_id, message=f"storage unavailable after {attempt + 1} attempts: {exc}"
            )
            return
        raise self.retry(exc=exc, countdown=settings.CODA_TASK_RETRY_BACKOFF * 2**attempt) from None
    except DomainError as exc:
        services.snapshot_file_fail(file_id=file_id, message=exc.message)
    except Exception as exc:
        logger.exception("unexpected error ingesting file %s", file_id)
        services.snapshot_file_fail(file_id=file_id, message=f"unexpected error: {exc!r}")
        raise
