"""Two-person rule (issue 28 part 2): a dangerous change to a restricted model (to every model when
CODA_TWO_PERSON_RULE=all) becomes a Proposal that takes effect only when a different curator approves it.

Kinds of change are registered here by name (`kind_register`): the catalogue's in CatalogueConfig.ready, the
archive's in ArchiveConfig.ready, so the catalogue never imports the archive. Each kind says when a change is
dangerous, which model it touches, how to describe it and how to apply it (through the same service a door calls,
passing `approval=`). Each service calls `guard` first, so no door can make the change without an approved
proposal while the rule applies. A door calls `propose_if_required` and answers 202 with `proposal_body`.

Every proposal, approval, refusal and expiry is a `policy assignment` event (detail: action, proposal, kind,
proposed_by, decided_by)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from catalogue.models import AIModel, FileAccess, MetadataAccess, Proposal
from core.events import EventOutcome, EventType, event_record, user_agent
from core.exceptions import ConflictError, ForbiddenError, NotFoundError
from core.permissions import is_curator

MODES = ("off", "restricted", "all")
# Less open first: lowering a level means moving right in this order.
LEVELS = {"restricted": 0, "gated": 1, "public": 2}


class ApprovalRequired(ConflictError):
    """A service was asked for a dangerous change without an approved proposal while the rule applies."""

    code = "approval_required"


@dataclass(frozen=True)
class Kind:
    name: str
    apply: Callable[[Proposal], dict]  # makes the change through its service; returns facts for `result`
    describe: Callable[[AIModel | None, dict], str]  # the change in one sentence
    dangerous: Callable[[AIModel | None, dict], bool]  # whether this change (these params) is one the rule covers
    restricted: Callable[[AIModel | None, dict], bool] | None  # whether the subject counts as restricted
    check: Callable[[AIModel | None, dict], None] | None  # raises a DomainError when the change cannot be made now


_kinds: dict[str, Kind] = {}


def kind_register(name: str, *, apply, describe, dangerous=None, restricted=None, check=None) -> None:
    """Register a kind of dangerous change (idempotent: AppConfig.ready may run more than once in tests)."""
    _kinds[name] = Kind(name=name, apply=apply, describe=describe,
                        dangerous=dangerous or (lambda model, params: True), restricted=restricted, check=check)


def kind_get(name: str) -> Kind:
    if name not in _kinds:
        raise RuntimeError(f"No change kind {name!r} is registered: is its app in INSTALLED_APPS?")
    return _kinds[name]


def kind_names() -> list[str]:
    return sorted(_kinds)


def is_lowering(before: str, after: str) -> bool:
    """Whether an access level moves towards more open (restricted → gated → public)."""
    return LEVELS.get(after, -1) > LEVELS.get(before, 99)


def model_is_restricted(model: AIModel | None) -> bool:
    """A restricted model: its metadata or its files are restricted. No model (an archive-wide change such as a
    key rotation, which touches every restricted model's sealed files) counts as restricted."""
    if model is None:
        return True
    return model.metadata_access == MetadataAccess.RESTRICTED or model.file_access == FileAccess.RESTRICTED


def rule_mode() -> str:
    return settings.CODA_TWO_PERSON_RULE


def approval_required(kind: str, *, model: AIModel | None = None, params: dict | None = None) -> bool:
    """Whether this change needs a second curator: the rule is on, the change is dangerous, and the model is
    restricted (every model under CODA_TWO_PERSON_RULE=all)."""
    entry, params = kind_get(kind), params or {}
    mode = rule_mode()
    if mode == "off" or not entry.dangerous(model, params):
        return False
    if mode == "all":
        return True
    return (entry.restricted or (lambda m, p: model_is_restricted(m)))(model, params)


def guard(kind: str | tuple[str, ...], *, model: AIModel | None = None, params: dict | None = None,
          approval: Proposal | None = None) -> None:
    """First line of every service making a dangerous change: refuse it without an approved proposal of its kind
    while the rule applies (409 `approval_required`)."""
    kinds = (kind,) if isinstance(kind, str) else kind
    if approval is not None:
        if approval.status != Proposal.Status.APPROVED or approval.kind not in kinds:
            raise ConflictError(f"Proposal {approval.pk} ({approval.kind}, {approval.status}) does not approve this "
                                "change.", code="approval_mismatch")
        return
    if approval_required(kinds[0], model=model, params=params):
        raise ApprovalRequired(
            f"{kind_get(kinds[0]).describe(model, params or {})}: this change needs a second curator's approval "
            "(two-person rule); propose it and have another curator approve it at /api/v1/approvals/."
        )


def _record(proposal: Proposal, *, action: str, outcome: str, agent: str, extra: dict | None = None) -> None:
    event_record(
        event_type=EventType.POLICY, outcome=outcome, agent=agent, model=proposal.model,
        detail={
            "action": action,
            "proposal": proposal.pk,
            "kind": proposal.kind,
            "summary": proposal.summary,
            "proposed_by": proposal.proposed_by.get_username() if proposal.proposed_by else None,
            "decided_by": proposal.decided_by.get_username() if proposal.decided_by else None,
            **(extra or {}),
        },
    )


@transaction.atomic
def proposal_create(*, kind: str, proposed_by, model: AIModel | None = None, params: dict,
                    reason: str = "") -> Proposal:
    """Record a proposed dangerous change (curators only); it expires after CODA_APPROVAL_TTL_HOURS."""
    if not is_curator(proposed_by):
        raise ForbiddenError("Only curators may propose this change.")
    entry = kind_get(kind)
    if entry.check is not None:
        entry.check(model, params)  # a change that could not be applied now is refused, not proposed
    proposal = Proposal.objects.create(
        kind=kind, model=model, params=params, summary=entry.describe(model, params), reason=(reason or "").strip(),
        proposed_by=proposed_by, expires_at=timezone.now() + timedelta(hours=settings.CODA_APPROVAL_TTL_HOURS),
    )
    _record(proposal, action="proposed", outcome=EventOutcome.SUCCESS, agent=user_agent(proposed_by),
            extra={"params": params, "expires_at": proposal.expires_at.isoformat()})
    return proposal


def propose_if_required(*, kind: str, proposed_by, model: AIModel | None = None, params: dict,
                        reason: str = "") -> Proposal | None:
    """The door's question: a new proposal when the rule covers this change, else None (apply it now)."""
    if not approval_required(kind, model=model, params=params):
        return None
    return proposal_create(kind=kind, proposed_by=proposed_by, model=model, params=params, reason=reason)


def proposals_expire(*, now=None) -> int:
    """Close every pending proposal past its expiry, one `policy assignment` event each (beat task and lazily
    before each read or decision). Returns how many expired."""
    now = now or timezone.now()
    expired = 0
    with transaction.atomic():
        due = (Proposal.objects.select_for_update(skip_locked=True, of=("self",))
               .select_related("proposed_by", "model").filter(status=Proposal.Status.PENDING, expires_at__lte=now))
        for proposal in due:
            proposal.status = Proposal.Status.EXPIRED
            proposal.decided_at = now
            proposal.save(update_fields=["status", "decided_at"])
            _record(proposal, action="expired", outcome=EventOutcome.FAILURE, agent="system",
                    extra={"expires_at": proposal.expires_at.isoformat()})
            expired += 1
    return expired


def _pending(proposal_id: int) -> Proposal:
    proposal = (Proposal.objects.select_for_update(of=("self",)).select_related("proposed_by", "model")
                .filter(pk=proposal_id).first())
    if proposal is None:
        raise NotFoundError(f"Proposal {proposal_id} does not exist.")
    if proposal.status != Proposal.Status.PENDING:
        raise ConflictError(f"Proposal {proposal.pk} is {proposal.status}; it can no longer be decided.",
                            code="proposal_decided")
    if proposal.expires_at <= timezone.now():  # expired since proposals_expire ran: refused, not applied
        raise ConflictError(f"Proposal {proposal.pk} expired at {proposal.expires_at:%Y-%m-%d %H:%M} UTC.",
                            code="proposal_decided")
    return proposal


def proposal_approve(*, proposal_id: int, approved_by, note: str = "") -> Proposal:
    """A second curator approves: the change is applied through its service in the same transaction (which
    re-checks that it is still valid; if not, nothing changes and the proposal stays pending), then recorded."""
    if not is_curator(approved_by):
        raise ForbiddenError("Only curators may approve a proposed change.")
    proposals_expire()  # committed on its own: an expiry stays recorded even when this approval is refused
    with transaction.atomic():
        proposal = _pending(proposal_id)
        if proposal.proposed_by_id == approved_by.pk:
            raise ForbiddenError(f"You proposed change {proposal.pk}; a different curator must approve it "
                                 "(two-person rule).", code="self_approval")
        if not is_curator(proposal.proposed_by):
            raise ConflictError(f"The proposer of change {proposal.pk} is no longer a curator; refuse it.",
                                code="proposer_not_curator")
        proposal.status = Proposal.Status.APPROVED
        proposal.decided_by = approved_by
        proposal.decided_at = timezone.now()
        proposal.decision_note = (note or "").strip()
        proposal.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        proposal.result = kind_get(proposal.kind).apply(proposal) or {}
        proposal.save(update_fields=["result"])
        _record(proposal, action="approved", outcome=EventOutcome.SUCCESS, agent=user_agent(approved_by),
                extra={"result": proposal.result, "note": proposal.decision_note})
    return proposal


def proposal_refuse(*, proposal_id: int, refused_by, note: str = "") -> Proposal:
    """A curator refuses a pending proposal (its proposer may, to withdraw it); nothing changes."""
    if not is_curator(refused_by):
        raise ForbiddenError("Only curators may refuse a proposed change.")
    proposals_expire()
    with transaction.atomic():
        proposal = _pending(proposal_id)
        proposal.status = Proposal.Status.REFUSED
        proposal.decided_by = refused_by
        proposal.decided_at = timezone.now()
        proposal.decision_note = (note or "").strip()
        proposal.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        _record(proposal, action="refused", outcome=EventOutcome.FAILURE, agent=user_agent(refused_by),
                extra={"note": proposal.decision_note})
    return proposal


# --- reads -----------------------------------------------------------------------------------------------------


def proposals_list(*, status: str | None = None, kind: str | None = None, model: str | None = None):
    """Proposals, newest first, after closing the expired ones; filters by status, kind and 'provider/name'."""
    proposals_expire()
    queryset = Proposal.objects.select_related("proposed_by", "decided_by", "model__provider")
    if status:
        queryset = queryset.filter(status=status)
    if kind:
        queryset = queryset.filter(kind=kind)
    if model:
        queryset = queryset.filter(model__repo_key=model)
    return queryset


def proposal_get(proposal_id: int) -> Proposal:
    proposals_expire()
    proposal = proposals_list().filter(pk=proposal_id).first()
    if proposal is None:
        raise NotFoundError(f"Proposal {proposal_id} does not exist.")
    return proposal


def proposals_pending_count() -> int:
    return proposals_list(status=Proposal.Status.PENDING).count()


def proposal_data(proposal: Proposal) -> dict:
    """A proposal as the API, the CLI and the 202 answers show it."""
    return {
        "id": proposal.pk,
        "kind": proposal.kind,
        "status": proposal.status,
        "summary": proposal.summary,
        "model": proposal.model.repo_key if proposal.model_id else None,
        "params": proposal.params,
        "reason": proposal.reason,
        "proposed_by": proposal.proposed_by.get_username() if proposal.proposed_by else None,
        "decided_by": proposal.decided_by.get_username() if proposal.decided_by else None,
        "decision_note": proposal.decision_note,
        "result": proposal.result,
        "created_at": proposal.created_at.isoformat(),
        "expires_at": proposal.expires_at.isoformat(),
        "decided_at": proposal.decided_at.isoformat() if proposal.decided_at else None,
        "url": f"/api/v1/approvals/{proposal.pk}/",
    }


def proposal_body(proposal: Proposal) -> dict:
    """The 202 answer of a door whose change became a proposal."""
    return {
        "approval_required": True,
        "detail": f"{proposal.summary}: proposed as change {proposal.pk}; it takes effect when a different curator "
                  f"approves it (POST /api/v1/approvals/{proposal.pk}/approve/) before "
                  f"{proposal.expires_at:%Y-%m-%d %H:%M} UTC.",
        "proposal": proposal_data(proposal),
    }
