"""Storage-enforced retention (S3 Object Lock, docs/retention.md): retention dates kept ahead of the calendar for as
long as Coda holds the bytes, legal holds on a snapshot's copies, and the question every deletion asks first (is this
copy still protected by storage?). Every change is a `policy assignment` event; a refused deletion is a failed
`deletion` event."""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from archive.events import event_record
from archive.exceptions import RetentionRefused, TransientStorageError
from archive.models import Blob, EventOutcome, EventType, Replica, Snapshot, StorageLocation
from archive.storage.locations import backend_for
from archive.storage.object_lock import lock_mode, retain_until_new
from core.events import user_agent
from core.exceptions import ForbiddenError
from core.permissions import is_curator

logger = logging.getLogger(__name__)
EXPIRING_DAYS = 30  # the health page lists copies whose retention ends within this many days


def _on_s3() -> Q:
    return Q(location__kind=StorageLocation.Kind.S3) | (Q(location__kind=StorageLocation.Kind.OCFL) & ~Q(location__bucket=""))


def replicas_expiring(*, within_days: int = EXPIRING_DAYS, now: datetime | None = None) -> QuerySet[Replica]:
    """Copies Coda holds whose retention ends within `within_days` (soonest first): the health page's list."""
    horizon = (now or timezone.now()) + timedelta(days=within_days)
    return (
        Replica.objects.filter(retain_until__isnull=False, retain_until__lte=horizon, location__is_active=True)
        .exclude(state=Replica.State.MISSING)
        .select_related("blob", "location")
        .order_by("retain_until", "pk")
    )


def replicas_to_extend(*, now: datetime | None = None) -> QuerySet[Replica]:
    """S3 copies Coda holds whose retention ends within CODA_RETENTION_EXTEND_DAYS, or that have none yet (written
    before Object Lock was asked for)."""
    horizon = (now or timezone.now()) + timedelta(days=settings.CODA_RETENTION_EXTEND_DAYS)
    return (
        Replica.objects.filter(_on_s3(), location__is_active=True)
        .filter(Q(retain_until__isnull=True) | Q(retain_until__lte=horizon))
        .exclude(state=Replica.State.MISSING)
        .select_related("blob", "location")
        .order_by("retain_until", "pk")
    )


def retention_extend(*, agent: str, now: datetime | None = None, limit: int = 10_000) -> dict:
    """Move the retention date of every copy near its end (or without one) to CODA_RETENTION_DAYS from now, so bytes
    stay protected by storage for as long as Coda holds them; then apply legal holds not yet on storage. One
    `policy assignment` event per copy. A location that cannot be reached is skipped (the next run catches up)."""
    report = {"extended": 0, "unreachable": 0, "holds_applied": 0, "mode": settings.CODA_S3_OBJECT_LOCK}
    if lock_mode() is None:
        report["skipped"] = "CODA_S3_OBJECT_LOCK=off"
        return report
    now = now or timezone.now()
    until = retain_until_new(now)
    down: set[int] = set()
    for replica in replicas_to_extend(now=now)[:limit]:
        if replica.location_id in down:
            report["unreachable"] += 1
            continue
        try:
            backend_for(replica.location).retention_set(replica.key, version_id=replica.version_id, until=until)
        except TransientStorageError as exc:
            down.add(replica.location_id)
            report["unreachable"] += 1
            logger.warning("retention of %s at %s not extended: %s", replica.key, replica.location.name, exc)
            continue
        previous = replica.retain_until
        with transaction.atomic():
            Replica.objects.filter(pk=replica.pk).update(retain_until=until)
            event_record(
                event_type=EventType.POLICY, outcome=EventOutcome.SUCCESS, agent=agent, blob=replica.blob,
                location=replica.location,
                detail={"retention": "extended" if previous else "set", "mode": lock_mode(), "key": replica.key,
                        "version_id": replica.version_id, "from": previous.isoformat() if previous else None,
                        "until": until.isoformat()},
            )
        report["extended"] += 1
    report["holds_applied"] = legal_holds_apply(agent=agent)
    return report


def _held_blobs() -> QuerySet[Blob]:
    return Blob.objects.filter(snapshot_files__snapshot__legal_hold=True)


def _hold_one(replica: Replica, *, on: bool, agent: str, reason: str, snapshot: Snapshot | None = None) -> None:
    """Storage first (the hold that protects the bytes), then the record and its event."""
    enforced = backend_for(replica.location).legal_hold_set(replica.key, version_id=replica.version_id, on=on)
    with transaction.atomic():
        Replica.objects.filter(pk=replica.pk).update(legal_hold=on)
        event_record(
            event_type=EventType.POLICY, outcome=EventOutcome.SUCCESS, agent=agent, blob=replica.blob,
            location=replica.location, snapshot=snapshot, model=snapshot.model if snapshot else None,
            detail={"legal_hold": "set" if on else "released", "key": replica.key, "version_id": replica.version_id,
                    "reason": reason, "enforced_by": "storage" if enforced else "coda"},
        )


def legal_holds_apply(*, agent: str) -> int:
    """Put the hold on copies of held snapshots' blobs that lack it (copies made after the hold: replication,
    repair); returns how many were applied."""
    applied = 0
    missing = Replica.objects.filter(blob__in=_held_blobs(), legal_hold=False).exclude(state=Replica.State.MISSING)
    for replica in missing.select_related("blob", "location").distinct():
        try:
            _hold_one(replica, on=True, agent=agent, reason="copy of a snapshot under legal hold")
        except TransientStorageError as exc:
            logger.warning("legal hold on %s at %s not applied: %s", replica.key, replica.location.name, exc)
            continue
        applied += 1
    return applied


