"""Celery tasks: named after the services they call; ids in, idempotent, safe to deliver twice. Each task is
registered with archive.dispatch, so services queue them by name without importing this module."""

import logging
from datetime import date

from celery import shared_task
from django.conf import settings

from archive import preservation
from archive.assurance import deep_audit, fixity, leases, leftovers, replication, retention
from archive.sealing import reseal
from archive.dispatch import task_register, task_send
from archive.events import worker_agent
from archive.exceptions import KeyUnavailable, TransientStorageError
from archive.ingest import services
from archive.log import services as log_services
from catalogue import approvals, embargoes
from catalogue.models import AIModel
from core.exceptions import DomainError

logger = logging.getLogger(__name__)


@task_register
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
    except KeyUnavailable as exc:  # sealed holdings: never a plaintext fallback; a curator's retry completes later
        services.snapshot_file_fail(file_id=file_id, message=f"{exc.public_message} Nothing was written. ({exc})")
    except DomainError as exc:
        services.snapshot_file_fail(file_id=file_id, message=exc.message)
    except Exception as exc:
        logger.exception("unexpected error ingesting file %s", file_id)
        services.snapshot_file_fail(file_id=file_id, message=f"unexpected error: {exc!r}")
        raise


@task_register
@shared_task(acks_late=True, reject_on_worker_lost=True)
def snapshot_replicate(snapshot_id: int) -> dict:
    """Copy a sealed snapshot's blobs until each has the minimum number of verified copies."""
    return replication.snapshot_replicate(snapshot_id=snapshot_id, agent=worker_agent())


@task_register
@shared_task(acks_late=True, reject_on_worker_lost=True)
def reseal_pending() -> dict:
    """Seal the plaintext copies that access changes (or CODA_ENCRYPT_AT_REST) now require sealed."""
    return reseal.reseal_pending(agent=worker_agent())


@task_register
@shared_task(acks_late=True, reject_on_worker_lost=True)
def deep_audit_due() -> dict:
    """The scheduled deep audit of sealed copies: decrypt a batch and check the plaintext SHA-256."""
    return deep_audit.deep_audit_due(agent=worker_agent())


@task_register
@shared_task(acks_late=True, reject_on_worker_lost=True)
def fixity_audit_due() -> dict:
    """The scheduled fixity audit: the next batch of replicas, oldest-verified first."""
    return fixity.audit_run(
        name="audit-due", task="archive.tasks.fixity_audit_due", args=[], agent=worker_agent(),
        replicas=lambda since: fixity.replicas_due().exclude(last_verified_at__gte=since),
    )


@task_register
@shared_task(acks_late=True, reject_on_worker_lost=True)
def model_audit(model_id: int) -> dict:
    """Audit every replica of one model's sealed snapshots (the curators' API action)."""
    model = AIModel.objects.get(pk=model_id)
    return fixity.audit_run(
        name=f"audit-model:{model_id}", task="archive.tasks.model_audit", args=[model_id], agent=worker_agent(),
        replicas=lambda since: fixity.replicas_of_model(model).exclude(last_verified_at__gte=since),
        subject={"model_id": model_id},
    )


@task_register
@shared_task(acks_late=True, reject_on_worker_lost=True)
def preservation_enforce() -> int:
    """Queue replication for sealed snapshots whose files lack verified copies."""
    ids = preservation.snapshots_under_replicated()
    for snapshot_id in ids:
        task_send("archive.tasks.snapshot_replicate", snapshot_id)
    return len(ids)


@task_register
@shared_task(acks_late=True, reject_on_worker_lost=True)
def retention_extend() -> dict:
    """Extend the Object Lock retention of copies whose date is near, and apply missing legal holds."""
    return retention.retention_extend(agent=worker_agent())


@task_register
@shared_task(acks_late=True, reject_on_worker_lost=True)
def leftovers_sweep() -> dict:
    """Abort stale multipart uploads and resume ingests abandoned by dead workers."""
    agent = worker_agent()
    return {
        "multipart_uploads_aborted": leftovers.multipart_uploads_abort(agent=agent),
        "ingest_files_requeued": leftovers.stale_ingests_resume(),
    }


@task_register
@shared_task(acks_late=True, reject_on_worker_lost=True)
def work_resume() -> int:
    """Requeue long work (ingest, replication, audit) whose worker stopped sending heartbeats."""
    return leases.work_resume(agent=worker_agent())


@task_register
@shared_task(acks_late=True, reject_on_worker_lost=True)
def access_changes_apply(today: str | None = None) -> int:
    """Apply the scheduled access changes (embargoes) due by `today` (ISO date; default the local date)."""
    return embargoes.access_changes_apply(today=date.fromisoformat(today) if today else None)


@task_register
@shared_task(acks_late=True, reject_on_worker_lost=True)
def proposals_expire() -> int:
    """Close the two-person rule's proposals past their expiry (an event each); running twice is harmless."""
    return approvals.proposals_expire()


@task_register
@shared_task(acks_late=True, reject_on_worker_lost=True)
def checkpoint_sign() -> int | None:
    """Sign a checkpoint of the tamper-evident log when it grew; the tree size signed, or None."""
    checkpoint = log_services.checkpoint_sign(agent=worker_agent())
    return checkpoint.size if checkpoint else None
