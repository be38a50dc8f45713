"""Embargoes: access levels that change by themselves on a date set in advance (AccessChange rows). Applying is
idempotent and date-driven (`today` is an argument), so the scheduler and the tests call the same function."""

from datetime import date

from django.db import transaction
from django.utils import timezone

from catalogue.models import AccessChange, AIModel
from core.events import EventOutcome, EventType, event_record


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
