"""Access requests: a researcher asks for a gated model's files; a curator approves (until an
expiry, CODA_ACCESS_GRANT_DAYS by default), denies or revokes. Every decision is appended to the PREMIS event log as an `access` event
(detail.decision = approved / denied / revoked), next to the download events."""

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from catalogue.models import AccessRequest, AIModel
from catalogue.permissions import access_request_refusal, can_decide_access, has_grant
from core.events import EventOutcome, EventType, event_record, user_agent
from core.exceptions import ConflictError, ForbiddenError

DECISIONS = {
    "approve": AccessRequest.Status.APPROVED,
    "deny": AccessRequest.Status.DENIED,
    "revoke": AccessRequest.Status.REVOKED,
}
# Which status each decision may be taken from.
ALLOWED_FROM = {
    "approve": {AccessRequest.Status.PENDING},
    "deny": {AccessRequest.Status.PENDING},
    "revoke": {AccessRequest.Status.APPROVED},
}


@transaction.atomic
def access_request_create(
    *, user, model: AIModel, purpose: str, affiliation: str, accepted_terms: bool
) -> AccessRequest:
    """Record a researcher's request for a gated model's files (purpose, affiliation, terms accepted)."""
    refusal = access_request_refusal(user, model)
    if refusal:
        raise ConflictError(refusal, code="access_request_not_allowed")
    errors = {}
    if not (purpose or "").strip():
        errors["purpose"] = "Say what you will use the files for."
    if not (affiliation or "").strip():
        errors["affiliation"] = "Give your affiliation (institution, lab or 'independent')."
    if accepted_terms is not True:
        errors["accepted_terms"] = f"You must accept the access terms of {model.repo_id}."
    if errors:
        raise ValidationError(errors)
    pending = AccessRequest.objects.select_for_update().filter(
        user=user, model=model, status=AccessRequest.Status.PENDING
    )
    if pending.exists():
        raise ConflictError(
            f"You already have a pending request for {model.repo_id}; a curator will decide it.",
            code="access_request_pending",
        )
    return AccessRequest.objects.create(
        user=user,
        model=model,
        purpose=purpose.strip(),
        affiliation=affiliation.strip(),
        accepted_terms=True,
    )


@transaction.atomic
def access_grant_create(*, model: AIModel, user, granted_by, expires_at: datetime | None = None, note: str = "") -> AccessRequest:
    """A curator grants a named researcher access without a request of theirs: the only way in for models
    whose metadata is restricted (the researcher cannot see them to ask). The grant is an access request
    approved at once through access_request_decide, so it expires and is recorded like any other."""
    if not can_decide_access(granted_by):
        raise ForbiddenError("Only curators may grant access.")
    if has_grant(user, model):
        raise ConflictError(f"{user.get_username()} already has access to {model.repo_id}.", code="access_already_granted")
    row = (
        AccessRequest.objects.select_for_update().filter(user=user, model=model, status=AccessRequest.Status.PENDING).first()
        or AccessRequest.objects.create(
            user=user, model=model, purpose=note.strip() or f"Granted by {granted_by.get_username()}.",
            affiliation="", accepted_terms=False,
        )
    )
    return access_request_decide(access_request=row, decided_by=granted_by, decision="approve", expires_at=expires_at, note=note)


def decision_problem(*, access_request: AccessRequest, decision: str, expires_at: datetime | None) -> str | None:
    """Why this decision cannot be taken on this request now (None when it can)."""
    if decision not in DECISIONS:
        return f"Unknown decision {decision!r}; use approve, deny or revoke."
    if access_request.status not in ALLOWED_FROM[decision]:
        return f"Access request {access_request.pk} is {access_request.status}; it cannot be {DECISIONS[decision]}."
    if decision == "approve" and expires_at is not None and expires_at <= timezone.now():
        return "The expiry must be in the future."
    return None


@transaction.atomic
def access_request_decide(
    *,
    access_request: AccessRequest,
    decided_by,
    decision: str,
    expires_at: datetime | None = None,
    note: str = "",
) -> AccessRequest:
    """Approve (until `expires_at`, by default CODA_ACCESS_GRANT_DAYS from now), deny or revoke a request,
    and append the decision as an event."""
    if not can_decide_access(decided_by):
        raise ForbiddenError("Only curators may decide access requests.")
    if decision not in DECISIONS:
        raise ValidationError({"decision": decision_problem(access_request=access_request, decision=decision, expires_at=None)})
    # Lock the row so two curators deciding at once cannot both win.
    current = AccessRequest.objects.select_for_update().select_related("model__provider", "user").get(
        pk=access_request.pk
    )
    problem = decision_problem(access_request=current, decision=decision, expires_at=expires_at)
    if problem and current.status not in ALLOWED_FROM[decision]:
        raise ConflictError(problem, code="access_request_decided")
    if problem:
        raise ValidationError({"expires_at": problem})
    now = timezone.now()
    current.status = DECISIONS[decision]
    current.decided_by = decided_by
    current.decided_at = now
    current.decision_note = note or ""
    if decision == "approve":
        # Every grant ends: without an explicit expiry it runs CODA_ACCESS_GRANT_DAYS (0 = open-ended).
        if expires_at is None and settings.CODA_ACCESS_GRANT_DAYS > 0:
            expires_at = now + timedelta(days=settings.CODA_ACCESS_GRANT_DAYS)
        current.expires_at = expires_at
    current.save(update_fields=["status", "decided_by", "decided_at", "decision_note", "expires_at"])
    event_record(
        event_type=EventType.ACCESS,
        outcome=EventOutcome.SUCCESS if decision == "approve" else EventOutcome.FAILURE,
        agent=user_agent(decided_by),
        model=current.model,
        detail={
            "decision": current.status,
            "access_request": current.pk,
            "user": current.user.get_username(),
            "expires_at": current.expires_at.isoformat() if current.expires_at else None,
            "note": current.decision_note,
        },
    )
    return current


MODEL_ACCESS_FIELDS = ("metadata_access", "file_access", "access_terms")


@transaction.atomic
def model_access_set(*, model: AIModel, changed_by, **changes) -> AIModel:
    """Set a model's metadata access, file access and/or access terms (curators only); each field that changes
    is an `access` event naming the old and new value."""
    if not can_decide_access(changed_by):
        raise ForbiddenError("Only curators may change who can see a model or read its files.")
    unknown = set(changes) - set(MODEL_ACCESS_FIELDS)
    if unknown:
        raise ValidationError({key: "Not an access field." for key in sorted(unknown)})
    current = AIModel.objects.select_for_update().get(pk=model.pk)
    old = {key: getattr(current, key) for key in MODEL_ACCESS_FIELDS if key in changes and getattr(current, key) != changes[key]}
    if not old:
        return current
    for key in old:
        setattr(current, key, changes[key])
    current.full_clean(validate_constraints=False, validate_unique=False)
    current.save(update_fields=[*old, "updated_at"])
    for key, before in old.items():
        event_record(
            event_type=EventType.ACCESS, outcome=EventOutcome.SUCCESS, agent=user_agent(changed_by), model=current,
            detail={key: {"from": before, "to": changes[key]}},
        )
    return current
