"""Embargoes: access levels that change by themselves on a date set in advance (AccessChange rows). Applying is
idempotent and date-driven (`today` is an argument), so the scheduler and the tests call the same function."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from catalogue import approvals
from catalogue.models import AccessChange, AIModel, FileAccess, MetadataAccess
from core.events import EventOutcome, EventType, event_record, user_agent
from core.exceptions import ForbiddenError
from core.permissions import is_curator

LEVELS = {AccessChange.Field.METADATA: MetadataAccess.values, AccessChange.Field.FILES: FileAccess.values}


def access_change_check(*, field: str, level: str, effective_on: date, today: date | None = None) -> None:
    """The rules for a scheduled change: a known field, a level that field takes, a date after today (a change
    for today is made directly, not scheduled)."""
    if field not in LEVELS:
        raise ValidationError({"field": f"Choose one of: {', '.join(LEVELS)}."})
    if level not in LEVELS[field]:
        raise ValidationError({"level": f"{field} takes one of: {', '.join(LEVELS[field])}."})
    today = today or timezone.localdate()
    if effective_on <= today:
        raise ValidationError({"effective_on": f"A scheduled change needs a date after today ({today.isoformat()})."})


@transaction.atomic
def access_change_schedule(*, model: AIModel, field: str, level: str, effective_on: date, reason: str = "",
                           created_by, approval=None) -> AccessChange:
    """Schedule an access change (an embargo that lifts, or one that starts) for a date; an `access` event.
    Scheduling a lower level needs an approved proposal under the two-person rule."""
    if not is_curator(created_by):
        raise ForbiddenError("Only curators may schedule access changes.")
    access_change_check(field=field, level=level, effective_on=effective_on)
    approvals.guard("access_change_schedule", model=model,
                    params=schedule_params(field=field, level=level, effective_on=effective_on, reason=reason),
                    approval=approval)
    change = AccessChange.objects.create(model=model, field=field, level=level, effective_on=effective_on,
                                         reason=(reason or "").strip(), created_by=created_by)
    event_record(event_type=EventType.ACCESS, outcome=EventOutcome.SUCCESS, agent=user_agent(created_by), model=model,
                 detail={"embargo": change.pk, "scheduled": {"field": field, "level": level,
                                                             "effective_on": effective_on.isoformat()},
                         "reason": change.reason})
    return change


@transaction.atomic
def access_change_cancel(*, change: AccessChange, cancelled_by) -> None:
    """Cancel a change not yet applied (the row goes; the event keeps what was scheduled and who cancelled it)."""
    if not is_curator(cancelled_by):
        raise ForbiddenError("Only curators may cancel scheduled access changes.")
    change = AccessChange.objects.select_for_update().select_related("model").get(pk=change.pk)
    if change.applied_at is not None:
        raise ValidationError({"change": "This change was applied already; change the access level instead."})
    event_record(event_type=EventType.ACCESS, outcome=EventOutcome.SUCCESS, agent=user_agent(cancelled_by),
                 model=change.model, detail={"embargo": change.pk, "cancelled": {
                     "field": change.field, "level": change.level, "effective_on": change.effective_on.isoformat()}})
    change.delete()


@transaction.atomic
def access_changes_apply(*, today: date | None = None) -> int:
    """Apply every scheduled change due on or before `today` (default: the local date), oldest first; each change
    is an `access` event with the old and new level. Returns how many were applied."""
    today = today or timezone.localdate()
    due = AccessChange.objects.select_for_update().filter(applied_at__isnull=True, effective_on__lte=today)
    applied = 0
    for change in due.order_by("effective_on", "id"):
        model = AIModel.objects.select_for_update().get(pk=change.model_id)
        old = getattr(model, change.field)
        setattr(model, change.field, change.level)
        model.save(update_fields=[change.field, "updated_at"])
        event_record(event_type=EventType.ACCESS, outcome=EventOutcome.SUCCESS, agent="system", model=model,
                     detail={change.field: {"from": old, "to": change.level}, "embargo": change.pk,
                             "effective_on": change.effective_on.isoformat(), "reason": change.reason})
        change.applied_at = timezone.now()
        change.save(update_fields=["applied_at"])
        applied += 1
    return applied


def access_changes_pending(model: AIModel):
    """The model's future access changes (shown on the model page and in the API)."""
    return model.access_changes.filter(applied_at__isnull=True).order_by("effective_on", "id")


# --- the two-person rule's kind for scheduling a lower level (registered in CatalogueConfig.ready) ---------------


def schedule_params(*, field: str, level: str, effective_on: date, reason: str = "") -> dict:
    return {"field": field, "level": level, "effective_on": effective_on.isoformat(), "reason": (reason or "").strip()}


def _schedule_apply(proposal) -> dict:
    p = proposal.params
    change = access_change_schedule(model=proposal.model, field=p["field"], level=p["level"],
                                    effective_on=date.fromisoformat(p["effective_on"]), reason=p["reason"],
                                    created_by=proposal.proposed_by, approval=proposal)
    return {"access_change": change.pk, "effective_on": p["effective_on"]}


def approval_kinds_register() -> None:
    """Scheduling a model's metadata or file access to open up on a later date (an embargo that lifts)."""
    approvals.kind_register(
        "access_change_schedule", apply=_schedule_apply,
        describe=lambda model, p: (f"Lower {model.repo_id}'s {p['field'].replace('_', ' ')} from "
                                   f"{getattr(model, p['field'], '?')} to {p['level']} on {p['effective_on']}"),
        dangerous=lambda model, p: p.get("field") in LEVELS and approvals.is_lowering(getattr(model, p["field"]), p["level"]),
        check=lambda model, p: access_change_check(field=p["field"], level=p["level"],
                                                   effective_on=date.fromisoformat(p["effective_on"])),
    )
