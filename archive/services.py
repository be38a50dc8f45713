"""Archive writes: storage locations from settings, ingest (start, per-file, seal, fail, resume), events."""

import logging
import socket
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from archive import inspection, leases, manifests
from archive.exceptions import ConflictError, SnapshotSealed
from archive.models import (
    Blob,
    EventOutcome,
    EventType,
    IngestJob,
    PreservationEvent,
    Replica,
    Snapshot,
    SnapshotFile,
    StorageLocation,
)
from archive.sources import OpenedSource, classify, list_source
from archive.storage import backend_for, blob_key, manifest_key
from archive.streaming import HashingReader
from catalogue.models import AIModel
from core.events import user_agent

logger = logging.getLogger(__name__)


def worker_agent() -> str:
    return f"worker:{socket.gethostname()}"


def event_record(*, event_type: str, outcome: str, agent: str, detail: dict | None = None, **objects) -> PreservationEvent:
    """Append one PREMIS event."""
    return PreservationEvent.objects.create(
        event_type=event_type, outcome=outcome, agent=agent, detail=detail or {}, **objects
    )


# --- locations -------------------------------------------------------------------------------


@transaction.atomic
def locations_sync() -> list[StorageLocation]:
    """Make the database's storage locations match CODA_STORAGE_LOCATIONS (credentials stay in the environment)."""
    configured = settings.CODA_STORAGE_LOCATIONS
    names = []
    primary_name = next((c["name"] for c in configured if c.get("primary")), configured[0]["name"])
    StorageLocation.objects.exclude(name=primary_name).update(is_primary=False)
    for entry in configured:
        kind = entry.get("kind", "filesystem")
        values = {
            "kind": kind,
            "endpoint_url": entry.get("endpoint_url", "") or "",
            "bucket": entry.get("bucket", "") or "",
            "prefix": entry.get("prefix", "") or "",
            "region": entry.get("region", "") or "",
            "root_path": str(entry.get("root", "") or ""),
            "access_key_env": entry.get("access_key_env", "") or "",
            "secret_key_env": entry.get("secret_key_env", "") or "",
            "is_primary": entry["name"] == primary_name,
            "is_active": True,
        }
        location, _ = StorageLocation.objects.update_or_create(name=entry["name"], defaults=values)
        names.append(location.name)
    StorageLocation.objects.exclude(name__in=names).update(is_active=False, is_primary=False)
    return list(StorageLocation.objects.filter(name__in=names))


def primary_location() -> StorageLocation:
    """The primary location; configuration is synced at ingest start (and here only when none is recorded)."""
    location = StorageLocation.objects.filter(is_primary=True, is_active=True).first()
    if location is None:
        locations_sync()
        location = StorageLocation.objects.get(is_primary=True)
    return location


# --- ingest ----------------------------------------------------------------------------------


@transaction.atomic
def snapshot_access_set(*, snapshot: Snapshot, file_access: str, changed_by) -> Snapshot:
    """Set (or with "" clear, inheriting the model's) a snapshot's file-access override; curators only.
    The snapshot's bytes are untouched; the change is an `access` event naming the old and new level."""
    from core.exceptions import ForbiddenError
    from catalogue.permissions import is_curator

    if not is_curator(changed_by):
        raise ForbiddenError("Only curators may change a snapshot's file access.")
    file_access = file_access or ""
    if file_access not in ("", "public", "gated", "restricted"):
        raise ValidationError({"file_access": f"Unknown file access {file_access!r}; use public, gated, restricted or \"\" to inherit."})
    current = Snapshot.objects.select_for_update().select_related("model").get(pk=snapshot.pk)
    if current.file_access != file_access:
        event_record(
            event_type=EventType.ACCESS, outcome=EventOutcome.SUCCESS, agent=user_agent(changed_by),
            model=current.model, snapshot=current,
            detail={"file_access": {"from": current.file_access or "inherit", "to": file_access or "inherit"}},
        )
        current.file_access = file_access
        current.save(update_fields=["file_access"])
    return current


