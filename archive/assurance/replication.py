"""Replication and repair: copy a blob from a verified replica to another location, hashing every
byte on the way (the same HashingReader as ingest), and commit only if the digest matches. Unreachable
storage (TransientStorageError, bounded by the S3 timeouts and deadline) is a failed `replication` event, never
a copy counted as verified; the next run (the preservation-enforce beat entry) completes it."""

import hashlib
import logging

from django.db import transaction
from django.utils import timezone

from archive.assurance import leases
from archive.events import event_record
from archive.ingest import manifests
from archive.exceptions import ChecksumMismatch, SizeMismatch, TransientStorageError
from archive.models import Blob, EventOutcome, EventType, Replica, Snapshot, StorageLocation
from archive.preservation import min_copies, model_preservation_refresh
from catalogue.models import Retirement
from archive.sealing import description
from archive.storage import ocfl
from archive.storage.base import blob_key, manifest_key
from archive.storage.locations import backend_for
from archive.storage.streaming import HashingReader

logger = logging.getLogger(__name__)


class _Md5:
    """An MD5 observer of a HashingReader (the OCFL fixity block's second digest)."""

    def __init__(self):
        self.digest = hashlib.md5(usedforsecurity=False)

    def feed(self, data: bytes) -> None:
        self.digest.update(data)


class NoGoodCopy(Exception):
    """No verified replica exists to copy from."""


def _source_replicas(blob: Blob, *, exclude: StorageLocation, sealed: bool | None = None):
    replicas = (
        Replica.objects.select_related("location", "sealed_with")
        .filter(blob=blob, state=Replica.State.VERIFIED, location__is_active=True)
        .exclude(location=exclude)
        .order_by("-location__is_primary", "location__name")
    )
    return replicas if sealed is None else replicas.filter(sealed_with__isnull=not sealed)


def blob_copy(*, blob: Blob, target: StorageLocation, event_type: str, agent: str,
              holder: leases.Holder | None = None, key: str | None = None, sealed: bool | None = None) -> Replica:
    """Stream the blob from a verified replica into `target`; the bytes are hashed as they pass and the copy
    becomes visible only if they hash to the blob's SHA-256. A source that turns out bad is marked corrupt
    and the next verified one is tried; with none left, NoGoodCopy (never a copy from a bad replica). A source
    that cannot be reached is skipped; if no source could be reached, or the target cannot be,
    TransientStorageError (an outage says nothing about the bytes: nothing is marked corrupt or lost).
    Under a lease (`holder`), the copy stops when the lease is lost and records its upload for a successor.
    `key` places the copy (a content path in an OCFL object); else a repair rewrites the copy where it was. Into an
    OCFL mirror the bytes also pass an MD5 (its inventory's fixity block), recorded on the blob."""
    unreachable = None
    for source in _source_replicas(blob, exclude=target, sealed=sealed):  # sealed=True: ciphertext copies only
        try:
            stream = backend_for(source.location).open(source.key, version_id=source.version_id)
        except TransientStorageError as exc:
            unreachable = exc
            continue
        md5 = _Md5() if target.kind == StorageLocation.Kind.OCFL else None
        reader = HashingReader(holder.guard(stream) if holder else stream, observers=[md5] if md5 else ())
        # A sealed copy is copied as it is stored (ciphertext, no key needed) and proven by the ciphertext's digest.
        expected_sha256, expected_size = source.stored_sha256, source.stored_size

        def digest_matches():
            if reader.bytes_read != expected_size or reader.hexdigest() != expected_sha256:
                raise ChecksumMismatch(
                    f"Source copy at {source.location.name} hashes to {reader.hexdigest()} "
                    f"({reader.bytes_read} bytes), expected {expected_sha256} ({expected_size} bytes)."
                )

        existing = Replica.objects.filter(blob=blob, location=target).values_list("key", flat=True).first()
        try:
            result = backend_for(target).store(
                reader, size=expected_size, is_stored=lambda sha256: None, before_commit=digest_matches,
                key=key or existing or blob_key(expected_sha256),  # a repair rewrites the copy where it was
                on_upload=holder.upload_recorder(target) if holder else None,
            )
        except (ChecksumMismatch, SizeMismatch) as exc:
            with transaction.atomic():
                Replica.objects.filter(pk=source.pk).update(state=Replica.State.CORRUPT)
                event_record(
                    event_type=EventType.FIXITY, outcome=EventOutcome.FAILURE, agent=agent, blob=blob,
                    location=source.location,
                    detail={"expected": expected_sha256, "found": reader.hexdigest(), "during": event_type,
                            "error": str(exc), **({"sealed": True} if source.is_sealed else {})},
                )
            logger.error("replica of %s at %s is corrupt: %s", blob.sha256, source.location.name, exc)
            continue
        finally:
            stream.close()
        with transaction.atomic():
            if holder is not None:
                holder.confirm()
            if md5 is not None and not source.is_sealed and blob.md5 != md5.digest.hexdigest():
                blob.md5 = md5.digest.hexdigest()
                Blob.objects.filter(pk=blob.pk).update(md5=blob.md5)
            replica, _ = Replica.objects.update_or_create(
                blob=blob,
                location=target,
                defaults={
                    "key": result.key,
                    # a repair on a locked bucket writes a new version: that version is the copy from now on
                    "version_id": result.version_id, "retain_until": result.retain_until,
                    "state": Replica.State.VERIFIED,
                    "last_verified_at": timezone.now(),
                    "verification": result.verification,
                    "sealed_with": source.sealed_with, "ciphertext_sha256": source.ciphertext_sha256,
                    "ciphertext_size": source.ciphertext_size, "age_header_size": source.age_header_size,
                    "sealed_recipients": source.sealed_recipients,
                },
            )
            event_record(
                event_type=event_type, outcome=EventOutcome.SUCCESS, agent=agent, blob=blob, location=target,
                detail={"from": source.location.name, "to": target.name, "key": result.key,
                        **({"version_id": result.version_id} if result.version_id else {}),
                        **({"retain_until": result.retain_until.isoformat()} if result.retain_until else {}),
                        "sha256": reader.hexdigest(), "bytes": reader.bytes_read, "verification": result.verification},
            )
        return replica
    if unreachable is not None:
        raise unreachable
    raise NoGoodCopy(f"No verified copy of sha256:{blob.sha256} is left to copy from.")


