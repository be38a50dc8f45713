"""Closing an ingest: seal the snapshot when every file is stored and verified and its stored copy is still there
(revision id, manifest written next to the blobs, inspection, preservation status, replication queued), or fail
the job naming the failed files."""

import logging

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from archive import dispatch, inspection, preservation
from archive.events import event_record, worker_agent
from archive.exceptions import SnapshotSealed
from archive.descriptions import signing
from archive.ingest import manifests
from archive.models import EventOutcome, EventType, IngestJob, Replica, Snapshot, SnapshotFile
from archive.storage.base import manifest_key
from archive.storage.locations import backend_for, primary_location

logger = logging.getLogger(__name__)


def file_lease(file_id: int) -> str:
    """The lease name of one file's ingest."""
    return f"ingest-file:{file_id}"


def current_job(snapshot: Snapshot) -> IngestJob | None:
    """The snapshot's newest ingest job."""
    return snapshot.jobs.order_by("-created_at").first()


@transaction.atomic
def seal_fail(*, snapshot_id: int, message: str, agent: str | None) -> None:
    """Fail the job of a snapshot whose files are all stored but whose seal failed (the manifest write)."""
    snapshot = Snapshot.objects.select_for_update().select_related("model").get(pk=snapshot_id)
    if snapshot.state != Snapshot.State.INGESTING or snapshot.files.filter(state=SnapshotFile.State.PENDING).exists():
        return
    job = current_job(snapshot)
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
    job = current_job(snapshot)
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


def _seal(snapshot: Snapshot, *, job: IngestJob | None, now) -> Snapshot:
    """Check that each file's stored copy is still there, then revision id, manifest at the primary location,
    inspection, event; then status refresh and replication."""
    files = list(snapshot.files.select_related("blob").order_by("path"))
    relied = _relied_replicas(files)
    unverified = [f.path for f in files if f.blob_id not in relied]
    if unverified:
        raise SnapshotSealed(f"Cannot seal: no verified copy of {', '.join(unverified[:5])}.")
    gone = _copies_gone(files, relied)
    if gone:
        return _seal_refuse(snapshot, job=job, gone=gone)
    triples = [(f.path, f.blob.size, f.blob.sha256) for f in files]
    snapshot.revision = manifests.revision_id(triples)
    snapshot.state = Snapshot.State.SEALED
    snapshot.sealed_at = now
    key = manifest_key(repo_id=snapshot.model.repo_id, revision=snapshot.revision)
    location = primary_location()
    document = manifests.manifest_document_for(snapshot, files=files, location=location)
    manifests.manifest_put(backend_for(location), key, document)
    snapshot.manifest_key = key
    snapshot.save(update_fields=["revision", "state", "sealed_at", "manifest_key"])
    signing.snapshot_sign(snapshot, files)
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

    preservation.model_preservation_refresh(snapshot.model)
    transaction.on_commit(lambda: dispatch.task_send("archive.tasks.snapshot_replicate", snapshot.pk))
    return snapshot


def _relied_replicas(files: list[SnapshotFile]) -> dict[int, Replica]:
    """The verified copy the seal relies on for each file's blob: the one at the primary location (where ingest
    stored it), else the oldest other verified copy (a blob stored before, deduplicated). One query."""
    blob_ids = {f.blob_id for f in files if f.blob_id is not None}
    verified = (Replica.objects.filter(blob_id__in=blob_ids, state=Replica.State.VERIFIED)
                .select_related("blob", "location").order_by("-location__is_primary", "pk"))
    relied: dict[int, Replica] = {}
    for replica in verified:
        relied.setdefault(replica.blob_id, replica)
    return relied


def _copies_gone(files: list[SnapshotFile], relied: dict[int, Replica]) -> list[tuple[SnapshotFile, Replica]]:
    """(file, copy) for each copy whose object is no longer there. A copy was proven when it was stored, but storage
    can lose it before the seal (an S3 server losing objects): one existence check per stored object (HEAD on S3,
    stat on a filesystem), never a re-read. An unreachable location raises TransientStorageError (the task
    retries, then fails the seal), like the manifest write."""
    backends, present, gone = {}, {}, []
    for row in files:
        replica = relied[row.blob_id]
        if replica.pk not in present:  # two paths with the same bytes: one stored object, one check
            backend = backends.setdefault(replica.location_id, backend_for(replica.location))
            present[replica.pk] = backend.size_of(replica.key) is not None
        if not present[replica.pk]:
            gone.append((row, replica))
    return gone


def _seal_refuse(snapshot: Snapshot, *, job: IngestJob | None, gone: list[tuple[SnapshotFile, Replica]]) -> Snapshot:
    """Nothing sealed: each lost copy is marked missing with a failed `fixity check` event, its files failed (a
    retry stores them again; the others are not read again), the job failed with one `ingestion` event naming
    the files."""
    agent = worker_agent()
    for replica in {replica.pk: replica for _, replica in gone}.values():
        Replica.objects.filter(pk=replica.pk).update(state=Replica.State.MISSING)
        event_record(
            event_type=EventType.FIXITY, outcome=EventOutcome.FAILURE, agent=agent, blob=replica.blob,
            location=replica.location,
            detail={"expected": replica.blob.sha256, "found": None, "key": replica.key, "result": "missing",
                    "checked": "existence, before the seal"},
        )
    described = []
    for row, replica in gone:
        error = f"the stored copy {replica.key} at {replica.location.name} is missing at seal"
        SnapshotFile.objects.filter(pk=row.pk).update(state=SnapshotFile.State.FAILED, error=error, bytes_done=0)
        described.append(f"{row.path}: {error}")
    message = (f"seal failed: {len(gone)} file(s) lost from storage since they were stored: " + "; ".join(described[:5])
               + ". Retry the ingest to store them again.")
    snapshot.state = Snapshot.State.FAILED
    snapshot.save(update_fields=["state"])
    if job is not None:
        IngestJob.objects.filter(pk=job.pk).update(state=IngestJob.State.FAILED, finished_at=timezone.now(), error=message)
    event_record(
        event_type=EventType.INGESTION, outcome=EventOutcome.FAILURE, agent=agent, model=snapshot.model,
        snapshot=snapshot, job=job,
        detail={"sealed": False, "error": message,
                "missing": [{"path": row.path, "key": replica.key, "location": replica.location.name}
                            for row, replica in gone[:100]]},
    )
    logger.error("seal of snapshot %s refused: %s", snapshot.pk, message)
    preservation.model_preservation_refresh(snapshot.model)
    return snapshot
