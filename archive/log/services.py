"""Writes of the tamper-evident log: a leaf per event (in the event's transaction), gap-free indexes (given before
each checkpoint), signed checkpoints (a beat task) and their copies on every storage location and the OCFL mirror."""

import base64
import datetime as dt
import hashlib
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from archive.descriptions import signing
from archive.exceptions import TransientStorageError
from archive.log import leaves, notes, tree
from archive.log.selectors import leaf_hashes
from archive.models import LogCheckpoint, LogHead, LogLeaf, PreservationEvent, StorageLocation
from archive.storage import ocfl
from archive.storage.locations import backend_for, locations_sync
from core.events import EventOutcome, EventType, event_record

logger = logging.getLogger(__name__)

OCFL_ID_PREFIX = "coda-log:checkpoint/"
CHECKPOINT_FILE = "checkpoint"


def checkpoint_key(size: int) -> str:
    """Where a checkpoint of `size` leaves is written on a (non-OCFL) storage location."""
    return f"log/checkpoints/{size}"


def leaf_record(event) -> None:
    """Record `event`'s leaf hash in the transaction that records the event (so both or neither are kept). Its index
    is assigned later, by `log_sequence` (before every checkpoint): no log lock is taken here, and no extra commit."""
    LogLeaf.objects.create(event_id=event.pk, leaf_hash=tree.leaf_hash(leaves.leaf_data(leaves.event_object(event))))


def log_sequence() -> int:
    """Give every committed leaf without an index the next indexes, in order of event id; returns how many.

    A short transaction of its own that locks only the head row (the recording transactions took no log lock, so
    they never wait for each other or deadlock over it), so indexes are gap-free whoever runs it concurrently."""
    with transaction.atomic():
        head, _ = LogHead.objects.select_for_update().get_or_create(pk=1)
        pending = list(LogLeaf.objects.filter(index__isnull=True).order_by("event_id")[:10000])
        if not pending:
            return 0
        for offset, leaf in enumerate(pending):
            leaf.index = head.size + offset
        LogLeaf.objects.bulk_update(pending, ["index"], batch_size=1000)
        head.size += len(pending)
        head.save(update_fields=["size"])
    if len(pending) == 10000:
        return len(pending) + log_sequence()
    return len(pending)


def _grown_since(last: LogCheckpoint | None, size: int) -> bool:
    """Whether the tree holds more than the last checkpoint and the event recording that checkpoint."""
    if last is None:
        return size > 0
    if size <= last.size:
        return False
    newer = list(LogLeaf.objects.filter(index__gte=last.size).order_by("index").values_list("event_id", flat=True)[:2])
    return newer != [last.event_id]


def checkpoint_sign(*, agent: str) -> LogCheckpoint | None:
    """Sign a checkpoint of the whole tree when it grew since the last one, after checking it extends that one;
    write it to every storage location and the OCFL mirror; None when there is nothing new or no key."""
    log_sequence()
    private_key = signing.private_key_load()
    if private_key is None:
        logger.warning("CODA_SIGNING_KEY_FILE names no key: no log checkpoint is signed")
        return None
    head = LogHead.objects.filter(pk=1).first()
    size = head.size if head else 0
    last = LogCheckpoint.objects.order_by("-size").first()
    if not _grown_since(last, size):
        return None
    hashes = leaf_hashes(size)
    if last is not None and tree.root(hashes, 0, last.size) != bytes(last.root_hash):
        message = (f"the log's first {last.size} leaves no longer have the root of the signed checkpoint of "
                   f"{last.size}: the log was rewritten; no checkpoint is signed")
        event_record(event_type=EventType.VALIDATION, outcome=EventOutcome.FAILURE, agent=agent,
                     detail={"log_size": size, "checkpoint_size": last.size, "error": message})
        logger.error("%s", message)  # the failed validation event is the record; an operator reads the error log
        return None
    root_hash = tree.root(hashes)
    origin = settings.CODA_LOG_ORIGIN
    note = notes.sign(text=notes.body(origin=origin, size=size, root_hash=root_hash), name=origin,
                      private_key=private_key)
    written, failed = checkpoint_publish(size=size, note=note)
    key = signing.signing_key_record(private_key)
    with transaction.atomic():
        checkpoint, created = LogCheckpoint.objects.get_or_create(
            size=size, defaults={"root_hash": root_hash, "origin": origin, "note": note, "key": key})
        if not created:
            return None  # another signer was first
        event = event_record(
            event_type=EventType.SIGNATURE, outcome=EventOutcome.WARNING if failed else EventOutcome.SUCCESS,
            agent=agent, detail={"log_size": size, "root_hash": base64.b64encode(root_hash).decode("ascii"),
                                 "key_id": key.key_id, "written_to": written, "not_written_to": failed})
        checkpoint.event_id = event.pk
        checkpoint.save(update_fields=["event_id"])
    return checkpoint


def checkpoint_publish(*, size: int, note: str) -> tuple[list[str], list[str]]:
    """Write the signed note beside the objects of every active location: `log/checkpoints/<size>`, or on an OCFL
    mirror as its own object `coda-log:checkpoint/<size>`. Returns (locations written, locations that failed)."""
    data = note.encode("utf-8")
    written, failed = [], []
    for location in sorted(locations_sync(), key=lambda loc: loc.name):
        backend = backend_for(location)
        try:
            if location.kind == StorageLocation.Kind.OCFL:
                _ocfl_write(backend, size=size, data=data)
            else:
                backend.put_bytes(checkpoint_key(size), data)
        except (TransientStorageError, OSError) as exc:
            logger.warning("log checkpoint %s not written to %s: %s", size, location.name, exc)
            failed.append(location.name)
            continue
        written.append(location.name)
    return written, failed


def _ocfl_write(backend, *, size: int, data: bytes) -> None:
    identifier = f"{OCFL_ID_PREFIX}{size}"
    if backend.object_exists(identifier):
        return
    backend.root_declare()
    backend.put_bytes(ocfl.content_key(identifier, CHECKPOINT_FILE), data)
    inventory = ocfl.inventory_build(
        identifier=identifier,
        files=[{"path": CHECKPOINT_FILE, "sha256": hashlib.sha256(data).hexdigest(),
                "md5": hashlib.md5(data).hexdigest()}],
        created=timezone.now().astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z"),
        message=f"Coda log checkpoint of {size} leaves (C2SP signed note; docs/log.md)",
        user={"name": "Coda archive"},
    )
    backend.object_write(inventory)


def log_backfill() -> int:
    """Leaves for events recorded without one (CODA_EVENT_LOG was false), in order of id, then sequenced."""
    missing = PreservationEvent.objects.exclude(pk__in=LogLeaf.objects.values("event_id")).order_by("pk")
    count = 0
    for event in missing.iterator(chunk_size=2000):
        LogLeaf.objects.create(event_id=event.pk,
                               leaf_hash=tree.leaf_hash(leaves.leaf_data(leaves.event_object(event))))
        count += 1
    log_sequence()
    return count
