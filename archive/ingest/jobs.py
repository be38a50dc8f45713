"""Ingest job control: heartbeats, stuck detection, curators' retry and cancel."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from archive.assurance import leases
from archive.events import event_record
from archive.exceptions import ConflictError, SnapshotSealed
from archive.ingest.seal import current_job, file_lease
from archive.ingest.services import snapshot_ingest_start
from archive.models import EventOutcome, EventType, IngestJob, Snapshot, SnapshotFile
from core.events import user_agent


def ingest_job_heartbeat(job: IngestJob):
    """When a worker last showed it is working on this job (the newest heartbeat among its files), or None."""
    names = [file_lease(pk) for pk in job.snapshot.files.filter(state=SnapshotFile.State.PENDING).values_list("pk", flat=True)]
    return leases.last_heartbeat(names)


def ingest_job_stuck(job: IngestJob) -> bool:
    """Queued or running, but no worker has shown any sign of work on it for CODA_WORK_STALE_SECONDS (its worker
    was killed or lost): a curator may retry or cancel it without waiting for the work-resume beat."""
    if job.state not in (IngestJob.State.QUEUED, IngestJob.State.RUNNING) or job.snapshot.state != Snapshot.State.INGESTING:
        return False
    last = max(filter(None, [ingest_job_heartbeat(job), job.started_at, job.created_at]))
    return last < timezone.now() - timedelta(seconds=settings.CODA_WORK_STALE_SECONDS)


def ingest_job_retry(*, job: IngestJob, requested_by=None) -> IngestJob:
    """Re-run a failed, cancelled or stuck ingest as a new job on the same snapshot: stored files are not read
    again. A stuck job (no heartbeat) is closed as failed first, with an event. A sealed snapshot never changes,
    and a job a worker is still beating on is left alone (409)."""
    snapshot = job.snapshot
    if snapshot.state == Snapshot.State.SEALED:
        raise SnapshotSealed(
            f"Snapshot {snapshot.revision} of {snapshot.model.repo_id} is sealed and never changes; "
            "preserve the files again to make a new snapshot."
        )
    with transaction.atomic():
        if snapshot.state == Snapshot.State.INGESTING and job == current_job(snapshot) and ingest_job_stuck(job):
            _ingest_job_close(job, state=IngestJob.State.FAILED, agent=user_agent(requested_by),
                              message="abandoned: no heartbeat from any worker; retried as a new job",
                              detail={"stuck": True, "retried": True,
                                      "last_heartbeat": str(ingest_job_heartbeat(job) or "never")})
            snapshot.refresh_from_db()
        if snapshot.state != Snapshot.State.FAILED:
            last = ingest_job_heartbeat(job)
            raise ConflictError(
                f"Ingest job {job.pk} is {job.state} and a worker is on it (last heartbeat {last or 'pending'}); "
                f"it can be retried once failed, cancelled, or silent for {settings.CODA_WORK_STALE_SECONDS:g} s."
            )
        return snapshot_ingest_start(model=snapshot.model, source=snapshot.source, requested_by=requested_by)


def ingest_job_cancel(*, job: IngestJob, cancelled_by=None) -> IngestJob:
    """Stop a queued or running ingest: its pending files are failed as cancelled, any worker on them stops at its
    next read or heartbeat (recording nothing), and their open uploads are aborted. The snapshot can be resumed
    later (retry, or preserve the same source again); files already stored stay stored."""
    with transaction.atomic():
        job = IngestJob.objects.select_for_update().select_related("snapshot__model").get(pk=job.pk)
        if job.state not in (IngestJob.State.QUEUED, IngestJob.State.RUNNING) or job != current_job(job.snapshot):
            raise ConflictError(f"Ingest job {job.pk} is {job.state}; only a queued or running ingest can be cancelled.")
        agent = user_agent(cancelled_by)
        _ingest_job_close(job, state=IngestJob.State.CANCELLED, agent=agent, message=f"cancelled by {agent}",
                          detail={"cancelled": True})
    job.refresh_from_db()
    return job


def _ingest_job_close(job: IngestJob, *, state: str, agent: str, message: str, detail: dict) -> None:
    """Inside a transaction: take every pending file of the job's snapshot from its worker, fail those files, close
    the job in `state` and the snapshot as failed (resumable), with one ingestion event naming the files."""
    snapshot = Snapshot.objects.select_for_update().get(pk=job.snapshot_id)
    pending = list(snapshot.files.filter(state=SnapshotFile.State.PENDING).values_list("pk", "path"))
    for file_id, _path in pending:
        leases.lease_cancel(file_lease(file_id), agent=agent)  # locks each lease: a worker recording now goes first
    paths = list(
        snapshot.files.filter(pk__in=[pk for pk, _ in pending], state=SnapshotFile.State.PENDING).values_list("path", flat=True)
    )
    snapshot.files.filter(path__in=paths).update(state=SnapshotFile.State.FAILED, error=message, bytes_done=0)
    snapshot.state = Snapshot.State.FAILED
    snapshot.save(update_fields=["state"])
    IngestJob.objects.filter(pk=job.pk).update(state=state, finished_at=timezone.now(), error=message)
    event_record(
        event_type=EventType.INGESTION, outcome=EventOutcome.FAILURE, agent=agent, model=snapshot.model,
        snapshot=snapshot, job=job,
        detail={**detail, "job": job.pk, "state": {"from": job.state, "to": state}, "files_stopped": paths[:100],
                "files_stopped_count": len(paths)},
    )