@transaction.atomic
def snapshot_ingest_start(*, model: AIModel, source: str, requested_by=None, file_access: str = "") -> IngestJob:
    """Validate and list the source, create the snapshot, its files and a job, and queue one task per file.
    A failed earlier ingest of the same source resumes: files already stored are not read again.
    `file_access` (public, gated, restricted) overrides the model's file access for this snapshot."""
    if file_access not in ("", "public", "gated", "restricted"):
        raise ValidationError({"file_access": f"Unknown file access {file_access!r}."})
    canonical, files = list_source(source)
    locations_sync()
    previous = (
        Snapshot.objects.select_for_update()
        .filter(model=model, source=canonical)
        .exclude(state=Snapshot.State.SEALED)
        .order_by("-created_at")
        .first()
    )
    if previous is not None and previous.state == Snapshot.State.INGESTING:
        job = previous.jobs.order_by("-created_at").first()
        raise ConflictError(f"An ingest of {canonical} for {model.repo_id} is already running (job {job.pk}).")
    listed = {f.path: f for f in files}
    if previous is not None and set(previous.files.values_list("path", flat=True)) == set(listed) and all(
        previous.files.filter(path=f.path, size=f.size).exists() for f in files
    ):
        snapshot = previous
        snapshot.files.filter(state=SnapshotFile.State.FAILED).update(
            state=SnapshotFile.State.PENDING, error="", bytes_done=0
        )
        for row in snapshot.files.filter(state=SnapshotFile.State.PENDING):
            row.source_mtime_ns = listed[row.path].mtime_ns
            row.save(update_fields=["source_mtime_ns"])
    else:
        snapshot = Snapshot.objects.create(
            model=model, source=canonical, created_by=requested_by, file_access=file_access
        )
        SnapshotFile.objects.bulk_create(
            [
                SnapshotFile(
                    snapshot=snapshot,
                    path=f.path,
                    size=f.size,
                    source_mtime_ns=f.mtime_ns,
                    kind=classify(f.path)[0],
                    format=classify(f.path)[1],
                )
                for f in files
            ]
        )
    snapshot.state = Snapshot.State.INGESTING
    snapshot.save(update_fields=["state"])
    job = IngestJob.objects.create(
        snapshot=snapshot,
        requested_by=requested_by,
        files_total=len(files),
        bytes_total=sum(f.size for f in files),
    )
    pending = list(snapshot.files.filter(state=SnapshotFile.State.PENDING).values_list("pk", flat=True))

    def enqueue():
        from archive.tasks import snapshot_file_ingest

        if not pending:
            snapshot_finish_if_done(snapshot_id=snapshot.pk)
        for file_id in pending:
            snapshot_file_ingest.delay(file_id)

    transaction.on_commit(enqueue)
    return job


def _file_lease(file_id: int) -> str:
    return f"ingest-file:{file_id}"


def ingest_job_heartbeat(job: IngestJob):
    """When a worker last showed it is working on this job (the newest heartbeat among its files), or None."""
    names = [_file_lease(pk) for pk in job.snapshot.files.filter(state=SnapshotFile.State.PENDING).values_list("pk", flat=True)]
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
        if snapshot.state == Snapshot.State.INGESTING and job == _current_job(snapshot) and ingest_job_stuck(job):
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
        if job.state not in (IngestJob.State.QUEUED, IngestJob.State.RUNNING) or job != _current_job(job.snapshot):
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
        leases.lease_cancel(_file_lease(file_id), agent=agent)  # locks each lease: a worker recording now goes first
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


def _current_job(snapshot: Snapshot) -> IngestJob | None:
    return snapshot.jobs.order_by("-created_at").first()


def _is_verified_at(location: StorageLocation):
    """For Backend.store: the key of a verified copy of a blob at `location`, or None."""

    def check(sha256: str) -> str | None:
        return (
            Replica.objects.filter(blob__sha256=sha256, location=location, state=Replica.State.VERIFIED)
            .values_list("key", flat=True)
            .first()
        )

    return check