def snapshot_replicate(*, snapshot_id: int, agent: str) -> dict:
    """Give every file of a sealed snapshot the minimum number of verified copies, and put its manifest at
    every location that holds it. Idempotent: copies that exist are not made again. Runs under a lease: one
    worker at a time, and a run whose worker dies is resumed (archive/leases.py)."""
    snapshot = Snapshot.objects.select_related("model__provider").get(pk=snapshot_id)
    if snapshot.state != Snapshot.State.SEALED:
        return {"copied": 0}
    if snapshot.bytes_deleted_at is not None:  # withdrawn with its bytes deleted on purpose: no copy is owed
        return {"copied": 0, "skipped": "withdrawn, bytes deleted"}
    with leases.held(name=f"replicate:{snapshot_id}", task="archive.tasks.snapshot_replicate", args=[snapshot_id],
                     agent=agent, event_type=EventType.REPLICATION,
                     subject={"model_id": snapshot.model_id, "snapshot_id": snapshot.pk}) as holder:
        if holder is None:
            return {"copied": 0, "skipped": "another worker is replicating this snapshot"}
        return _replicate(snapshot, agent=agent, holder=holder)
    return {"copied": 0, "stopped": "lease lost"}


def _replicate(snapshot: Snapshot, *, agent: str, holder: leases.Holder) -> dict:
    required, _ = min_copies()
    locations = list(StorageLocation.objects.filter(is_active=True).order_by("-is_primary", "name"))
    copied = failed = 0
    down: set[int] = set()  # locations found unreachable in this run: not tried again until the next one
    blobs = Blob.objects.filter(snapshot_files__snapshot=snapshot).distinct()
    files = list(snapshot.files.select_related("blob"))
    for location in locations:  # OCFL mirrors hold every sealed snapshot, whatever the copy count
        if location.kind == StorageLocation.Kind.OCFL:
            try:
                copied += _mirror_ocfl(snapshot, files, location=location, agent=agent, holder=holder)
            except (TransientStorageError, NoGoodCopy, OSError) as exc:
                event_record(event_type=EventType.REPLICATION, outcome=EventOutcome.FAILURE, agent=agent,
                             snapshot=snapshot, model=snapshot.model, location=location,
                             detail={"error": f"OCFL object not written: {exc}", "retry": True})
                down.add(location.pk)
                failed += 1
    for blob in blobs:
        verified = set(
            Replica.objects.filter(blob=blob, state=Replica.State.VERIFIED).values_list("location_id", flat=True)
        )
        for location in locations:
            if len(verified) >= required:
                break
            if location.pk in verified or location.pk in down:
                continue
            try:
                blob_copy(blob=blob, target=location, event_type=EventType.REPLICATION, agent=agent, holder=holder)
            except NoGoodCopy as exc:
                event_record(event_type=EventType.REPLICATION, outcome=EventOutcome.FAILURE, agent=agent, blob=blob,
                             location=location, detail={"error": str(exc)})
                break
            except TransientStorageError as exc:
                event_record(event_type=EventType.REPLICATION, outcome=EventOutcome.FAILURE, agent=agent, blob=blob,
                             location=location, detail={"error": f"storage unavailable: {exc}", "retry": True})
                logger.warning("replication of %s to %s failed: %s", blob.sha256, location.name, exc)
                down.add(location.pk)
                failed += 1
                continue
            verified.add(location.pk)
            copied += 1
    key = manifest_key(repo_id=snapshot.model.repo_id, revision=snapshot.revision)
    holders = set(
        Replica.objects.filter(blob__in=blobs, state=Replica.State.VERIFIED)
        .values_list("location_id", flat=True)
    )
    for location in locations:
        if location.pk in holders and location.pk not in down and location.kind != StorageLocation.Kind.OCFL:
            document = manifests.manifest_document_for(snapshot, files=files, location=location)
            try:
                manifests.manifest_put(backend_for(location), key, document)
            except TransientStorageError as exc:
                event_record(event_type=EventType.REPLICATION, outcome=EventOutcome.FAILURE, agent=agent,
                             snapshot=snapshot, model=snapshot.model, location=location,
                             detail={"error": f"storage unavailable: {exc}", "manifest_key": key, "retry": True})
                failed += 1
    model_preservation_refresh(snapshot.model)
    return {"copied": copied, "failed": failed}


