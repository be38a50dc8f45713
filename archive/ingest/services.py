"""Ingest: start (validate and list the source, create the snapshot, its files and a job, queue one task per file,
or resume a failed earlier ingest) and the per-file ingest that streams a source file into storage once."""

import dataclasses
import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from archive import dispatch, inspection
from archive.assurance import leases
from archive.events import event_record, worker_agent
from archive.exceptions import ConflictError, RetentionRefused, SizeMismatch
from archive.ingest.seal import current_job, file_lease, seal_fail, snapshot_finish_if_done
from archive.ingest.sources import OpenedSource, classify, list_source
from archive.models import (
    Blob,
    EventOutcome,
    EventType,
    IngestJob,
    Replica,
    Snapshot,
    SnapshotFile,
    StorageLocation,
)
from archive.sealing import keys as sealing_keys
from archive.sealing.policy import sealing_required
from archive.sealing.stream import SealingReader
from archive.storage.base import blob_key
from archive.storage.locations import backend_for, locations_sync, primary_location
from archive.storage.streaming import HashingReader, ReadAhead
from catalogue.models import AIModel

logger = logging.getLogger(__name__)


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
        if not pending:
            snapshot_finish_if_done(snapshot_id=snapshot.pk)
        for file_id in pending:
            dispatch.task_send("archive.tasks.snapshot_file_ingest", file_id)

    transaction.on_commit(enqueue)
    return job


