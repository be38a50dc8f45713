"""Dossier reads with rules: commitments and overdue, the retirement registry, visible writings."""

from dataclasses import dataclass
from datetime import date

from django.db.models import (
    BooleanField,
    Case,
    Count,
    F,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils import timezone

from archive.models import Snapshot
from core.exceptions import NotFoundError
from catalogue.models import AIModel
from catalogue.permissions import (
    visible_model_requests,
    visible_models,
    with_visible_replacement,
)
from catalogue.selectors import model_queryset
from dossier.models import (
    ExitInterview,
    ModelRequest,
    ModelWriting,
    PostDeploymentReport,
    ResponseStatus,
    WritingStatus,
)
from dossier.permissions import visible_writings


def interview_queryset(model: AIModel, *, user=None) -> QuerySet[ExitInterview]:
    """A model's interviews with turn counts and the requests `user` may see, in a fixed number of queries."""
    return (
        ExitInterview.objects.filter(model=model)
        .select_related("model__provider", "snapshot", "created_by")
        .annotate(turn_count=Count("turns"))
        .prefetch_related(
            Prefetch("requests", queryset=model_request_queryset(user).order_by("pk"), to_attr="visible_requests")
        )
    )


def interview_get(*, model: AIModel, pk: int, user=None) -> ExitInterview:
    interview = interview_queryset(model, user=user).filter(pk=pk).first()
    if interview is None:
        raise NotFoundError(f"{model.repo_id} has no exit interview {pk}.", code="interview_not_found")
    return interview


def model_request_queryset(user) -> QuerySet[ModelRequest]:
    """Requests visible to `user`, with what the API shows fetched up front."""
    queryset = ModelRequest.objects.select_related("turn", "interview__model__provider")
    return visible_model_requests(user, queryset)


def commitments(user, *, model: AIModel | None = None, today: date | None = None) -> QuerySet[ModelRequest]:
    """Accepted requests not yet fulfilled, with `overdue` (due date passed) annotated; overdue first, undated last."""
    today = today or timezone.localdate()
    queryset = model_request_queryset(user).filter(status=ResponseStatus.ACCEPTED)
    if model is not None:
        queryset = queryset.filter(interview__model=model)
    return queryset.annotate(
        overdue=Case(When(Q(due_on__lt=today), then=Value(True)), default=Value(False), output_field=BooleanField())
    ).order_by("-overdue", F("due_on").asc(nulls_last=True), "pk")


def is_overdue(model_request: ModelRequest, *, today: date | None = None) -> bool:
    """Python twin of the `overdue` annotation."""
    today = today or timezone.localdate()
    return (
        model_request.status == ResponseStatus.ACCEPTED
        and model_request.due_on is not None
        and model_request.due_on < today
    )


def retirement_registry(user, *, providers: list[str] | None = None) -> QuerySet[AIModel]:
    """Every visible model with a retirement date (past or upcoming), newest date first; each row knows whether
    `user` may see its replacement (catalogue.permissions.visible_replacement)."""
    queryset = with_visible_replacement(user, visible_models(user, model_queryset())).filter(retires_on__isnull=False)
    if providers:
        queryset = queryset.filter(provider__slug__in=providers)
    return queryset.order_by("-retires_on", "provider__slug", "name")


@dataclass(frozen=True)
class Withdrawal:
    """A tombstone as the feeds show it: a withdrawn model, or one withdrawn snapshot (revision set)."""

    model: AIModel
    revision: str | None
    withdrawn_at: object
    reason: str


def withdrawals(user, *, providers: list[str] | None = None, limit: int = 200) -> list[Withdrawal]:
    """Withdrawn models and snapshots of the models `user` may see, newest first (the record stays: a tombstone)."""
    models = visible_models(user, AIModel.objects.select_related("provider")).filter(withdrawn_at__isnull=False)
    snapshots = Snapshot.objects.select_related("model__provider").filter(
        withdrawn_at__isnull=False, model__in=visible_models(user, AIModel.objects.all()).values("pk")
    )
    if providers:
        models = models.filter(provider__slug__in=providers)
        snapshots = snapshots.filter(model__provider__slug__in=providers)
    rows = [Withdrawal(m, None, m.withdrawn_at, m.withdrawal_reason) for m in models.order_by("-withdrawn_at")[:limit]]
    rows += [Withdrawal(s.model, s.revision, s.withdrawn_at, s.withdrawal_reason)
             for s in snapshots.order_by("-withdrawn_at")[:limit]]
    return sorted(rows, key=lambda row: row.withdrawn_at, reverse=True)[:limit]


def report_versions(model: AIModel) -> QuerySet[PostDeploymentReport]:
    return PostDeploymentReport.objects.filter(model=model).select_related("author", "model__provider").order_by("-version")


def writing_queryset(user, *, model: AIModel | None = None, now=None) -> QuerySet[ModelWriting]:
    queryset = ModelWriting.objects.select_related("model__provider", "series", "reviewed_by")
    if model is not None:
        queryset = queryset.filter(model=model)
    return visible_writings(user, queryset, now=now)


def published_writings(user, *, model: AIModel | None = None, limit: int = 50) -> list[ModelWriting]:
    """Published posts whose time has come (also for curators: feeds never show drafts), newest first."""
    now = timezone.now()
    queryset = writing_queryset(user, model=model, now=now).filter(
        status=WritingStatus.PUBLISHED, publish_at__lte=now
    )
    return list(queryset.order_by("-publish_at", "-pk")[:limit])


def parse_providers(value: str | None) -> list[str]:
    return [slug.strip() for slug in (value or "").split(",") if slug.strip()]