def snapshot_file_ingest(*, file_id: int, agent: str | None = None) -> SnapshotFile:
    """Stream one source file into the primary location, reading it once; record blob, replica and events."""
    agent = agent or worker_agent()
    row = SnapshotFile.objects.select_related("snapshot__model__provider").get(pk=file_id)
    snapshot = row.snapshot
    if snapshot.state == Snapshot.State.SEALED:
        return row
    if row.state == SnapshotFile.State.STORED:
        snapshot_finish_if_done(snapshot_id=snapshot.pk)
        return row
    if snapshot.state != Snapshot.State.INGESTING:
        return row  # cancelled (or closed as stuck) since this task was queued
    subject = {"model_id": snapshot.model_id, "snapshot_id": snapshot.pk, "snapshot_file_id": row.pk}
    with leases.held(name=_file_lease(row.pk), task="archive.tasks.snapshot_file_ingest", args=[row.pk], agent=agent,
                     event_type=EventType.INGESTION, subject=subject) as holder:
        if holder is not None:  # None: another worker is on this file (a redelivered task) and still beating
            _file_ingest(row, holder=holder, agent=agent)
    return row


def _file_ingest(row: SnapshotFile, *, holder: leases.Holder, agent: str) -> None:
    snapshot = row.snapshot
    job = _current_job(snapshot)
    if job is not None and job.state == IngestJob.State.QUEUED:
        IngestJob.objects.filter(pk=job.pk, state=IngestJob.State.QUEUED).update(
            state=IngestJob.State.RUNNING, started_at=timezone.now()
        )
    location = primary_location()
    backend = backend_for(location)
    started = timezone.now()
    SnapshotFile.objects.filter(pk=row.pk).update(
        bytes_done=0, attempts=row.attempts + 1, claimed_at=started, heartbeat_at=started
    )

    def progress(done: int) -> None:
        SnapshotFile.objects.filter(pk=row.pk).update(bytes_done=done, heartbeat_at=timezone.now())

    opened = OpenedSource(snapshot.source, row.path, size=row.size, mtime_ns=row.source_mtime_ns)
    inspector = inspection.FileInspector(path=row.path, format=row.format, size=row.size)
    with opened as stream:
        reader = HashingReader(holder.guard(stream), on_progress=progress, observers=[inspector])
        result = backend.store(
            reader, size=row.size, is_stored=_is_verified_at(location), before_commit=opened.check_unchanged,
            on_upload=holder.upload_recorder(location),
        )
    now = timezone.now()
    try:
        _file_record(row, result=result, location=location, inspector=inspector, job=job, agent=agent, now=now,
                     holder=holder)
    except leases.LeaseLost:
        if not result.deduplicated and result.key != blob_key(result.sha256):
            backend.delete(result.key)  # an upload key only this attempt used: nothing will refer to it
        raise
    snapshot_finish_if_done(snapshot_id=snapshot.pk)


@transaction.atomic
def _file_record(row, *, result, location, inspector, job, agent, now, holder) -> None:
    """Blob, replica, file state and the two events, in one transaction, only while this worker holds the file."""
    snapshot = row.snapshot
    holder.confirm()
    blob, _ = Blob.objects.get_or_create(sha256=result.sha256, defaults={"size": result.size})
    Replica.objects.update_or_create(
        blob=blob,
        location=location,
        defaults={
            "key": result.key,
            "state": Replica.State.VERIFIED,
            "last_verified_at": now,
            "verification": result.verification,
        },
    )
    row.blob = blob
    row.state = SnapshotFile.State.STORED
    row.bytes_done = result.size
    row.error = ""
    row.inspection, row.problems = inspector.finish()
    row.save(update_fields=["blob", "state", "bytes_done", "error", "inspection", "problems"])
    common = {"model": snapshot.model, "snapshot": snapshot, "snapshot_file": row, "blob": blob, "job": job}
    event_record(
        event_type=EventType.DIGEST,
        outcome=EventOutcome.SUCCESS,
        agent=agent,
        detail={"algorithm": "SHA-256", "digest": result.sha256, "bytes": result.size, "path": row.path},
        **common,
    )
    event_record(
        event_type=EventType.INGESTION,
        outcome=EventOutcome.SUCCESS,
        agent=agent,
        location=location,
        detail={
            "path": row.path,
            "key": result.key,
            "deduplicated": result.deduplicated,
            "note": "blob already stored and verified at this location; not written again"
            if result.deduplicated
            else "stored",
            "verification": result.verification,
        },
        **common,
    )


