"""The one place where Coda decides who may do what. Pages, the REST API, the Hub-compatible API and
downloads all ask these functions."""

from django.db.models import BooleanField, Case, Q, QuerySet, Value, When
from django.utils import timezone

from catalogue.models import AccessRequest, AIModel, FileAccess, MetadataAccess
from core.permissions import CURATORS_GROUP, CuratorOnly, CuratorWriteOrReadOnly, is_curator  # noqa: F401  (the primitives)


def can_write_catalogue(user) -> bool:
    return is_curator(user)


def has_grant(user, model) -> bool:
    """An approved, unexpired access request of this user for this model."""
    if user is None or not user.is_authenticated:
        return False
    now = timezone.now()
    return AccessRequest.objects.filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now),
        user=user,
        model=model,
        status=AccessRequest.Status.APPROVED,
    ).exists()


def can_view_model(user, model) -> bool:
    """Metadata: public models for everyone; restricted ones for curators and granted researchers."""
    if model.metadata_access == MetadataAccess.PUBLIC:
        return True
    return is_curator(user) or has_grant(user, model)


def visible_model_q(user, prefix: str = "") -> Q | None:
    """can_view_model as a Q on the model reached by `prefix` (e.g. "replacement__"); None = no limit (curators)."""
    if is_curator(user):
        return None
    public = Q(**{f"{prefix}metadata_access": MetadataAccess.PUBLIC})
    if user is None or not user.is_authenticated:
        return public
    now = timezone.now()
    granted = AccessRequest.objects.filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now), user=user, status=AccessRequest.Status.APPROVED
    ).values("model_id")
    return public | Q(**{f"{prefix}pk__in": granted})


def visible_models(user, queryset: QuerySet) -> QuerySet:
    """Restrict a model queryset to what `user` may see (same rule as can_view_model, in SQL)."""
    condition = visible_model_q(user)
    return queryset if condition is None else queryset.filter(condition)


def visible_model_ids(user) -> QuerySet:
    """The pks of the models `user` may see, as a subquery for `model__in=` filters of related rows."""
    return visible_models(user, AIModel.objects.all()).values("pk")


# A reference from one model to another (its replacement) follows the referenced model's rule: shown only to
# those who may see that model, as if no reference were recorded for everyone else.
REPLACEMENT_VISIBLE = "replacement_visible"


def with_visible_replacement(user, queryset: QuerySet, prefix: str = "") -> QuerySet:
    """Annotate each row with whether `user` may see the replacement of the model at `prefix` ("" for a model
    queryset, "model__" for retirements), in SQL: no query per row."""
    condition = visible_model_q(user, f"{prefix}replacement__")
    if condition is None:
        return queryset.annotate(**{REPLACEMENT_VISIBLE: Value(True, output_field=BooleanField())})
    return queryset.annotate(
        **{REPLACEMENT_VISIBLE: Case(When(condition, then=Value(True)), default=Value(False), output_field=BooleanField())}
    )


def visible_replacement(user, model, *, annotated: bool | None = None):
    """`model.replacement` when `user` may see it, else None. `annotated` (or the model's own annotation from
    with_visible_replacement) saves the check."""
    if model is None or model.replacement_id is None:
        return None
    if annotated is None:
        annotated = getattr(model, REPLACEMENT_VISIBLE, None)
    if annotated is None:
        annotated = can_view_model(user, model.replacement)
    return model.replacement if annotated else None


def can_see_internals(user) -> bool:
    """Server-side source paths, storage keys and URLs, raw storage errors and who ran a job: curators only."""
    return is_curator(user)


def can_view_job(user, job) -> bool:
    """An ingest job answers like its model (a hidden model's job is a missing job)."""
    return can_view_model(user, job.snapshot.model)


def is_withdrawn(model, snapshot=None) -> bool:
    """Whether the model, or this snapshot of it, has been withdrawn (archive.withdrawals)."""
    return model.withdrawn_at is not None or getattr(snapshot, "withdrawn_at", None) is not None


def file_access_level(model, snapshot=None) -> str:
    return (getattr(snapshot, "file_access", "") or "") or model.file_access


def can_read_files(user, model, snapshot=None) -> bool:
    """File bytes: public for all; gated for curators and granted researchers; restricted for curators.
    A withdrawn model or snapshot (a tombstone) serves its bytes to no one."""
    if is_withdrawn(model, snapshot):
        return False
    level = file_access_level(model, snapshot)
    if level == FileAccess.PUBLIC:
        return can_view_model(user, model)
    if level == FileAccess.GATED:
        return is_curator(user) or has_grant(user, model)
    return is_curator(user)


