"""Giving stored bytes to readers (downloads, the Hub-compatible API, BagIt export): pick a verified
copy, stream it (optionally a byte range) or presign a URL, and record each access as an event.
Access *decisions* are not made here: callers ask catalogue.permissions.can_read_files first.
Storage is reached before any answer starts (the stream is opened, or the object probed before a URL is
handed out), so an outage is a 503 with Retry-After, never a 200 cut short or a redirect to a dead URL."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

from archive.exceptions import StoredCopyUnavailable, TransientStorageError
from archive.models import Blob, EventOutcome, EventType, Replica, Snapshot, SnapshotFile
from archive.sealing.keys import identity_load
from archive.sealing.stream import open_plaintext
from archive.storage.locations import backend_for
from core.events import event_record, user_agent
from core.exceptions import NotFoundError, UnavailableError

DEFAULT_PRESIGN_SECONDS = 15 * 60
MAX_PRESIGN_SECONDS = 60 * 60


def readable_replica(blob: Blob) -> Replica:
    """A verified copy of the blob, the primary location's first."""
    replica = (
        Replica.objects.select_related("location", "blob", "sealed_with")
        .filter(blob=blob, state=Replica.State.VERIFIED, location__is_active=True)
        .order_by("-location__is_primary", "location__name")
        .first()
    )
    if replica is None:
        raise NotFoundError(f"No verified copy of sha256:{blob.sha256} is available.", code="no_verified_copy")
    return replica


def iter_blob(replica: Replica, *, start: int = 0, end: int | None = None) -> Iterator[bytes]:
    """The blob's bytes (or the inclusive range start..end) from this copy, in CODA_CHUNK_SIZE chunks; a sealed
    copy is decrypted on the way (age chunks: a range reads only the chunks that hold it). The copy is opened now,
    so unreachable storage or key service raises here (TransientStorageError, KeyUnavailable), before a caller
    has started an answer."""
    backend = backend_for(replica.location)
    if replica.is_sealed:
        return open_plaintext(
            lambda first, last: backend.open(replica.key, start=first, end=last, version_id=replica.version_id),
            identities=[identity_load(replica.sealed_with)], header_size=replica.age_header_size,
            plaintext_size=replica.blob.size, start=start, end=end,
        )
    return _chunks(backend.open(replica.key, start=start, end=end, version_id=replica.version_id))


def iter_stored(replica: Replica) -> Iterator[bytes]:
    """The copy's bytes exactly as stored (a sealed copy's age ciphertext), for exports that keep sealed files
    sealed: no key is needed or used."""
    return _chunks(backend_for(replica.location).open(replica.key))


def _chunks(stream) -> Iterator[bytes]:
    try:
        while True:
            data = stream.read(settings.CODA_CHUNK_SIZE)
            if not data:
                return
            yield data
    finally:
        stream.close()


def replica_probe(replica: Replica) -> None:
    """Reach the stored copy before handing it out (a HEAD on S3, a stat on disk): TransientStorageError when
    storage cannot be reached, StoredCopyUnavailable when the object is not there."""
    if backend_for(replica.location).size_of(replica.key, version_id=replica.version_id) is None:
        raise StoredCopyUnavailable(f"The stored copy {replica.key} at {replica.location.name} is missing.")


def presigned_url(replica: Replica, *, expires_in: int | None = None, filename: str | None = None) -> str | None:
    """A presigned GET URL for S3 replicas (default 15 minutes, at most 1 hour); None for filesystem ones and for
    sealed copies (never a URL to ciphertext: callers stream the plaintext instead)."""
    if replica.is_sealed:
        return None
    seconds = min(max(1, expires_in or DEFAULT_PRESIGN_SECONDS), MAX_PRESIGN_SECONDS)
    try:
        # The URL names Coda's version: a newer one written by someone else at the same key is never handed out.
        return backend_for(replica.location).presigned_url(replica.key, expires_in=seconds, filename=filename,
                                                           version_id=replica.version_id)
    except Exception as exc:  # botocore errors while signing are configuration problems
        raise TransientStorageError(f"Cannot presign a URL: {exc}") from exc


def access_record(*, user, snapshot_file: SnapshotFile, replica: Replica | None, via: str, detail: dict | None = None,
                  decrypted: bool | None = None):
    """Append an `access` event for one delivery of a file's bytes (`decrypted`: whether a sealed copy was opened
    for it; by default, whenever the copy is sealed)."""
    decrypted = (replica is not None and replica.is_sealed) if decrypted is None else decrypted
    return event_record(
        event_type=EventType.ACCESS,
        outcome=EventOutcome.SUCCESS,
        agent=user_agent(user),
        model=snapshot_file.snapshot.model,
        snapshot=snapshot_file.snapshot,
        snapshot_file=snapshot_file,
        blob=snapshot_file.blob,
        location=replica.location if replica else None,
        detail={"path": snapshot_file.path, "via": via, **(detail or {}),
                # each decryption is recorded: who (the agent), which file, why (this delivery), with which key
                **({"decrypted": {"key_id": replica.sealed_with.key_id, "why": "delivery"}}
                   if decrypted else {})},
    )


def access_failure_record(*, user, snapshot: Snapshot, snapshot_file: SnapshotFile | None, replica: Replica | None,
                          via: str, error: Exception):
    """Append a failed `access` event: the bytes could not be delivered (storage unreachable)."""
    return event_record(
        event_type=EventType.ACCESS,
        outcome=EventOutcome.FAILURE,
        agent=user_agent(user),
        model=snapshot.model,
        snapshot=snapshot,
        snapshot_file=snapshot_file,
        blob=snapshot_file.blob if snapshot_file else None,
        location=replica.location if replica else None,
        detail={"via": via, "error": str(error), **({"path": snapshot_file.path} if snapshot_file else {})},
    )


@contextmanager
def failures_recorded(*, user, snapshot: Snapshot, snapshot_file: SnapshotFile | None = None,
                      replica: Replica | None = None, via: str):
    """Run a delivery step; if storage is unavailable, record a failed `access` event and re-raise (503)."""
    try:
        yield
    except UnavailableError as exc:
        access_failure_record(user=user, snapshot=snapshot, snapshot_file=snapshot_file, replica=replica, via=via, error=exc)
        raise
