"""Reads for the web catalogue pages (an entry point: it may read the archive too): searching and filtering models, a model page's facts, upcoming retirements.
Visibility always goes through catalogue.permissions; preservation status through archive.preservation."""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.urls import reverse
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from archive import refs as archive_refs
from archive.preservation import snapshot_health
from archive.selectors import holdings_summary, snapshot_event_summary, snapshot_queryset
from catalogue.models import AccessRequest, AIModel, LifecycleStatus, PreservationStatus, Provider
from catalogue.permissions import visible_model_ids, visible_models, visible_replacement, with_visible_replacement
from catalogue.selectors import search_models, status_expression


@dataclass(frozen=True)
class ModelFilters:
    q: str = ""
    provider: str = ""
    status: str = ""
    retirement_year: int | None = None
    preservation: str = ""


def browse_queryset(user) -> QuerySet[AIModel]:
    """Visible models with what a list row shows: provider, derived status, preservation status."""
    today = timezone.localdate()
    queryset = (
        AIModel.objects.select_related("provider")
        .only(
            "name", "display_name", "family", "modality", "release_date", "deprecated_on", "retires_on",
            "legacy_on", "file_access", "metadata_access", "preservation_status", "repo_key", "provider__slug", "provider__name",
        )
        .annotate(lifecycle_status=status_expression(today))
    )
    return visible_models(user, queryset)


def model_search(*, user, filters: ModelFilters) -> QuerySet[AIModel]:
    """The home page's list: free text, provider, lifecycle status, retirement year, preservation status."""
    queryset = browse_queryset(user)
    if filters.q:
        queryset = search_models(queryset, filters.q)
    if filters.provider:
        queryset = queryset.filter(provider__slug=filters.provider)
    if filters.status in LifecycleStatus.values:
        queryset = queryset.filter(lifecycle_status=filters.status)
    if filters.retirement_year:
        queryset = queryset.filter(retires_on__year=filters.retirement_year)
    if filters.preservation in dict(PreservationStatus.choices):
        queryset = queryset.filter(preservation_status=filters.preservation)
    return queryset.order_by("repo_key")


def timeline_models(*, user, filters: ModelFilters) -> tuple[list[AIModel], dict]:
    """The timeline's models (the home page's filters, ordered by provider) and the replacement each may show."""
    queryset = model_search(user=user, filters=filters).defer(None).select_related("provider", "replacement__provider")
    models = list(with_visible_replacement(user, queryset))
    return models, {m.pk: visible_replacement(user, m) for m in models if m.replacement_id}


def home_overview(user) -> dict:
    """The guided first page: counts of what this user may see, the registered retirements, preserved models."""
    from_date = timezone.now() - timedelta(days=settings.CODA_FIXITY_INTERVAL_DAYS)
    visible = browse_queryset(user)
    return {
        "models": visible.count(),
        "retired": visible.filter(lifecycle_status=LifecycleStatus.RETIRED).count(),
        "preserved": visible.filter(preservation_status=PreservationStatus.PRESERVED).count(),
        "holdings": holdings_summary(model_ids=visible_model_ids(user), verified_since=from_date),
        "interval_days": settings.CODA_FIXITY_INTERVAL_DAYS,
        "dossiers": list(visible.filter(retirement__isnull=False).order_by("-retires_on", "repo_key")[:3]),
        "preserved_models": list(visible.filter(preservation_status=PreservationStatus.PRESERVED).order_by("repo_key")[:3]),
    }


def retirement_years(user) -> list[int]:
    """Years from the earliest to the latest retirement date of the models this user may see (two index
    lookups for the public catalogue, not a scan of every row)."""
    dated = visible_models(user, AIModel.objects.filter(retires_on__isnull=False)).values_list("retires_on", flat=True)
    first, last = dated.order_by("retires_on").first(), dated.order_by("-retires_on").first()
    if first is None:
        return []
    return list(range(first.year, last.year + 1))


def providers_visible(user) -> QuerySet[Provider]:
    """Providers with at least one model this user may see (the home page's provider filter)."""
    visible = visible_models(user, AIModel.objects.all()).values("provider_id")
    return Provider.objects.filter(pk__in=visible).order_by("slug").only("slug", "name")


def providers_with_counts(user) -> QuerySet[Provider]:
    visible = visible_models(user, AIModel.objects.all()).values("pk")
    return Provider.objects.annotate(model_count=Count("models", filter=Q(models__pk__in=visible))).order_by("slug")


def upcoming_retirements(user) -> QuerySet[AIModel]:
    """Models whose retirement date is today or later, soonest first."""
    today = timezone.localdate()
    return browse_queryset(user).filter(retires_on__gte=today).order_by("retires_on", "provider__slug", "name")


def snapshots_for_page(model: AIModel):
    """A model's snapshots, newest first, with file count and size."""
    return snapshot_queryset().filter(model=model).order_by("-sealed_at", "-created_at")


def model_page_refs(model: AIModel) -> list[archive_refs.Ref]:
    """The model's refs for its page: branches (main = the model's files, dossier) first, then tags by name."""
    found = archive_refs.model_refs(model)
    return found.branches + found.tags


def model_preservation(model: AIModel, snapshots) -> dict:
    """Preservation health of each snapshot and the model's status (kept current by the archive)."""
    return {
        "status": model.preservation_status,
        "status_label": model.get_preservation_status_display(),
        "snapshots": {snapshot.pk: snapshot_health(snapshot) for snapshot in snapshots},
    }


def sealed_snapshot(*, request, snapshot, can_read: bool) -> dict | None:
    """What the page shows of a sealed snapshot: its inspection, signature, event summary, and links to its
    manifest, bag, signature and events (bag and signature only for who may read the files)."""
    if snapshot is None or snapshot.state != "sealed":
        return None
    model = snapshot.model
    kwargs = {"provider": model.provider.slug, "name": model.name, "revision": snapshot.revision}
    links = [("manifest (JSON)", reverse("api:snapshot-manifest", kwargs=kwargs)),
             ("manifest.sha256", reverse("api:snapshot-manifest-sha256", kwargs=kwargs))]
    if can_read:
        links.append(("BagIt bag (tar)", reverse("api:snapshot-bag", kwargs=kwargs)))
        if snapshot.signature:
            links.append(("signature (model.sig)", reverse("api:snapshot-signature", kwargs=kwargs)))
    links.append(("preservation events", f"{reverse('api:event-list')}?model={model.repo_id}"))
    inspection = snapshot.inspection or {}
    return {
        "inspection": inspection,
        "by_dtype": sorted((inspection.get("parameters_by_dtype") or {}).items()),
        "formats": sorted((inspection.get("formats") or {}).items()),
        "signing_key": snapshot.signing_key,
        "events": snapshot_event_summary(request.user, snapshot),
        "links": links,
        "hf_endpoint": request.build_absolute_uri("/hf"),
    }


def latest_request(*, user, model: AIModel) -> AccessRequest | None:
    if not user.is_authenticated:
        return None
    return AccessRequest.objects.filter(user=user, model=model).select_related("decided_by").order_by("-created_at").first()


def pending_request_count(model: AIModel) -> int:
    return AccessRequest.objects.filter(model=model, status=AccessRequest.Status.PENDING).count()


def user_requests(user) -> QuerySet[AccessRequest]:
    return AccessRequest.objects.filter(user=user).select_related("model__provider", "decided_by").order_by("-created_at")
