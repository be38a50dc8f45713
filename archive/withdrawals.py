"""Tombstones: withdrawing a model or a snapshot keeps its record (metadata, citation, landing page) and stops
serving its bytes. Every state change is a `deaccession` event; deleting the bytes is a separate, explicit choice
recorded as `deletion` events. The doors answer 410 Gone with `tombstone()` instead of the usual answer."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from archive.events import event_record
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


def _bytes_delete(snapshots: list[Snapshot], *, agent: str) -> int:
    """Mark these (withdrawn) snapshots' bytes deleted and delete every stored copy of the blobs only they use;
    blobs another snapshot keeps (content addressing) stay. One `deletion` event per copy. Returns the copies deleted."""
    ids = [s.pk for s in snapshots]
    now = timezone.now()
    Snapshot.objects.filter(pk__in=ids, bytes_deleted_at__isnull=True).update(bytes_deleted_at=now)
    blob_ids = set(SnapshotFile.objects.filter(snapshot_id__in=ids, blob__isnull=False).values_list("blob_id", flat=True))
    # A blob is kept while any other snapshot keeps its bytes (served, or withdrawn with its bytes kept).
    shared = set(
        SnapshotFile.objects.filter(blob_id__in=blob_ids, snapshot__bytes_deleted_at__isnull=True)
        .exclude(snapshot_id__in=ids).values_list("blob_id", flat=True)
    )
    deleted = 0
    for replica in Replica.objects.filter(blob_id__in=blob_ids - shared).select_related("blob", "location"):
        backend_for(replica.location).delete(replica.key)
        event_record(
            event_type=EventType.DELETION, outcome=EventOutcome.SUCCESS, agent=agent, blob=replica.blob,
            location=replica.location, detail={"reason": "withdrawal", "key": replica.key},
        )
        replica.delete()
        deleted += 1
    return deleted


@transaction.atomic
def model_withdraw(*, model: AIModel, reason: str, keep_bytes: str = "keep", withdrawn_by, approval=None) -> AIModel:
    """Withdraw a model: its record stays, its files are no longer served; `keep_bytes` ("keep" or "delete")
    says whether the stored copies of its snapshots go too (an event either way). Deleting bytes needs an
    approved proposal under the two-person rule."""
    _check(withdrawn_by, reason, keep_bytes)
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


@transaction.atomic
def snapshot_withdraw(*, snapshot: Snapshot, reason: str, keep_bytes: str = "keep", withdrawn_by,
                      approval=None) -> Snapshot:
    """Withdraw one snapshot (same rules as a model: record kept, bytes no longer served, kept or deleted)."""
    _check(withdrawn_by, reason, keep_bytes)
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
