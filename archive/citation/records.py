"""The facts every citation format is written from, gathered once per snapshot."""

from dataclasses import dataclass, field
from datetime import date

from django.db.models import Sum
from django.urls import reverse

from archive.models import Snapshot
from catalogue.models import AIModel
from catalogue.permissions import file_access_level, visible_models, visible_replacement
from core.text import clean_text

PUBLISHER = "Coda"


@dataclass
class Related:
    relation: str  # DataCite relationType
    url: str
    label: str  # provider/name or provider/name@revision
    resource_type: str = "Model"


@dataclass
class Citation:
    identifier: str  # provider/name@revision, stable
    doi: str
    title: str
    creator: str  # the provider, an organisation
    provider_url: str
    repo_id: str
    revision: str
    sealed: date
    released: date | None
    year: int
    url: str  # landing page
    license: str
    access: str  # public, gated or restricted (the files)
    size: int
    file_count: int
    formats: list[str]
    description: str
    withdrawn: date | None
    withdrawal_reason: str
    related: list[Related] = field(default_factory=list)


def _model_url(build, model: AIModel) -> str:
    return build(reverse("web:model", kwargs={"provider": model.provider.slug, "name": model.name}))


def citation_for(snapshot: Snapshot, *, user, build) -> Citation:
    """The citation facts of a sealed snapshot as `user` may see them (a hidden replacement is left out);
    `build` turns a path into an absolute URL (request.build_absolute_uri). Text is cleaned of the characters
    `core.text` refuses (stored before it refused them), so no format's writer meets one."""
    model = snapshot.model
    model_url = _model_url(build, model)
    related = [Related("IsVersionOf", model_url, model.repo_id)]
    siblings = list(
        Snapshot.objects.filter(model=model, state=Snapshot.State.SEALED).exclude(pk=snapshot.pk)
        .order_by("sealed_at").values_list("revision", "sealed_at")
    )
    older = [rev for rev, at in siblings if at <= snapshot.sealed_at]
    newer = [rev for rev, at in siblings if at > snapshot.sealed_at]
    if older:
        related.append(Related("IsNewVersionOf", f"{model_url}?snapshot={older[-1]}", f"{model.repo_id}@{older[-1]}"))
    if newer:
        related.append(Related("IsPreviousVersionOf", f"{model_url}?snapshot={newer[0]}", f"{model.repo_id}@{newer[0]}"))
    replacement = visible_replacement(user, model)
    if replacement is not None:
        related.append(Related("IsObsoletedBy", _model_url(build, replacement), replacement.repo_id))
    for older_model in visible_models(user, model.replaces.select_related("provider")).order_by("repo_key"):
        related.append(Related("Obsoletes", _model_url(build, older_model), older_model.repo_id))
    files = snapshot.files.all()
    size = files.aggregate(total=Sum("size"))["total"] or 0
    formats = sorted({fmt for fmt in files.values_list("format", flat=True) if fmt and fmt != "other"})
    withdrawn_at = snapshot.withdrawn_at or model.withdrawn_at
    return Citation(
        identifier=f"{model.repo_id}@{snapshot.revision}",
        doi=clean_text(snapshot.doi),
        title=clean_text(model.display_name) or model.name,
        creator=clean_text(model.provider.name),
        provider_url=model.provider.website,
        repo_id=model.repo_id,
        revision=snapshot.revision,
        sealed=snapshot.sealed_at.date(),
        released=model.release_date,
        year=snapshot.sealed_at.year,
        url=f"{model_url}?snapshot={snapshot.revision}",
        license=clean_text(model.license),
        access=file_access_level(model, snapshot),
        size=size,
        file_count=files.count(),
        formats=formats,
        description=clean_text(model.description).strip()[:2000],
        withdrawn=withdrawn_at.date() if withdrawn_at else None,
        withdrawal_reason=clean_text(snapshot.withdrawal_reason or model.withdrawal_reason),
        related=related,
    )