def file_access_denial(user, model, snapshot=None) -> str:
    """The message for a 403 on file bytes: what the rule is and how to get access."""
    if is_withdrawn(model, snapshot):
        return f"{model.repo_id} has been withdrawn; its files are no longer served."
    level = file_access_level(model, snapshot)
    if level == FileAccess.RESTRICTED:
        return f"The files of {model.repo_id} are restricted to curators."
    how = (
        f"Sign in and request access on /models/{model.repo_id}/ "
        f"(or POST /api/v1/models/{model.repo_id}/access-requests/ with purpose, affiliation and accepted_terms)."
    )
    if user is None or not user.is_authenticated:
        return f"The files of {model.repo_id} are gated. {how}"
    return f"The files of {model.repo_id} are gated and you have no current access grant. {how}"


def can_decide_access(user) -> bool:
    """Only curators approve, deny or revoke access requests."""
    return is_curator(user)


def can_see_access_request(user, access_request) -> bool:
    """A request is seen by the researcher who made it and by curators."""
    return is_curator(user) or (user is not None and user.is_authenticated and access_request.user_id == user.pk)


def access_request_refusal(user, model) -> str | None:
    """Why `user` may not request access to `model`'s files now (None when a request is allowed).
    Requests are for gated files: the model's, or a snapshot's that overrides to gated."""
    if user is None or not user.is_authenticated:
        return f"Sign in to request access to the files of {model.repo_id}."
    if not can_view_model(user, model):
        return f"Model '{model.repo_id}' is not in the catalogue."
    gated_snapshot = model.snapshots.filter(file_access=FileAccess.GATED).exists()
    if model.file_access == FileAccess.PUBLIC and not gated_snapshot:
        return f"The files of {model.repo_id} are public; no request is needed."
    if model.file_access == FileAccess.RESTRICTED and not gated_snapshot:
        return f"The files of {model.repo_id} are restricted to curators; access cannot be requested."
    if has_grant(user, model):
        return f"You already have access to the files of {model.repo_id}."
    return None


# --- retirement dossier ---------------------------------------------------------------------
# Restricted dossier items (transcripts, summaries, requests) follow the same people as gated files:
# curators and researchers holding a grant for that model.


def can_see_restricted_dossier(user, model) -> bool:
    """Curators and researchers granted access to this model see its restricted dossier items."""
    return can_view_model(user, model) and (is_curator(user) or has_grant(user, model))


def can_view_transcript(user, interview) -> bool:
    """An interview's turns: as its model, unless the interview is restricted."""
    if not can_view_model(user, interview.model):
        return False
    return not interview.restricted or can_see_restricted_dossier(user, interview.model)


def can_view_interview_summary(user, interview) -> bool:
    """The summary stays public when only the transcript is restricted."""
    if not can_view_model(user, interview.model):
        return False
    return not interview.summary_restricted or can_see_restricted_dossier(user, interview.model)


def visible_model_requests(user, queryset: QuerySet) -> QuerySet:
    """Requests a user may see: the model visible, and the request not restricted unless curator or granted."""
    models = visible_models(user, AIModel.objects.all()).values("pk")
    queryset = queryset.filter(interview__model__in=models)
    if is_curator(user):
        return queryset
    if user is None or not user.is_authenticated:
        return queryset.filter(restricted=False)
    now = timezone.now()
    granted = AccessRequest.objects.filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now), user=user, status=AccessRequest.Status.APPROVED
    ).values("model_id")
    return queryset.filter(Q(restricted=False) | Q(interview__model__in=granted))


def transcript_denial(interview) -> str:
    """The message for a 403 on a restricted transcript: what the rule is and how to get access."""
    repo_id = interview.model.repo_id
    return (
        f"This transcript is restricted to curators and researchers granted access to {repo_id} "
        f"(request access with POST /api/v1/models/{repo_id}/access-requests/)."
    )


# --- Django admin -------------------------------------------------------------------------------------
CURATED_APPS = frozenset({"catalogue", "archive", "dossier"})


class CuratorBackend:
    """Authentication backend that only answers permission questions: curators (is_curator) hold every
    permission on Coda's own apps, so the admin's checks follow the same rule as the API and pages.
    Users, groups and tokens stay with superusers. Each ModelAdmin's own limits (read-only snapshots,
    no deleting decisions) still apply on top."""

    def authenticate(self, request, **credentials):
        return None

    def get_user(self, user_id):
        return None

    def has_perm(self, user_obj, perm, obj=None) -> bool:
        return perm.split(".", 1)[0] in CURATED_APPS and is_curator(user_obj)

    def has_module_perms(self, user_obj, app_label) -> bool:
        return app_label in CURATED_APPS and is_curator(user_obj)