def ocfl_entries(files: list, sealed: dict) -> list[dict]:
    """The OCFL logical files of a snapshot: a sealed file as `<path>.age` with its ciphertext's digest (the bytes
    the object holds), the others as they are; encryption.json is added by the writer."""
    return [
        {"path": description.sealed_path(f.path), "sha256": sealed[f.blob_id].ciphertext_sha256, "md5": None}
        if f.blob_id in sealed else {"path": f.path, "sha256": f.blob.sha256, "md5": f.blob.md5 or None}
        for f in files
    ]


def _mirror_ocfl(snapshot: Snapshot, files: list, *, location: StorageLocation, agent: str,
                 holder: leases.Holder) -> int:
    """Write the snapshot's OCFL object at an OCFL location: each distinct file's bytes copied (hashed on the way)
    to its content path, then the inventory. Sealed files stay sealed (ciphertext as `<path>.age`, copied from a
    sealed copy only, no key needed) and `encryption.json` says how to open them without Coda. An object whose
    inventory exists is complete and left alone."""
    backend = backend_for(location)
    identifier = ocfl.object_id(snapshot.model.repo_id, snapshot.revision)
    if backend.object_exists(identifier):
        return 0
    sealed = description.sealed_copies_of(files)
    if sealed and any(f.path == description.NAME for f in files):
        raise NoGoodCopy(f"a file named {description.NAME} would collide with the description of the sealed files")
    copied, placed = 0, set()
    for row in sorted(files, key=lambda f: f.path.encode("utf-8")):
        if row.blob_id in placed:
            continue
        placed.add(row.blob_id)
        copy = sealed.get(row.blob_id)
        key = ocfl.content_key(identifier, description.sealed_path(row.path) if copy else row.path)
        if copy is None and row.blob.md5 and backend.size_of(key) == row.blob.size:
            continue  # written (and read back) by an earlier run that stopped before the inventory
        if copy is not None and Replica.objects.filter(blob=row.blob, location=location, key=key,
                                                       state=Replica.State.VERIFIED).exists():
            continue
        blob_copy(blob=row.blob, target=location, event_type=EventType.REPLICATION, agent=agent, holder=holder,
                  key=key, sealed=True if copy else None)
        copied += 1
    blobs = {b.pk: b for b in Blob.objects.filter(pk__in=placed)}
    for f in files:
        f.blob = blobs[f.blob_id]  # the MD5s the copies just recorded
    entries = ocfl_entries(files, sealed)
    if sealed:
        data = description.encryption_json([
            description.file_entry(path=f.path, blob=f.blob, replica=sealed[f.blob_id]) for f in files if f.blob_id in sealed
        ])
        backend.put_bytes(ocfl.content_key(identifier, description.NAME), data)
        entries.append({"path": description.NAME, "sha256": hashlib.sha256(data).hexdigest(), "md5": None})
    inventory = ocfl.inventory_build(
        identifier=identifier, files=entries,
        created=manifests._iso_datetime(snapshot.sealed_at), message=_ocfl_message(snapshot),
        user=_ocfl_user(snapshot),
    )
    with transaction.atomic():
        holder.confirm()  # a holder that lost its lease writes no inventory
        backend.object_write(inventory)
        event_record(event_type=EventType.REPLICATION, outcome=EventOutcome.SUCCESS, agent=agent, snapshot=snapshot,
                     model=snapshot.model, location=location,
                     detail={"ocfl_object": identifier, "object_root": ocfl.object_root(identifier),
                             "files": len(files), **({"sealed_files": len(sealed)} if sealed else {})})
    return copied


def _ocfl_message(snapshot: Snapshot) -> str:
    """The version message: the revision id and the retirement context, in words."""
    model = snapshot.model
    text = f"Coda snapshot of {model.repo_id}, revision id {snapshot.revision}."
    retirement = Retirement.objects.filter(model=model).first()
    if retirement is not None:
        text += (f" Retirement: {retirement.reason_category}"
                 + (f" ({retirement.reason})" if retirement.reason else "")
                 + (f"; retires on {model.retires_on}" if model.retires_on else "")
                 + f"; access after retirement: {retirement.access_after_retirement}.")
    return text


def _ocfl_user(snapshot: Snapshot) -> dict:
    """The curator who preserved the snapshot (OCFL `user`: a name, and an address that is a URI)."""
    curator = snapshot.created_by
    if curator is None:
        return {"name": "Coda archive"}
    user = {"name": curator.get_full_name() or curator.username}
    if curator.email:
        user["address"] = f"mailto:{curator.email}"
    return user