def snapshot_legal_hold_set(*, snapshot: Snapshot, on: bool, reason: str = "", by) -> Snapshot:
    """Put (on=True) or release a legal hold on a snapshot: every stored copy of its files is held by storage (S3
    Object Lock legal hold; on other locations Coda refuses the deletion itself) until released, whatever the
    retention policy. Releasing keeps the hold on blobs another held snapshot shares. Curators only; a reason is
    required to put one. A storage outage part-way leaves the snapshot held and the remaining copies to the
    retention-extend beat, which applies missing holds."""
    if not is_curator(by):
        raise ForbiddenError("Only curators may put or release a legal hold.")
    reason = (reason or "").strip()
    if on and not reason:
        raise ValidationError({"reason": "A legal hold needs a reason (the matter or order it serves)."})
    agent = user_agent(by)
    with transaction.atomic():
        snapshot = Snapshot.objects.select_for_update().select_related("model").get(pk=snapshot.pk)
        if snapshot.legal_hold == on:
            return snapshot
        snapshot.legal_hold = on
        snapshot.legal_hold_reason = reason if on else ""
        snapshot.save(update_fields=["legal_hold", "legal_hold_reason"])
        event_record(event_type=EventType.POLICY, outcome=EventOutcome.SUCCESS, agent=agent, model=snapshot.model,
                     snapshot=snapshot, detail={"legal_hold": "set" if on else "released", "reason": reason})
    blobs = Blob.objects.filter(snapshot_files__snapshot=snapshot)
    replicas = Replica.objects.filter(blob__in=blobs, legal_hold=not on).exclude(state=Replica.State.MISSING)
    if not on:
        replicas = replicas.exclude(blob__in=_held_blobs())  # still held by another snapshot that shares the blob
    for replica in replicas.select_related("blob", "location").distinct():
        _hold_one(replica, on=on, agent=agent, reason=reason or "legal hold released", snapshot=snapshot)
    return snapshot


def deletion_blockers(replicas) -> list[dict]:
    """The copies storage would refuse to delete now, from Coda's record and from storage itself (S3 reports each
    version's retention date and legal hold): [{key, location, retain_until, legal_hold}]."""
    now = timezone.now()
    blockers = []
    for replica in replicas:
        until, hold = replica.retain_until, replica.legal_hold
        if replica.location.on_s3 and (replica.version_id or lock_mode()):
            state = backend_for(replica.location).lock_state(replica.key, version_id=replica.version_id)
            if state.get("retain_until") and (until is None or state["retain_until"] > until):
                until = state["retain_until"]
            hold = hold or bool(state.get("legal_hold"))
        if hold or (until is not None and until > now):
            blockers.append({"key": replica.key, "location": replica.location.name, "legal_hold": hold,
                             "retain_until": until if until is not None and until > now else None,
                             "blob": replica.blob, "version_id": replica.version_id})
    return blockers


def refusal_record(blockers: list[dict], *, agent: str, model=None, snapshot=None) -> RetentionRefused:
    """Record a refused deletion (a failed `deletion` event) and return the 409 error naming the retention date."""
    dates = [b["retain_until"] for b in blockers if b["retain_until"] is not None]
    held = [b for b in blockers if b["legal_hold"]]
    latest = max(dates) if dates else None
    parts = []
    if latest is not None:
        parts.append(f"retained by storage (S3 Object Lock) until {latest:%Y-%m-%d %H:%M:%S} UTC")
    if held:
        parts.append("under a legal hold")
    one = len(blockers) == 1
    message = (f"{len(blockers)} stored cop{'y is' if one else 'ies are'} {' and '.join(parts)}; storage refuses to "
               f"delete {'it' if one else 'them'}. Nothing was withdrawn or deleted: withdraw with bytes=keep"
               + (f", or delete the bytes after {latest:%Y-%m-%d}." if latest and not held else "."))
    event_record(
        event_type=EventType.DELETION, outcome=EventOutcome.FAILURE, agent=agent, model=model, snapshot=snapshot,
        detail={"reason": "withdrawal", "refused": "retention", "retain_until": latest.isoformat() if latest else None,
                "legal_hold": bool(held), "copies": [{"key": b["key"], "location": b["location"],
                                                      "version_id": b["version_id"],
                                                      "retain_until": b["retain_until"].isoformat()
                                                      if b["retain_until"] else None} for b in blockers[:100]]},
    )
    error = RetentionRefused(message)
    error.retain_until = latest
    return error


def snapshot_retention(snapshot: Snapshot) -> dict:
    """What the model page tells curators about a snapshot's protection: its legal hold and reason, and the
    retention dates of its stored copies (earliest and latest), with how many copies are held."""
    replicas = Replica.objects.filter(blob__snapshot_files__snapshot=snapshot).exclude(
        state=Replica.State.MISSING).distinct()
    dates = sorted(r for r in replicas.values_list("retain_until", flat=True) if r is not None)
    return {
        "legal_hold": snapshot.legal_hold, "reason": snapshot.legal_hold_reason, "copies": replicas.count(),
        "held_copies": replicas.filter(legal_hold=True).count(), "retained_copies": len(dates),
        "earliest": dates[0] if dates else None, "latest": dates[-1] if dates else None,
        "mode": settings.CODA_S3_OBJECT_LOCK,
    }