def _is_verified_at(location: StorageLocation):
    """For Backend.store: the key of a verified copy of a blob at `location`, or None."""

    def check(sha256: str) -> str | None:
        # A sealed copy is never reused for a plaintext one by key (its object is ciphertext): _file_record keeps it.
        return (
            Replica.objects.filter(blob__sha256=sha256, location=location, state=Replica.State.VERIFIED,
                                   sealed_with__isnull=True)
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
    with leases.held(name=file_lease(row.pk), task="archive.tasks.snapshot_file_ingest", args=[row.pk], agent=agent,
                     event_type=EventType.INGESTION, subject=subject) as holder:
        if holder is not None:  # None: another worker is on this file (a redelivered task) and still beating
            _file_ingest(row, holder=holder, agent=agent)
    return row


def _file_ingest(row: SnapshotFile, *, holder: leases.Holder, agent: str) -> None:
    """Stream the file through HashingReader and the inspector into the primary location, then record it."""
    snapshot = row.snapshot
    job = current_job(snapshot)
    if job is not None and job.state == IngestJob.State.QUEUED:
        IngestJob.objects.filter(pk=job.pk, state=IngestJob.State.QUEUED).update(
            state=IngestJob.State.RUNNING, started_at=timezone.now()
        )
    location = primary_location()
    backend = backend_for(location)
    sealed = None
    if sealing_required(snapshot.model, snapshot):
        # Before a byte is written: no key (or no key service) means no ingest, never a plaintext fallback.
        sealed = sealing_keys.recipients_for_sealing()
    started = timezone.now()
    SnapshotFile.objects.filter(pk=row.pk).update(
        bytes_done=0, attempts=row.attempts + 1, claimed_at=started, heartbeat_at=started
    )

    def progress(done: int) -> None:
        SnapshotFile.objects.filter(pk=row.pk).update(bytes_done=done, heartbeat_at=timezone.now())

    opened = OpenedSource(snapshot.source, row.path, size=row.size, mtime_ns=row.source_mtime_ns)
    inspector = inspection.FileInspector(path=row.path, format=row.format, size=row.size)
    with opened as stream:
        # The source is read on a helper thread a few chunks ahead (a disk's or a network's wait, and the copy out
        # of the page cache, overlap with hashing); the lease is checked on this thread, at every chunk.
        ahead = ReadAhead(stream, backend.read_size(row.size), depth=2)
        try:
            reader = HashingReader(holder.guard(ahead), on_progress=progress, observers=[inspector])
            if sealed is None:
                result = backend.store(
                    reader, size=row.size, is_stored=_is_verified_at(location), before_commit=opened.check_unchanged,
                    on_upload=holder.upload_recorder(location),
                )
                seal = None
            else:
                result, seal = _store_sealed(reader, row=row, backend=backend, recipients=sealed[1],
                                             before_commit=opened.check_unchanged,
                                             on_upload=holder.upload_recorder(location))
                seal["key"] = sealed[0]
        finally:
            ahead.close()
    now = timezone.now()
    try:
        discard = _file_record(row, result=result, location=location, inspector=inspector, job=job, agent=agent,
                               now=now, holder=holder, seal=seal)
    except leases.LeaseLost:
        if not result.deduplicated and result.key != blob_key(result.sha256):
            try:  # an upload key only this attempt used: nothing will refer to it
                backend.delete(result.key, version_id=result.version_id)
            except RetentionRefused:
                pass  # under retention: no replica names it, the orphan sweep deletes it once its date has passed
        raise
    for key, replaced, version_id in discard:
        try:
            backend.delete(key, version_id=version_id)
        except RetentionRefused as exc:  # Object Lock: storage keeps it until its date; say so, delete nothing
            event_record(event_type=EventType.DELETION, outcome=EventOutcome.WARNING, agent=agent,
                         blob=replaced, location=location,
                         detail={"key": key, "version_id": version_id, "kept": True, "error": exc.message})
            continue
        if replaced is not None:
            event_record(event_type=EventType.DELETION, outcome=EventOutcome.SUCCESS, agent=agent, blob=replaced,
                         location=location, detail={"key": key, "reason": "plaintext copy replaced by its sealed "
                                                    "copy (encryption at rest)"})
    snapshot_finish_if_done(snapshot_id=snapshot.pk)


def _store_sealed(reader: HashingReader, *, row, backend, recipients, before_commit, on_upload):
    """Store the age ciphertext of `reader`'s bytes in the same single pass: `reader` hashes the plaintext (the
    blob's identity, the manifest's digest), a second HashingReader the ciphertext (the stored copy's proof)."""
    sealer = SealingReader(reader, recipients, plaintext_size=row.size)
    result = backend.store(HashingReader(sealer), size=sealer.size, is_stored=lambda sha256: None,
                           before_commit=before_commit, on_upload=on_upload)
    if reader.bytes_read != row.size:
        raise SizeMismatch(f"Read {reader.bytes_read} bytes of {row.path}, expected {row.size}.")
    seal = {"ciphertext_sha256": result.sha256, "ciphertext_size": result.size, "header_size": sealer.header_size,
            "recipients": len(recipients), "recipient_list": [str(r) for r in recipients]}
    return dataclasses.replace(result, sha256=reader.hexdigest(), size=reader.bytes_read), seal


@transaction.atomic
def _file_record(row, *, result, location, inspector, job, agent, now, holder, seal=None) -> list[tuple]:
    """Blob, replica, file state and the two events, in one transaction, only while this worker holds the file.
    Returns the keys of objects to delete once committed: the one just written when a verified sealed copy of the
    same bytes is already here, or a plaintext copy the new sealed one replaces (a blob any snapshot needs sealed
    is stored sealed)."""
    snapshot = row.snapshot
    holder.confirm()
    blob, _ = Blob.objects.get_or_create(sha256=result.sha256, defaults={"size": result.size})
    existing = Replica.objects.select_for_update().filter(blob=blob, location=location).first()
    discard = []  # (key, the blob whose replaced copy it held or None for an object no replica named, version)
    verified = existing is not None and existing.state == Replica.State.VERIFIED and existing.key != result.key
    if verified and (existing.is_sealed or seal is None):
        discard.append((result.key, None, result.version_id))  # the copy already here serves (a sealed one serves plaintext readers too)
        result = dataclasses.replace(result, key=existing.key, deduplicated=True, verification="already verified")
        seal = None
    else:
        if verified:  # a plaintext copy, now replaced by its sealed one
            discard.append((existing.key, blob, existing.version_id))
        sealed_fields = {
            "sealed_with": seal["key"] if seal else None,
            "ciphertext_sha256": seal["ciphertext_sha256"] if seal else "",
            "ciphertext_size": seal["ciphertext_size"] if seal else None,
            "age_header_size": seal["header_size"] if seal else None,
            "sealed_recipients": seal["recipient_list"] if seal else [],
        }
        Replica.objects.update_or_create(
            blob=blob,
            location=location,
            defaults={
                "key": result.key,
                # the version written and its retention (a deduplicated copy keeps the version it has)
                **({} if result.deduplicated else {"version_id": result.version_id,
                                                   "retain_until": result.retain_until}),
                "state": Replica.State.VERIFIED,
                "last_verified_at": now,
                "verification": result.verification + (" (of the ciphertext)" if seal else ""),
                **sealed_fields,
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
            **({"version_id": result.version_id} if result.version_id and not result.deduplicated else {}),
            **({"retain_until": result.retain_until.isoformat()} if result.retain_until else {}),
            **({"sealed": {"format": "age-encryption.org/v1", "key_id": seal["key"].key_id,
                           "recipients": seal["recipients"], "ciphertext_sha256": seal["ciphertext_sha256"],
                           "ciphertext_size": seal["ciphertext_size"]}} if seal else {}),
        },
        **common,
    )
    return discard


def snapshot_file_fail(*, file_id: int, message: str, agent: str | None = None) -> None:
    """Mark one file failed (nothing of it counts as stored) and finish the job if nothing else is pending.
    A file already stored failed in the seal that followed it (the manifest write): the job fails instead,
    the stored files stay, and a retry seals without reading them again."""
    row = SnapshotFile.objects.select_related("snapshot__model").get(pk=file_id)
    if row.snapshot.state != Snapshot.State.INGESTING:
        return  # sealed, or cancelled (the cancel's event says so)
    if row.state == SnapshotFile.State.STORED:
        seal_fail(snapshot_id=row.snapshot_id, message=message, agent=agent)
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
            job=current_job(row.snapshot),
            detail={"path": row.path, "error": message},
        )
    logger.error("ingest of %s in snapshot %s failed: %s", row.path, row.snapshot_id, message)
    snapshot_finish_if_done(snapshot_id=row.snapshot_id)
