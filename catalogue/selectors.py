"""Reads of the catalogue that carry business rules (status derivation, prefetching)."""

import operator
from datetime import date
from functools import reduce

from django.db.models import Case, CharField, DateField, Prefetch, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.exceptions import NotFoundError
from catalogue.permissions import visible_models
from catalogue.models import AIModel, LifecycleStatus, PlatformAvailability, Provider, Retirement, Tag

FAR_FUTURE = date(9999, 12, 31)


def status_expression(today: date, prefix: str = "") -> Case:
    """SQL twin of models.lifecycle_status, so status can be filtered and ordered in the database."""

    def f(field: str) -> str:
        return f"{prefix}{field}"

    return Case(
        When(**{f("retires_on__lte"): today}, then=Value(LifecycleStatus.RETIRED)),
        When(
            Q(**{f("deprecated_on__lte"): today})
            | Q(**{f("retires_on__isnull"): False, f("deprecated_on__isnull"): True}),
            then=Value(LifecycleStatus.DEPRECATED),
        ),
        When(**{f("legacy_on__lte"): today}, then=Value(LifecycleStatus.LEGACY)),
        default=Value(LifecycleStatus.ACTIVE),
        output_field=CharField(),
    )


def status_q(statuses, today: date, prefix: str = "") -> Q:
    """WHERE twin of status_expression: the models whose derived status is one of `statuses`, written as plain date
    comparisons, which the database can estimate from its statistics and serve from an index (a CASE compared
    with a value it can do neither: PostgreSQL scanned all 10,000 models for `?status=retired`)."""

    def f(field: str) -> str:
        return f"{prefix}{field}"

    # Each arm is the CASE's WHEN, after every earlier WHEN failed. ~Q keeps SQL's NULLs right: Django writes
    # NOT (retires_on <= today AND retires_on IS NOT NULL), true for a model with no retirement date.
    retired = Q(**{f("retires_on__lte"): today})
    deprecated = Q(**{f("deprecated_on__lte"): today}) | Q(**{f("retires_on__isnull"): False, f("deprecated_on__isnull"): True})
    legacy = Q(**{f("legacy_on__lte"): today})
    arms = {
        LifecycleStatus.RETIRED: retired,
        LifecycleStatus.DEPRECATED: ~retired & deprecated,
        LifecycleStatus.LEGACY: ~retired & ~deprecated & legacy,
        LifecycleStatus.ACTIVE: ~retired & ~deprecated & ~legacy,
    }
    conditions = [arms[LifecycleStatus(status)] for status in dict.fromkeys(statuses)]
    return reduce(operator.or_, conditions) if conditions else Q(pk__in=[])


def search_models(queryset, value: str):
    """Free-text search: every whitespace-separated term must occur, case-insensitively, in the model's
    id (`provider/name`), display name, family, description or aliases (the stored `search_text`)."""
    for term in value.split():
        queryset = queryset.filter(search_text__icontains=term)
    return queryset


def model_tags(model: AIModel) -> list[Tag]:
    """The model's tags: the list model_queryset prefetched, else one query."""
    prefetched = model.__dict__.get("prefetched_tags")
    return prefetched if prefetched is not None else list(model.tags.all())


def model_platforms(model: AIModel) -> list[PlatformAvailability]:
    """Where the model is offered, maker's own platform first: the list model_queryset prefetched, else one query."""
    prefetched = model.__dict__.get("prefetched_platforms")
    if prefetched is not None:
        return prefetched
    return list(model.platforms.order_by("-is_maker_platform", "platform"))


def model_queryset(*, today: date | None = None, sort_keys: bool = True) -> QuerySet[AIModel]:
    """Models with status annotated and everything the API shows fetched in a fixed number of queries.
    sort_keys=False leaves out the sort annotations, for rows fetched once their order is known."""
    today = today or timezone.localdate()
    queryset = (
        AIModel.objects.select_related("provider", "replacement__provider", "retirement__registered_by")
        .prefetch_related(
            # Into plain lists (to_attr): Django's related-manager prefetch builds a filtered queryset per model and
            # relation, about a tenth of a millisecond each, 100 per page of 50 (model_tags, model_platforms read them).
            Prefetch("tags", queryset=Tag.objects.all(), to_attr="prefetched_tags"),
            Prefetch(
                "platforms",
                queryset=PlatformAvailability.objects.order_by("-is_maker_platform", "platform"),
                to_attr="prefetched_platforms",
            ),
        )
        .annotate(lifecycle_status=status_expression(today))
    )
    if not sort_keys:
        return queryset
    return queryset.annotate(
        # Non-null sort keys, so cursor pagination can order on them.
        retires_sort=Coalesce("retires_on", Value(FAR_FUTURE), output_field=DateField()),
        deprecated_sort=Coalesce("deprecated_on", Value(FAR_FUTURE), output_field=DateField()),
        released_sort=Coalesce("release_date", Value(FAR_FUTURE), output_field=DateField()),
    )


def model_get(
    *, repo_id: str | None = None, provider: str | None = None, name: str | None = None, user=None, check_visible=False
) -> AIModel:
    """One model by `provider/name`; NotFoundError names what was missing. With check_visible, a model the
    user may not see answers exactly like a missing one."""
    if repo_id is not None:
        provider, sep, name = repo_id.partition("/")
        if not sep or not provider or not name:
            raise NotFoundError(f"Model id {repo_id!r} must have the form 'provider/name'.")
    if check_visible and user is not None:
        # Read the user whatever is found: a lazy request.user (the session) read only for an existing model
        # would make a hidden model's answer differ from a missing one's (`Vary: Cookie`).
        bool(user.is_authenticated)
    queryset = model_queryset()
    if check_visible:
        # Visibility decided inside the one lookup query: a hidden model costs exactly what a missing one does
        # (no second query, no permission check that only an existing model would pay), so the time an answer
        # takes does not tell a restricted model from a missing one.
        queryset = visible_models(user, queryset)
    model = queryset.filter(provider__slug=provider, name=name).first()
    if model is None:
        raise NotFoundError(f"Model '{provider}/{name}' is not in the catalogue.", code="model_not_found")
    return model


def provider_get(*, slug: str) -> Provider:
    provider = Provider.objects.filter(slug=slug).first()
    if provider is None:
        raise NotFoundError(f"Provider {slug!r} is not in the catalogue.", code="provider_not_found")
    return provider


def retirement_queryset() -> QuerySet[Retirement]:
    return Retirement.objects.select_related(
        "model__provider", "model__replacement__provider", "registered_by"
    ).annotate(model_status=status_expression(timezone.localdate(), prefix="model__"))
