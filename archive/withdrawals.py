"""Tombstones: withdrawing a model or a snapshot keeps its record (metadata, citation, landing page) and stops
serving its bytes. Every state change is a `deaccession` event; deleting the bytes is a separate, explicit choice
recorded as `deletion` events. The doors answer 410 Gone with `tombstone()` instead of the usual answer. A deletion
of copies storage still protects (S3 Object Lock retention, a legal hold) is refused before anything changes: 409
naming the retention date, a failed `deletion` event, nothing withdrawn and nothing marked deleted."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from archive.assurance import retention
from archive.events import event_record
from archive.exceptions import RetentionRefused
from archive.models import EventOutcome, EventType, Replica, Snapshot, SnapshotFile
from archive.preservation import model_preservation_refresh
from archive.storage.locations import backend_for
from catalogue import approvals
from catalogue.models import AIModel
from catalogue.permissions import is_curator, is_withdrawn  # noqa: F401  (re-exported for the doors)
from core.events import user_agent
from core.exceptions import ForbiddenError

BYTES_CHOICES = ("keep", "delete")


def _check(by, reason: str, keep_bytes: str) -> None:
    if not is_curator(by):
        raise ForbiddenError("Only curators may withdraw a model or a snapshot.")
    if not (reason or "").strip():
        raise ValidationError({"reason": "A withdrawal needs a reason (legal request, licence, error …)."})
    if keep_bytes not in BYTES_CHOICES:
        raise ValidationError({"bytes": f"Choose what happens to the bytes: {' or '.join(BYTES_CHOICES)}."})


def tombstone(model: AIModel, snapshot: Snapshot | None = None) -> dict | None:
    """What a 410 Gone answer carries: the reason and date of the withdrawal (the snapshot's when it has its own),
    or None when nothing is withdrawn."""
    for subject in (snapshot, model):
        if subject is not None and subject.withdrawn_at is not None:
            return {
                "withdrawn": True,
                "withdrawn_at": subject.withdrawn_at.isoformat(),
                "reason": subject.withdrawal_reason,
                "scope": "snapshot" if subject is snapshot else "model",
            }
    return None


def withdrawal_notice(model: AIModel, snapshot: Snapshot | None = None) -> str | None:
    """The one sentence every door answers a withdrawn snapshot's files and exports with (410 `withdrawn`, for every
    role, curators too: a withdrawal is not an access level), naming what was withdrawn (the snapshot, or the model
    when the model itself was), when and why; None when nothing is withdrawn. Follows `tombstone()`."""
    gone = tombstone(model, snapshot)
    if gone is None:
        return None
    if gone["scope"] == "snapshot":
        notice = _withdrawn(f"Snapshot {model.repo_id}@{snapshot.revision or snapshot.pk}", snapshot)
    else:
        notice = _withdrawn(f"The model {model.repo_id}", model)
    notice += " Its files and exports are no longer served; its record and citation stay."
    if gone["scope"] == "snapshot" and model.withdrawn_at is not None:  # both: the model's withdrawal is said too
        notice += " " + _withdrawn(f"The model {model.repo_id}", model)
    return notice


def _withdrawn(what: str, subject) -> str:
    reason = subject.withdrawal_reason.strip()
    return f"{what} was withdrawn on {subject.withdrawn_at:%Y-%m-%d}: {reason}{'' if reason[-1:] in '.!?' else '.'}"


def _replicas_to_delete(snapshots: list[Snapshot]):
    """Every stored copy of the blobs only these snapshots use; blobs another snapshot keeps (content addressing:
    served, or withdrawn with its bytes kept) stay."""
    ids = [s.pk for s in snapshots]
    blob_ids = set(SnapshotFile.objects.filter(snapshot_id__in=ids, blob__isnull=False).values_list("blob_id", flat=True))
    shared = set(
        SnapshotFile.objects.filter(blob_id__in=blob_ids, snapshot__bytes_deleted_at__isnull=True)
        .exclude(snapshot_id__in=ids).values_list("blob_id", flat=True)
    )
    return Replica.objects.filter(blob_id__in=blob_ids - shared).select_related("blob", "location")


def _retention_check(snapshots: list[Snapshot], *, by, model: AIModel, snapshot: Snapshot | None = None) -> None:
    """Before anything changes: refuse (409, a failed `deletion` event that stays) a deletion of copies storage
    still protects, or of a snapshot under legal hold."""
    blockers = retention.deletion_blockers(_replicas_to_delete(snapshots))
    if any(s.legal_hold for s in snapshots) and not any(b["legal_hold"] for b in blockers):
        blockers.append({"key": "", "location": "", "legal_hold": True, "retain_until": None, "blob": None,
                         "version_id": ""})
    if blockers:
        raise retention.refusal_record(blockers, agent=user_agent(by), model=model, snapshot=snapshot)


def _bytes_delete(snapshots: list[Snapshot], *, agent: str) -> int:
    """Delete every stored copy of the blobs only these (withdrawn) snapshots use (each version Coda wrote), then
    mark their bytes deleted. One `deletion` event per copy. A copy storage refuses to delete (a race with the check
    before: retention set meanwhile) stays recorded, with a failed `deletion` event, and the snapshots are then not
    marked deleted: nothing is marked deleted that still exists. Returns the copies deleted."""
    deleted, refused = 0, 0
    for replica in _replicas_to_delete(snapshots):
        try:
            backend_for(replica.location).delete(replica.key, version_id=replica.version_id)
        except RetentionRefused as exc:
            event_record(event_type=EventType.DELETION, outcome=EventOutcome.FAILURE, agent=agent, blob=replica.blob,
                         location=replica.location, detail={"reason": "withdrawal", "key": replica.key,
                                                            "version_id": replica.version_id, "refused": exc.message})
            refused += 1
            continue
        event_record(
            event_type=EventType.DELETION, outcome=EventOutcome.SUCCESS, agent=agent, blob=replica.blob,
            location=replica.location, detail={"reason": "withdrawal", "key": replica.key,
                                               **({"version_id": replica.version_id} if replica.version_id else {})},
        )
        replica.delete()
        deleted += 1
    if not refused:
        Snapshot.objects.filter(pk__in=[s.pk for s in snapshots], bytes_deleted_at__isnull=True).update(
            bytes_deleted_at=timezone.now())
    return deleted


def model_withdraw(*, model: AIModel, reason: str, keep_bytes: str = "keep", withdrawn_by, approval=None) -> AIModel:
    """Withdraw a model: its record stays, its files are no longer served; `keep_bytes` ("keep" or "delete")
    says whether the stored copies of its snapshots go too (an event either way). Deleting bytes needs an
    approved proposal under the two-person rule; deleting copies storage still protects is refused
    (RetentionRefused, 409) before anything changes."""
    _check(withdrawn_by, reason, keep_bytes)
    if keep_bytes == "delete":
        _retention_check(list(model.snapshots.all()), by=withdrawn_by, model=model)
    return _model_withdraw(model=model, reason=reason, keep_bytes=keep_bytes, withdrawn_by=withdrawn_by,
                           approval=approval)


@transaction.atomic
def _model_withdraw(*, model: AIModel, reason: str, keep_bytes: str, withdrawn_by, approval) -> AIModel:
    model = AIModel.objects.select_for_update().get(pk=model.pk)
    approvals.guard("model_withdraw", model=model, params=withdraw_params(reason=reason, keep_bytes=keep_bytes),
                    approval=approval)
    if model.withdrawn_at is not None:
        raise ValidationError({"model": "This model is already withdrawn."})
    agent = user_agent(withdrawn_by)
    model.withdrawn_at = timezone.now()
    model.withdrawal_reason = reason.strip()
    model.save(update_fields=["withdrawn_at", "withdrawal_reason", "updated_at"])
    event_record(event_type=EventType.DEACCESSION, outcome=EventOutcome.SUCCESS, agent=agent, model=model,
                 detail={"withdrawn": True, "reason": model.withdrawal_reason, "bytes": keep_bytes})
    if keep_bytes == "delete":
        copies = _bytes_delete(list(model.snapshots.all()), agent=agent)
        event_record(event_type=EventType.DELETION, outcome=EventOutcome.SUCCESS, agent=agent, model=model,
                     detail={"reason": "withdrawal", "bytes": "delete", "copies_deleted": copies})
        model_preservation_refresh(model)
    return model


def snapshot_withdraw(*, snapshot: Snapshot, reason: str, keep_bytes: str = "keep", withdrawn_by,
                      approval=None) -> Snapshot:
    """Withdraw one snapshot (same rules as a model: record kept, bytes no longer served, kept or deleted; copies
    storage still protects are not deleted: 409 before anything changes)."""
    _check(withdrawn_by, reason, keep_bytes)
    if keep_bytes == "delete":
        _retention_check([snapshot], by=withdrawn_by, model=snapshot.model, snapshot=snapshot)
    return _snapshot_withdraw(snapshot=snapshot, reason=reason, keep_bytes=keep_bytes, withdrawn_by=withdrawn_by,
                              approval=approval)


@transaction.atomic
def _snapshot_withdraw(*, snapshot: Snapshot, reason: str, keep_bytes: str, withdrawn_by, approval) -> Snapshot:
    snapshot = Snapshot.objects.select_for_update().select_related("model").get(pk=snapshot.pk)
    approvals.guard("snapshot_withdraw", model=snapshot.model,
                    params=withdraw_params(reason=reason, keep_bytes=keep_bytes, snapshot=snapshot), approval=approval)
    if snapshot.withdrawn_at is not None:
        raise ValidationError({"snapshot": "This snapshot is already withdrawn."})
    agent = user_agent(withdrawn_by)
    snapshot.withdrawn_at = timezone.now()
    snapshot.withdrawal_reason = reason.strip()
    snapshot.save(update_fields=["withdrawn_at", "withdrawal_reason"])
    event_record(event_type=EventType.DEACCESSION, outcome=EventOutcome.SUCCESS, agent=agent, model=snapshot.model,
                 snapshot=snapshot, detail={"withdrawn": True, "reason": snapshot.withdrawal_reason, "bytes": keep_bytes})
    if keep_bytes == "delete":
        copies = _bytes_delete([snapshot], agent=agent)
        snapshot.refresh_from_db(fields=["bytes_deleted_at"])
        event_record(event_type=EventType.DELETION, outcome=EventOutcome.SUCCESS, agent=agent, model=snapshot.model,
                     snapshot=snapshot, detail={"reason": "withdrawal", "bytes": "delete", "copies_deleted": copies})
        model_preservation_refresh(snapshot.model)
    return snapshot


# --- the two-person rule's kinds for withdrawals that delete bytes (registered in ArchiveConfig.ready) -----------


def withdraw_params(*, reason: str, keep_bytes: str, snapshot: Snapshot | None = None) -> dict:
    params = {"reason": (reason or "").strip(), "bytes": keep_bytes}
    if snapshot is not None:
        params |= {"snapshot": snapshot.pk, "revision": snapshot.revision}
    return params


def _model_check(model, params) -> None:
    if model.withdrawn_at is not None:
        raise ValidationError({"model": "This model is already withdrawn."})


def _snapshot_check(model, params) -> None:
    if Snapshot.objects.filter(pk=params["snapshot"], withdrawn_at__isnull=False).exists():
        raise ValidationError({"snapshot": "This snapshot is already withdrawn."})


def _model_apply(proposal) -> dict:
    model = model_withdraw(model=proposal.model, reason=proposal.params["reason"], keep_bytes=proposal.params["bytes"],
                           withdrawn_by=proposal.proposed_by, approval=proposal)
    return {"withdrawn": True, "bytes": proposal.params["bytes"], "tombstone": tombstone(model)}


def _snapshot_apply(proposal) -> dict:
    snapshot = Snapshot.objects.filter(pk=proposal.params["snapshot"], model=proposal.model).first()
    if snapshot is None:
        raise ValidationError({"snapshot": f"Snapshot {proposal.params['snapshot']} no longer exists."})
    snapshot = snapshot_withdraw(snapshot=snapshot, reason=proposal.params["reason"],
                                 keep_bytes=proposal.params["bytes"], withdrawn_by=proposal.proposed_by,
                                 approval=proposal)
    return {"withdrawn": True, "bytes": proposal.params["bytes"],
            "bytes_deleted": snapshot.bytes_deleted_at is not None}


def approval_kinds_register() -> None:
    """Withdrawing a model or a snapshot and deleting its stored bytes (a withdrawal keeping them is not covered)."""
    approvals.kind_register(
        "model_withdraw", apply=_model_apply, check=_model_check,
        describe=lambda model, p: f"Withdraw {model.repo_id} and delete its stored bytes",
        dangerous=lambda model, p: p.get("bytes") == "delete",
    )
    approvals.kind_register(
        "snapshot_withdraw", apply=_snapshot_apply, check=_snapshot_check,
        describe=lambda model, p: f"Withdraw {model.repo_id}@{p.get('revision') or p['snapshot']} and delete its stored bytes",
        dangerous=lambda model, p: p.get("bytes") == "delete",
    )
