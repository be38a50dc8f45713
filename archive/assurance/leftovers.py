"""Leftovers: incomplete multipart uploads, ingests abandoned by a dead worker, objects nothing refers to."""

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from archive.models import EventOutcome, EventType, Replica, Snapshot, SnapshotFile, StorageLocation
from archive import dispatch
from archive.events import event_record
from archive.exceptions import RetentionRefused
from archive.storage.locations import backend_for


def multipart_uploads_abort(*, older_than: timedelta | None = None, agent: str) -> int:
    """Abort incomplete multipart uploads older than CODA_MULTIPART_MAX_AGE_HOURS at every S3 location."""
    older_than = older_than if older_than is not None else timedelta(hours=settings.CODA_MULTIPART_MAX_AGE_HOURS)
    cutoff = timezone.now() - older_than
    aborted = 0
    for location in StorageLocation.objects.filter(is_active=True, kind__in=[StorageLocation.Kind.S3,
                                                                             StorageLocation.Kind.OCFL]):
        if not location.on_s3:
            continue
        backend = backend_for(location)
        for upload in backend.incomplete_uploads():
            if upload["Initiated"] <= cutoff:
                backend.client.abort_multipart_upload(Bucket=backend.bucket, Key=upload["Key"], UploadId=upload["UploadId"])
                event_record(event_type=EventType.DELETION, outcome=EventOutcome.SUCCESS, agent=agent, location=location,
                             detail={"incomplete_multipart_upload": upload["Key"], "initiated": upload["Initiated"].isoformat()})
                aborted += 1
    return aborted


def stale_ingests_resume(*, stale_after: timedelta | None = None) -> int:
    """Re-queue files whose worker stopped sending progress (killed, lost); the task is idempotent."""
    stale_after = stale_after if stale_after is not None else timedelta(minutes=settings.CODA_INGEST_STALE_MINUTES)
    cutoff = timezone.now() - stale_after
    stale = SnapshotFile.objects.filter(
        Q(heartbeat_at__lte=cutoff) | Q(heartbeat_at__isnull=True, claimed_at__lte=cutoff),
        snapshot__state=Snapshot.State.INGESTING,
        state=SnapshotFile.State.PENDING,
        claimed_at__isnull=False,
    )
    ids = list(stale.values_list("pk", flat=True))
    SnapshotFile.objects.filter(pk__in=ids).update(claimed_at=None, heartbeat_at=None)
    for file_id in ids:
        dispatch.task_send("archive.tasks.snapshot_file_ingest", file_id)
    return len(ids)


def orphans_find(location: StorageLocation, *, older_than: timedelta | None = None) -> list[str]:
    """Blob objects at the location that no replica refers to (report only). Objects younger than
    CODA_ORPHAN_MIN_AGE_HOURS are left out: an ingest or a copy may have stored one a moment before
    recording its replica."""
    older_than = older_than if older_than is not None else timedelta(hours=settings.CODA_ORPHAN_MIN_AGE_HOURS)
    cutoff = timezone.now() - older_than
    known = set(Replica.objects.filter(location=location).values_list("key", flat=True))
    return [
        key
        for key, modified in backend_for(location).list_objects("blobs/")
        if key not in known and "/.tmp-" not in key and modified <= cutoff
    ]


def orphans_delete(location: StorageLocation, keys: list[str], *, agent: str) -> int:
    """Delete reported orphans that are still unreferenced; each deletion leaves a `deletion` event. On a versioned
    bucket the current version is deleted (not hidden behind a delete marker); one storage still retains (S3 Object
    Lock) is kept, with a warning event, and tried again by a later sweep once its date has passed."""
    backend = backend_for(location)
    deleted = 0
    for key in keys:
        if Replica.objects.filter(location=location, key=key).exists():
            continue  # referenced since it was reported: not an orphan any more
        version_id = backend.current_version(key) or ""
        try:
            backend.delete(key, version_id=version_id)
        except RetentionRefused as exc:
            event_record(event_type=EventType.DELETION, outcome=EventOutcome.WARNING, agent=agent, location=location,
                         detail={"orphan_key": key, "version_id": version_id, "kept": True, "error": exc.message})
            continue
        event_record(event_type=EventType.DELETION, outcome=EventOutcome.SUCCESS, agent=agent, location=location,
                     detail={"orphan_key": key})
        deleted += 1
    return deleted