def snapshot_file_fail(*, file_id: int, message: str, agent: str | None = None) -> None:
    """Mark one file failed (nothing of it counts as stored) and finish the job if nothing else is pending.
    A file already stored failed in the seal that followed it (the manifest write): the job fails instead,
    the stored files stay, and a retry seals without reading them again."""
    row = SnapshotFile.objects.select_related("snapshot__model").get(pk=file_id)
    if row.snapshot.state != Snapshot.State.INGESTING:
        return  # sealed, or cancelled (the cancel's event says so)
    if row.state == SnapshotFile.State.STORED:
        _seal_fail(snapshot_id=row.snapshot_id, message=message, agent=agent)
        return
    with transaction.atomic():
        SnapshotFile.objects.filter(pk=row.pk).update(state=SnapshotFile.State.FAILED, error=message, bytes_done=0)
        event_record(
            event_type=EventType.INGESTION,
            outcome=EventOutcome.FAILURE,
            agent=agent or worker_agent(),
            model=row.snapshot.model,
            snapshot=row.snapshot,
            snapshot_file=row,
            job=_current_job(row.snapshot),
            detail={"path": row.path, "error": message},
        )
    logger.error("ingest of %s in snapshot %s failed: %s", row.path, row.snapshot_id, message)
    snapshot_finish_if_done(snapshot_id=row.snapshot_id)


@transaction.atomic
def _seal_fail(*, snapshot_id: int, message: str, agent: str | None) -> None:
    snapshot = Snapshot.objects.select_for_update().select_related("model").get(pk=snapshot_id)
    if snapshot.state != Snapshot.State.INGESTING or snapshot.files.filter(state=SnapshotFile.State.PENDING).exists():
        return
    job = _current_job(snapshot)
    snapshot.state = Snapshot.State.FAILED
    snapshot.save(update_fields=["state"])
    error = f"seal failed: {message}"
    if job is not None:
        IngestJob.objects.filter(pk=job.pk).update(state=IngestJob.State.FAILED, finished_at=timezone.now(), error=error)
    event_record(
        event_type=EventType.INGESTION, outcome=EventOutcome.FAILURE, agent=agent or worker_agent(),
        model=snapshot.model, snapshot=snapshot, job=job, detail={"sealed": False, "error": error},
    )
    logger.error("seal of snapshot %s failed: %s", snapshot.pk, message)


@transaction.atomic
def snapshot_finish_if_done(*, snapshot_id: int) -> Snapshot:
    """Seal when every file is stored and verified; fail the job when nothing is pending but some file failed."""
    snapshot = Snapshot.objects.select_for_update().select_related("model__provider").get(pk=snapshot_id)
    if snapshot.state != Snapshot.State.INGESTING:
        return snapshot
    counts = snapshot.files.aggregate(
        pending=Count("pk", filter=Q(state=SnapshotFile.State.PENDING)),
        failed=Count("pk", filter=Q(state=SnapshotFile.State.FAILED)),
    )
    if counts["pending"]:
        return snapshot
    job = _current_job(snapshot)
    now = timezone.now()
    if counts["failed"]:
        failures = list(snapshot.files.filter(state=SnapshotFile.State.FAILED).values_list("path", "error")[:5])
        message = f"{counts['failed']} file(s) failed: " + "; ".join(f"{p}: {e}" for p, e in failures)
        snapshot.state = Snapshot.State.FAILED
        snapshot.save(update_fields=["state"])
        if job is not None:
            IngestJob.objects.filter(pk=job.pk).update(state=IngestJob.State.FAILED, finished_at=now, error=message)
        return snapshot
    return _seal(snapshot, job=job, now=now)


