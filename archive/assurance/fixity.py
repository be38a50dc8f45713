"""Fixity audits: re-read stored copies, recompute SHA-256, compare; on a mismatch or a missing object,
mark the replica, alert, repair it from a verified copy and verify the repair. One implementation for
the beat schedule, `manage.py audit` and the curators' API action."""

import logging
import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from archive.assurance import leases
from archive.alerts import alert_raise
from archive.inspection import snapshot_completeness
from archive.exceptions import TransientStorageError
from archive.models import EventOutcome, EventType, Replica, Snapshot, StorageLocation
from archive.preservation import blobs_released, models_refresh_for_blobs
from archive.assurance.replication import NoGoodCopy, blob_copy, ocfl_entries
from archive.sealing import description
from archive.events import event_record
from archive.storage import ocfl
from archive.storage.locations import backend_for
from archive.storage.streaming import HashingReader, ReadAhead

logger = logging.getLogger(__name__)
AUDIT_CHUNK = 8 * 1024 * 1024  # large reads: fewer round trips through the HTTP body
OPEN_AHEAD_MAX_WAIT = 20.0  # seconds an opened-ahead response may wait before it is opened again (idle timeouts)


@dataclass
class AuditReport:
    checked: int = 0
    ok: int = 0
    corrupt: int = 0
    missing: int = 0
    unreachable: int = 0
    repaired: int = 0
    unrecoverable: int = 0
    problems: list = field(default_factory=list)
    completeness: dict = field(default_factory=dict)  # "provider/name@revision" -> complete, problems, missing
    ocfl_problems: list = field(default_factory=list)  # OCFL objects whose inventory is damaged or disagrees
    stray_versions: list = field(default_factory=list)  # versions written over Coda's by someone else (never served)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Opened:
    """A replica's stored object, opened (request sent, response headers in) but not yet read: a stream,
    or why there is none. Opening is separate from reading so an audit can open the next copy while it
    hashes the current one (the server's time to first byte overlaps with hashing)."""

    stream: object = None
    missing: bool = False
    error: Exception | None = None
    opened_at: float = 0.0
    stray_version: str | None = None  # a newer version someone else wrote at the copy's key (never read or served)


def replica_open(replica: Replica) -> Opened:
    """Open a replica's object for reading. Touches no database (it may run on another thread)."""
    backend = backend_for(replica.location)
    try:
        stray = None
        if replica.version_id:  # Coda reads its own version; a plain read would get whatever was written last
            current = backend.current_version(replica.key)
            stray = current if current and current != replica.version_id else None
        stream = ReadAhead(backend.open(replica.key, version_id=replica.version_id), AUDIT_CHUNK)
        return Opened(stream=stream, opened_at=time.monotonic(), stray_version=stray)
    except FileNotFoundError:
        return Opened(missing=True)
    except TransientStorageError as exc:
        return Opened(error=exc)


def replica_check(replica: Replica, *, agent: str, opened: Opened | None = None,
                  holder: leases.Holder | None = None) -> str:
    """Stream one stored copy and compare its SHA-256 with the blob's: 'ok', 'corrupt', 'missing' or 'unreachable'.
    `opened` is the object already opened by the caller (audit_replicas opens one ahead); a stream opened
    ahead that fails mid-read is opened again once before the copy is called unreachable."""
    blob = replica.blob
    attempts = 1 if opened is None else 2
    failure = None
    stray = None
    for attempt in range(attempts):
        if opened is None or attempt:
            opened = replica_open(replica)
        stray = opened.stray_version or stray
        if opened.missing:
            found, size, outcome = None, None, "missing"
            break
        if opened.error is not None:
            event_record(event_type=EventType.FIXITY, outcome=EventOutcome.WARNING, agent=agent, blob=blob,
                         location=replica.location, detail={"expected": blob.sha256, "error": f"location unreachable: {opened.error}"})
            return "unreachable"
        reader = HashingReader(holder.guard(opened.stream) if holder else opened.stream)
        try:
            reader.drain(AUDIT_CHUNK)
        except Exception as exc:  # a connection that drops mid-read says nothing about the bytes
            failure = exc
            continue
        finally:
            opened.stream.close()
        found, size = reader.hexdigest(), reader.bytes_read
        # A sealed copy is checked by its ciphertext's digest: the auditing worker needs no key.
        outcome = "ok" if (found == replica.stored_sha256 and size == replica.stored_size) else "corrupt"
        break
    else:
        event_record(event_type=EventType.FIXITY, outcome=EventOutcome.WARNING, agent=agent, blob=blob,
                     location=replica.location, detail={"expected": blob.sha256, "error": f"read interrupted: {failure}"})
        return "unreachable"
    now = timezone.now()
    with transaction.atomic():
        if holder is not None:
            holder.confirm()
        if outcome == "ok":
            Replica.objects.filter(pk=replica.pk).update(
                state=Replica.State.VERIFIED, last_verified_at=now, verification="fixity check sha256"
            )
        else:
            Replica.objects.filter(pk=replica.pk).update(
                state=Replica.State.MISSING if outcome == "missing" else Replica.State.CORRUPT
            )
        event_record(
            event_type=EventType.FIXITY,
            outcome=EventOutcome.SUCCESS if outcome == "ok" else EventOutcome.FAILURE,
            agent=agent,
            blob=blob,
            location=replica.location,
            detail={"expected": replica.stored_sha256, "found": found, "expected_size": replica.stored_size,
                    "found_size": size, "key": replica.key, "result": outcome,
                    **({"version_id": replica.version_id} if replica.version_id else {}),
                    **({"stray_version": stray, "note": "a newer version at this key was written by someone else; "
                        "Coda audits and serves only its own version"} if stray else {}),
                    **({"sealed": True, "audit": "ciphertext (no key)", "plaintext_sha256": blob.sha256}
                       if replica.is_sealed else {})},
        )
    replica.refresh_from_db()
    replica.stray_version = stray  # for the audit's report (not a field: storage, not Coda, holds that version)
    return outcome


