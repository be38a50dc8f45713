"""Snapshot writes other than ingest: the file-access override (API PATCH, admin)."""

from django.core.exceptions import ValidationError
from django.db import transaction

from archive.dispatch import task_send
from archive.events import event_record
from archive.models import EventOutcome, EventType, Snapshot
from catalogue.permissions import is_curator
from core.events import user_agent
from core.exceptions import ForbiddenError


@transaction.atomic
def snapshot_access_set(*, snapshot: Snapshot, file_access: str, changed_by) -> Snapshot:
    """Set (or with "" clear, inheriting the model's) a snapshot's file-access override; curators only.
    The snapshot's bytes are untouched; the change is an `access` event naming the old and new level."""
    if not is_curator(changed_by):
        raise ForbiddenError("Only curators may change a snapshot's file access.")
    file_access = file_access or ""
    if file_access not in ("", "public", "gated", "restricted"):
        raise ValidationError({"file_access": f"Unknown file access {file_access!r}; use public, gated, restricted or \"\" to inherit."})
    current = Snapshot.objects.select_for_update().select_related("model").get(pk=snapshot.pk)
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
