"""Snapshot writes other than ingest: the file-access override (API PATCH, admin)."""

from django.core.exceptions import ValidationError
from django.db import transaction

from archive.dispatch import task_send
from archive.events import event_record
from archive.models import EventOutcome, EventType, Snapshot
from catalogue import approvals
from catalogue.permissions import is_curator
from core.events import user_agent
from core.exceptions import ForbiddenError


@transaction.atomic
def snapshot_access_set(*, snapshot: Snapshot, file_access: str, changed_by, approval=None) -> Snapshot:
    """Set (or with "" clear, inheriting the model's) a snapshot's file-access override; curators only.
    The snapshot's bytes are untouched; the change is an `access` event naming the old and new level. Lowering the
    level its files are read at needs an approved proposal under the two-person rule."""
    if not is_curator(changed_by):
        raise ForbiddenError("Only curators may change a snapshot's file access.")
    file_access = file_access or ""
    if file_access not in ("", "public", "gated", "restricted"):
        raise ValidationError({"file_access": f"Unknown file access {file_access!r}; use public, gated, restricted or \"\" to inherit."})
    current = Snapshot.objects.select_for_update().select_related("model").get(pk=snapshot.pk)
    approvals.guard("snapshot_access", model=current.model, params=snapshot_access_params(current, file_access),
                    approval=approval)
    if current.file_access != file_access:
        event_record(
            event_type=EventType.ACCESS, outcome=EventOutcome.SUCCESS, agent=user_agent(changed_by),
            model=current.model, snapshot=current,
            detail={"file_access": {"from": current.file_access or "inherit", "to": file_access or "inherit"}},
        )
        current.file_access = file_access
        current.save(update_fields=["file_access"])
        # A more restrictive level may now require its files sealed: re-seal at once (the beat would, later).
        transaction.on_commit(lambda: task_send("archive.tasks.reseal_pending"))
    return current


# --- the two-person rule's kind for this change (registered in ArchiveConfig.ready) ------------------------------


def snapshot_access_params(snapshot: Snapshot, file_access: str) -> dict:
    return {"snapshot": snapshot.pk, "revision": snapshot.revision, "file_access": file_access or "",
            "from": snapshot.file_access or ""}


def _levels(model, params) -> tuple[str, str]:
    """The level the snapshot's files are read at before and after the change (an override, else the model's)."""
    current = Snapshot.objects.filter(pk=params["snapshot"]).values_list("file_access", flat=True).first() or ""
    return current or model.file_access, params["file_access"] or model.file_access


def _apply(proposal) -> dict:
    snapshot = Snapshot.objects.filter(pk=proposal.params["snapshot"], model=proposal.model).first()
    if snapshot is None:
        raise ValidationError({"snapshot": f"Snapshot {proposal.params['snapshot']} no longer exists."})
    snapshot = snapshot_access_set(snapshot=snapshot, file_access=proposal.params["file_access"],
                                   changed_by=proposal.proposed_by, approval=proposal)
    return {"snapshot": snapshot.pk, "file_access": snapshot.file_access or "inherit"}


def approval_kinds_register() -> None:
    """Lowering the level a snapshot's files are read at (its override, or clearing a stricter one)."""
    approvals.kind_register(
        "snapshot_access", apply=_apply,
        describe=lambda model, p: (f"Lower {model.repo_id}@{p['revision'] or p['snapshot']}'s file access from "
                                   f"{_levels(model, p)[0]} to {_levels(model, p)[1]}"),
        dangerous=lambda model, p: approvals.is_lowering(*_levels(model, p)),
        restricted=lambda model, p: approvals.model_is_restricted(model) or _levels(model, p)[0] == "restricted",
    )