def replica_repair(replica: Replica, *, agent: str, holder: leases.Holder | None = None) -> bool:
    """Restore a corrupt or missing copy from a verified one, then verify it; False when none is left."""
    try:
        blob_copy(blob=replica.blob, target=replica.location, event_type=EventType.REPAIR, agent=agent, holder=holder)
    except TransientStorageError as exc:  # an outage: the next audit tries again; nothing is unrecoverable yet
        event_record(event_type=EventType.REPAIR, outcome=EventOutcome.FAILURE, agent=agent, blob=replica.blob,
                     location=replica.location, detail={"error": f"storage unavailable: {exc}", "retry": True})
        return False
    except NoGoodCopy as exc:
        event_record(event_type=EventType.REPAIR, outcome=EventOutcome.FAILURE, agent=agent, blob=replica.blob,
                     location=replica.location, detail={"error": str(exc), "unrecoverable": True})
        alert_raise(kind="unrecoverable", message=str(exc), sha256=replica.blob.sha256, location=replica.location.name)
        return False
    replica.refresh_from_db()
    return replica_check(replica, agent=agent, holder=holder) == "ok"


def audit_replicas(replicas: QuerySet[Replica], *, agent: str, holder: leases.Holder | None = None) -> AuditReport:
    """Check each replica; alert on and repair every bad one. While one copy is hashed, the next one is
    opened on a helper thread (one ahead, so memory stays one stream's buffers): on S3 the server's time to
    first byte then overlaps with hashing instead of adding to it. A copy opened ahead is dropped and
    opened again if it waited longer than OPEN_AHEAD_MAX_WAIT (a repair ran in between). A location found
    unreachable is not asked again in this audit (each of its remaining copies gets an `unreachable` warning at
    once), so an outage costs one request's timeouts, not one per copy, before the worker is free again."""
    report = AuditReport()
    touched = set()
    queue = list(replicas.select_related("blob", "location"))
    down: set[int] = set()

    def open_unless_down(replica: Replica) -> Opened:
        if replica.location_id in down:
            return Opened(error=TransientStorageError(f"{replica.location.name} was unreachable earlier in this audit"))
        return replica_open(replica)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="coda-audit-open") as pool:
        ahead = pool.submit(open_unless_down, queue[0]) if queue else None
        for index, replica in enumerate(queue):
            opened = ahead.result()
            ahead = pool.submit(open_unless_down, queue[index + 1]) if index + 1 < len(queue) else None
            if opened.stream is not None and time.monotonic() - opened.opened_at > OPEN_AHEAD_MAX_WAIT:
                opened.stream.close()
                opened = None  # replica_check opens it afresh
            outcome = replica_check(replica, agent=agent, opened=opened, holder=holder)
            report.checked += 1
            touched.add(replica.blob_id)
            if getattr(replica, "stray_version", None):
                report.stray_versions.append({"sha256": replica.blob.sha256, "location": replica.location.name,
                                              "key": replica.key, "version_id": replica.version_id,
                                              "stray_version": replica.stray_version})
                alert_raise(kind="stray version", message=f"Someone wrote a new version ({replica.stray_version}) "
                            f"over the stored copy of sha256:{replica.blob.sha256} at {replica.location.name}; Coda "
                            f"keeps serving its own version {replica.version_id}.", sha256=replica.blob.sha256,
                            location=replica.location.name)
            if outcome == "ok":
                report.ok += 1
                continue
            if outcome == "unreachable":
                report.unreachable += 1
                down.add(replica.location_id)
                continue
            setattr(report, outcome, getattr(report, outcome) + 1)
            problem = {"sha256": replica.blob.sha256, "location": replica.location.name, "problem": outcome}
            alert_raise(kind=f"replica {outcome}", message=f"Stored copy of sha256:{replica.blob.sha256} at "
                        f"{replica.location.name} is {outcome}.", sha256=replica.blob.sha256, location=replica.location.name)
            if replica_repair(replica, agent=agent, holder=holder):
                report.repaired += 1
                problem["repaired"] = True
            else:
                report.unrecoverable += 1
                problem["repaired"] = False
            report.problems.append(problem)
    models_refresh_for_blobs(touched)
    # A lost shard also makes its checkpoint incomplete: report that alongside "missing".
    snapshots = Snapshot.objects.filter(
        state=Snapshot.State.SEALED, bytes_deleted_at__isnull=True, files__blob_id__in=touched
    ).distinct()
    for snapshot in snapshots.select_related("model__provider"):
        report.completeness[f"{snapshot.model.repo_id}@{snapshot.revision}"] = snapshot_completeness(snapshot)
    report.ocfl_problems = ocfl_objects_audit(agent=agent, snapshots=snapshots)
    return report