def manifest_document_for(snapshot: Snapshot, files=None, location: StorageLocation | None = None) -> dict:
    """The manifest stored next to the blobs: files, digests and a summary of the retirement record; for the
    copy kept at `location`, also the keys of its objects that are not at their content-addressed key."""
    from catalogue.api.serializers import RetirementSummarySerializer
    from catalogue.models import Retirement

    files = files if files is not None else list(snapshot.files.select_related("blob").order_by("path"))
    retirement = Retirement.objects.filter(model=snapshot.model).first()
    summary = None
    if retirement is not None:
        summary = dict(RetirementSummarySerializer(retirement).data)
        summary.update(
            retires_on=str(snapshot.model.retires_on or ""),
            deprecated_on=str(snapshot.model.deprecated_on or ""),
            replacement=snapshot.model.replacement.repo_id if snapshot.model.replacement_id else None,
        )
    return manifests.manifest_document(
        repo_id=snapshot.model.repo_id,
        revision=snapshot.revision,
        sealed_at=snapshot.sealed_at.isoformat(),
        files=[
            {"path": f.path, "size": f.blob.size, "sha256": f.blob.sha256, "kind": f.kind, "format": f.format}
            for f in files
        ],
        retirement=summary,
        object_keys=_object_keys_at(location, files) if location is not None else None,
    )


def _object_keys_at(location: StorageLocation, files) -> dict[str, str]:
    keys = Replica.objects.filter(location=location, blob_id__in={f.blob_id for f in files}).values_list(
        "blob__sha256", "key"
    )
    return {sha256: key for sha256, key in keys if key != blob_key(sha256)}


def _seal(snapshot: Snapshot, *, job: IngestJob | None, now) -> Snapshot:
    files = list(snapshot.files.select_related("blob").order_by("path"))
    unverified = [f.path for f in files if not _has_verified_replica(f.blob_id)]
    if unverified:
        raise SnapshotSealed(f"Cannot seal: no verified copy of {', '.join(unverified[:5])}.")
    triples = [(f.path, f.blob.size, f.blob.sha256) for f in files]
    snapshot.revision = manifests.revision_id(triples)
    snapshot.state = Snapshot.State.SEALED
    snapshot.sealed_at = now
    key = manifest_key(repo_id=snapshot.model.repo_id, revision=snapshot.revision)
    location = primary_location()
    document = manifest_document_for(snapshot, files=files, location=location)
    backend_for(location).put_bytes(key, manifests.manifest_bytes(document))
    snapshot.manifest_key = key
    snapshot.save(update_fields=["revision", "state", "sealed_at", "manifest_key"])
    inspection.snapshot_inspect(snapshot=snapshot)
    if job is not None:
        IngestJob.objects.filter(pk=job.pk).update(state=IngestJob.State.SUCCEEDED, finished_at=now, error="")
    event_record(
        event_type=EventType.INGESTION,
        outcome=EventOutcome.SUCCESS,
        agent=worker_agent(),
        model=snapshot.model,
        snapshot=snapshot,
        job=job,
        location=location,
        detail={"sealed": True, "revision": snapshot.revision, "files": len(files), "manifest_key": key},
    )

    from archive.preservation import model_preservation_refresh
    from archive.tasks import snapshot_replicate

    model_preservation_refresh(snapshot.model)
    transaction.on_commit(lambda: snapshot_replicate.delay(snapshot.pk))
    return snapshot


def _has_verified_replica(blob_id: int | None) -> bool:
    return blob_id is not None and Replica.objects.filter(blob_id=blob_id, state=Replica.State.VERIFIED).exists()
