"""Access requests: a researcher asks for a gated model's files; a curator approves (until an
expiry, CODA_ACCESS_GRANT_DAYS by default), denies or revokes. Every decision is appended to the PREMIS event log as an `access` event
(detail.decision = approved / denied / revoked), next to the download events."""

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from catalogue import approvals
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
def access_grant_create(*, model: AIModel, user, granted_by, expires_at: datetime | None = None, note: str = "",
                        approval=None) -> AccessRequest:
    """A curator grants a named researcher access without a request of theirs: the only way in for models
    whose metadata is restricted (the researcher cannot see them to ask). The grant is an access request
    approved at once through access_request_decide, so it expires and is recorded like any other. Under the
    two-person rule it needs an approved proposal (`approval`)."""
    if not can_decide_access(granted_by):
        raise ForbiddenError("Only curators may grant access.")
    approvals.guard("access_grant", model=model, params=grant_params(user=user, expires_at=expires_at, note=note),
                    approval=approval)
    if has_grant(user, model):
        raise ConflictError(f"{user.get_username()} already has access to {model.repo_id}.", code="access_already_granted")
    row = (
        AccessRequest.objects.select_for_update().filter(user=user, model=model, status=AccessRequest.Status.PENDING).first()
        or AccessRequest.objects.create(
            user=user, model=model, purpose=note.strip() or f"Granted by {granted_by.get_username()}.",
            affiliation="", accepted_terms=False,
        )
    )
    return access_request_decide(access_request=row, decided_by=granted_by, decision="approve", expires_at=expires_at,
                                 note=note, approval=approval)


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
    approval=None,
) -> AccessRequest:
    """Approve (until `expires_at`, by default CODA_ACCESS_GRANT_DAYS from now), deny or revoke a request,
    and append the decision as an event. Approving needs an approved proposal under the two-person rule."""
    if not can_decide_access(decided_by):
        raise ForbiddenError("Only curators may decide access requests.")
    if decision not in DECISIONS:
        raise ValidationError({"decision": decision_problem(access_request=access_request, decision=decision, expires_at=None)})
    if decision == "approve":
        approvals.guard(("access_request_approve", "access_grant"), model=access_request.model,
                        params=approve_params(access_request=access_request, expires_at=expires_at, note=note),
                        approval=approval)
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
def model_access_set(*, model: AIModel, changed_by, approval=None, **changes) -> AIModel:
    """Set a model's metadata access, file access and/or access terms (curators only); each field that changes
    is an `access` event naming the old and new value. Lowering a level needs an approved proposal under the
    two-person rule."""
    if not can_decide_access(changed_by):
        raise ForbiddenError("Only curators may change who can see a model or read its files.")
    unknown = set(changes) - set(MODEL_ACCESS_FIELDS)
    if unknown:
        raise ValidationError({key: "Not an access field." for key in sorted(unknown)})
    current = AIModel.objects.select_for_update().get(pk=model.pk)
    approvals.guard("model_access", model=current, params=changes, approval=approval)
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


# --- the two-person rule's kinds of change (registered in CatalogueConfig.ready) --------------------------------


def _when(value) -> str | None:
    return value.isoformat() if value else None


def _parse_when(value):
    return datetime.fromisoformat(value) if value else None


def grant_params(*, user, expires_at, note) -> dict:
    return {"user": user.get_username(), "expires_at": _when(expires_at), "note": note or ""}


def approve_params(*, access_request: AccessRequest, expires_at, note) -> dict:
    return {"access_request": access_request.pk, "user": access_request.user.get_username(),
            "expires_at": _when(expires_at), "note": note or ""}


def _grant_apply(proposal) -> dict:
    from django.contrib.auth import get_user_model

    params = proposal.params
    user = get_user_model().objects.filter(username=params["user"], is_active=True).first()
    if user is None:
        raise ConflictError(f"There is no active user {params['user']!r} any more.", code="user_gone")
    row = access_grant_create(model=proposal.model, user=user, granted_by=proposal.proposed_by,
                              expires_at=_parse_when(params.get("expires_at")), note=params.get("note", ""),
                              approval=proposal)
    return {"access_request": row.pk, "user": user.get_username(), "expires_at": _when(row.expires_at)}


def _grant_check(model, params) -> None:
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(username=params["user"], is_active=True).first()
    if user is not None and has_grant(user, model):
        raise ConflictError(f"{user.get_username()} already has access to {model.repo_id}.", code="access_already_granted")


def _approve_check(model, params) -> None:
    row = AccessRequest.objects.get(pk=params["access_request"])
    problem = decision_problem(access_request=row, decision="approve", expires_at=_parse_when(params.get("expires_at")))
    if problem:
        raise ConflictError(problem, code="access_request_decided")


def _approve_apply(proposal) -> dict:
    row = AccessRequest.objects.filter(pk=proposal.params["access_request"]).first()
    if row is None:
        raise ConflictError(f"Access request {proposal.params['access_request']} no longer exists.", code="gone")
    row = access_request_decide(access_request=row, decided_by=proposal.proposed_by, decision="approve",
                                expires_at=_parse_when(proposal.params.get("expires_at")),
                                note=proposal.params.get("note", ""), approval=proposal)
    return {"access_request": row.pk, "user": row.user.get_username(), "expires_at": _when(row.expires_at)}


def _lowered(model: AIModel, changes: dict) -> dict:
    """The access levels `changes` would open up: {field: (from, to)}."""
    return {key: (getattr(model, key), changes[key]) for key in ("metadata_access", "file_access")
            if key in changes and approvals.is_lowering(getattr(model, key), changes[key])}


def _model_access_describe(model, params) -> str:
    lowered = _lowered(model, params)
    parts = [f"{key.replace('_', ' ')} from {before} to {after}" for key, (before, after) in lowered.items()]
    return f"Lower {model.repo_id}'s {' and '.join(parts) or 'access'}"


def _model_access_apply(proposal) -> dict:
    model = model_access_set(model=proposal.model, changed_by=proposal.proposed_by, approval=proposal,
                             **proposal.params)
    return {key: getattr(model, key) for key in proposal.params}


def approval_kinds_register() -> None:
    """The catalogue's dangerous changes: granting file access (a direct grant or approving a request) and
    lowering a model's metadata or file access."""
    approvals.kind_register(
        "access_grant", apply=_grant_apply, check=_grant_check,
        describe=lambda model, p: f"Grant {p['user']} access to {model.repo_id}'s files",
    )
    approvals.kind_register(
        "access_request_approve", apply=_approve_apply, check=_approve_check,
        describe=lambda model, p: f"Approve access request {p['access_request']}: {p['user']} reads {model.repo_id}'s files",
    )
    approvals.kind_register(
        "model_access", apply=_model_access_apply, describe=_model_access_describe,
        dangerous=lambda model, params: bool(_lowered(model, params)),
    )