def ocfl_objects_audit(*, agent: str, snapshots: QuerySet[Snapshot] | None = None) -> list[dict]:
    """Check the inventory of each sealed snapshot's OCFL object at every OCFL mirror: it must match its sidecar
    digest and its version copy, and name exactly the files and digests Coda recorded. Each damaged one is a
    failed `fixity check` event and an alert (content files are audited as replicas)."""
    problems = []
    snapshots = snapshots if snapshots is not None else Snapshot.objects.filter(state=Snapshot.State.SEALED)
    for location in StorageLocation.objects.filter(kind=StorageLocation.Kind.OCFL, is_active=True):
        backend = backend_for(location)
        for snapshot in snapshots.select_related("model__provider"):
            identifier = ocfl.object_id(snapshot.model.repo_id, snapshot.revision)
            if not backend.object_exists(identifier):
                continue  # not mirrored yet: replication writes it
            problem = backend.inventory_check(identifier)
            if problem is None:
                files = list(snapshot.files.select_related("blob"))
                recorded = {(e["path"], e["sha256"]) for e in ocfl_entries(files, description.sealed_copies_of(files))}
                inventory = backend.inventory_read(identifier)
                state = inventory["versions"][inventory["head"]]["state"]
                named = {(p, d) for d, paths in state.items() for p in paths}
                # Sealed files come with their description (its digest is checked as a content file's would be).
                named = {(p, d) for p, d in named if p != description.NAME or not any(
                    path.endswith(description.SUFFIX) for path, _ in recorded)}
                if named != recorded:
                    problem = f"inventory of {identifier} does not name the snapshot's files and digests"
            if problem is None:
                continue
            event_record(event_type=EventType.FIXITY, outcome=EventOutcome.FAILURE, agent=agent, location=location,
                         model=snapshot.model, snapshot=snapshot, detail={"ocfl_object": identifier, "error": problem})
            alert_raise(kind="ocfl inventory", message=problem, location=location.name)
            problems.append({"object": identifier, "location": location.name, "problem": problem})
    return problems


def audit_run(*, name: str, task: str, args: list, replicas, agent: str, subject: dict | None = None) -> dict:
    """An audit under a lease (the beat's batch, a model's audit): one worker at a time; a run whose worker dies
    is resumed by the work-resume beat, and `replicas(since)` leaves out copies verified since the run began, so
    no copy is read (or reported) twice for one run."""
    with leases.held(name=name, task=task, args=args, agent=agent, event_type=EventType.FIXITY,
                     subject=subject) as holder:
        if holder is None:
            return {"skipped": "another worker is running this audit"}
        return audit_replicas(replicas(holder.started_at), agent=agent, holder=holder).as_dict()
    return {"stopped": "lease lost"}


def replicas_of_model(model) -> QuerySet[Replica]:
    return Replica.objects.filter(
        blob__snapshot_files__snapshot__model=model, blob__snapshot_files__snapshot__state=Snapshot.State.SEALED
    ).exclude(blob__in=blobs_released()).distinct()


def replicas_due(*, now=None) -> QuerySet[Replica]:
    """The next batch, oldest-verified first, sized so every replica is re-read within CODA_FIXITY_INTERVAL_DAYS
    when a batch runs every CODA_FIXITY_BATCH_PERIOD_MINUTES; anything already overdue is always included."""
    now = now or timezone.now()
    owed = Replica.objects.exclude(blob__in=blobs_released())  # withdrawn bytes deleted on purpose are not audited
    total = owed.count()
    interval = timedelta(days=settings.CODA_FIXITY_INTERVAL_DAYS)
    period = timedelta(minutes=settings.CODA_FIXITY_BATCH_PERIOD_MINUTES)
    batch = max(1, math.ceil(total * (period / interval)))
    overdue = owed.filter(last_verified_at__lt=now - interval).count()
    ids = owed.order_by(F("last_verified_at").asc(nulls_first=True), "pk").values_list("pk", flat=True)[
        : max(batch, overdue)
    ]
    return Replica.objects.filter(pk__in=list(ids))
