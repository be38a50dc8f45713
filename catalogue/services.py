"""Writes to the catalogue. Every door (API, admin, CLI, importer) calls these functions."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction

from core.exceptions import ConflictError
from catalogue.models import AIModel, PlatformAvailability, Provider, Retirement, Tag

MODEL_FIELDS = {
    "display_name",
    "family",
    "description",
    "modality",
    "license",
    "release_date",
    "parameter_count",
    "aliases",
    "legacy_on",
    "deprecated_on",
    "retires_on",
    "replacement",
}


def _check_dates(*, deprecated_on: date | None, retires_on: date | None, field_prefix: str = "") -> None:
    if deprecated_on and retires_on and retires_on < deprecated_on:
        raise ValidationError(
            {
                f"{field_prefix}retires_on": (
                    f"Retirement date {retires_on.isoformat()} is before the deprecation announcement "
                    f"{deprecated_on.isoformat()}."
                )
            }
        )


def _check_replacement(*, model: AIModel | None, replacement: AIModel | None) -> None:
    """A replacement is never the model itself and never closes a cycle of replacements."""
    if replacement is None or model is None or model.pk is None:
        return
    if replacement.pk == model.pk:
        raise ValidationError({"replacement": f"A model cannot replace itself ({model.repo_id})."})
    seen = {model.pk}
    current = replacement
    chain = [model.repo_id, replacement.repo_id]
    while current is not None and current.replacement_id is not None:
        if current.replacement_id in seen:
            raise ValidationError(
                {"replacement": "Replacement would create a cycle: " + " -> ".join(chain) + "."}
            )
        seen.add(current.pk)
        current = AIModel.objects.select_related("provider").filter(pk=current.replacement_id).first()
        if current is not None:
            chain.append(current.repo_id)


def provider_create(*, slug: str, name: str = "", website: str = "") -> Provider:
    """Register a provider; the slug must be URL-safe and unique."""
    if Provider.objects.filter(slug=slug).exists():
        raise ConflictError(f"Provider {slug!r} already exists.", code="provider_exists")
    provider = Provider(slug=slug, name=name or slug, website=website)
    provider.full_clean()
    provider.save()
    return provider


def provider_update(*, provider: Provider, **fields) -> Provider:
    for key, value in fields.items():
        setattr(provider, key, value)
    provider.full_clean()
    provider.save()
    return provider


def provider_get_or_create(*, slug: str, name: str = "") -> Provider:
    provider = Provider.objects.filter(slug=slug).first()
    return provider or provider_create(slug=slug, name=name or slug)


def tags_resolve(*, slugs: list[str]) -> list[Tag]:
    tags = []
    for slug in slugs:
        tag, _ = Tag.objects.get_or_create(slug=slug, defaults={"name": slug})
        tags.append(tag)
    return tags


@transaction.atomic
def model_create(*, provider: Provider, name: str, tags: list[str] | None = None, **fields) -> AIModel:
    """Add a model to the catalogue, validating identity, dates and replacement."""
    unknown = set(fields) - MODEL_FIELDS
    if unknown:
        raise ValidationError({key: "Unknown field." for key in unknown})
    if AIModel.objects.filter(provider=provider, name=name).exists():
        raise ConflictError(f"Model '{provider.slug}/{name}' already exists.", code="model_exists")
    model = AIModel(provider=provider, name=name, **fields)
    model.display_name = model.display_name or name
    _check_dates(deprecated_on=model.deprecated_on, retires_on=model.retires_on)
    model.full_clean(validate_constraints=False)
    model.save()
    _check_replacement(model=model, replacement=model.replacement)
    if tags is not None:
        model.tags.set(tags_resolve(slugs=tags))
    return model


@transaction.atomic
def model_update(*, model: AIModel, tags: list[str] | None = None, **fields) -> AIModel:
    """Change a model's fields; the same rules as at creation apply."""
    unknown = set(fields) - MODEL_FIELDS
    if unknown:
        raise ValidationError({key: "Unknown field." for key in unknown})
    for key, value in fields.items():
        setattr(model, key, value)
    _check_dates(deprecated_on=model.deprecated_on, retires_on=model.retires_on)
    _check_replacement(model=model, replacement=model.replacement)
    model.full_clean(validate_constraints=False, validate_unique=False)
    model.save()
    if tags is not None:
        model.tags.set(tags_resolve(slugs=tags))
        model.__dict__.pop("prefetched_tags", None)  # selectors.model_queryset's list is now stale
    return model


def platform_upsert(*, model: AIModel, platform: str, identifier: str, **fields) -> tuple[PlatformAvailability, bool]:
    """Create or update a model's availability on one platform; returns (row, changed)."""
    _check_dates(deprecated_on=fields.get("deprecated_on"), retires_on=fields.get("retires_on"))
    row = PlatformAvailability.objects.filter(model=model, platform=platform).first()
    if row is None:
        row = PlatformAvailability(model=model, platform=platform, identifier=identifier, **fields)
        row.full_clean(validate_constraints=False)
        row.save()
        return row, True
    changed = row.identifier != identifier
    row.identifier = identifier
    for key, value in fields.items():
        if getattr(row, key) != value:
            setattr(row, key, value)
            changed = True
    if changed:
        row.full_clean(validate_constraints=False)
        row.save()
    return row, changed


@transaction.atomic
def retirement_register(
    *,
    model: AIModel,
    retires_on: date,
    reason_category: str,
    deprecated_on: date | None = None,
    replacement: AIModel | None = None,
    registered_by=None,
    **fields,
) -> Retirement:
    """Register a model's retirement: its dates and replacement, why, access afterwards, preservation promise."""
    if Retirement.objects.filter(model=model).exists():
        raise ConflictError(
            f"A retirement is already registered for {model.repo_id}; update it instead.",
            code="retirement_exists",
        )
    deprecated_on = deprecated_on or model.deprecated_on
    _check_dates(deprecated_on=deprecated_on, retires_on=retires_on)
    model_update(
        model=model,
        retires_on=retires_on,
        deprecated_on=deprecated_on,
        replacement=replacement if replacement is not None else model.replacement,
    )
    PlatformAvailability.objects.filter(model=model, is_maker_platform=True).update(
        retires_on=retires_on, deprecated_on=deprecated_on
    )
    retirement = Retirement(model=model, reason_category=reason_category, registered_by=registered_by, **fields)
    _check_retirement(retirement)
    retirement.save()
    return retirement


@transaction.atomic
def retirement_update(
    *,
    retirement: Retirement,
    retires_on: date | None = None,
    deprecated_on: date | None = None,
    replacement: AIModel | None = None,
    **fields,
) -> Retirement:
    """Change a registered retirement; dates and replacement go to the model."""
    model = retirement.model
    model_changes = {}
    if retires_on is not None:
        model_changes["retires_on"] = retires_on
    if deprecated_on is not None:
        model_changes["deprecated_on"] = deprecated_on
    if replacement is not None:
        model_changes["replacement"] = replacement
    if model_changes:
        model_update(model=model, **model_changes)
        PlatformAvailability.objects.filter(model=model, is_maker_platform=True).update(
            retires_on=model.retires_on, deprecated_on=model.deprecated_on
        )
    for key, value in fields.items():
        setattr(retirement, key, value)
    _check_retirement(retirement)
    retirement.save()
    return retirement


def _check_retirement(retirement: Retirement) -> None:
    if retirement.preserved_for_lifetime and retirement.preserved_until:
        raise ValidationError(
            {"preserved_until": "Give either a preservation end date or 'lifetime of the organisation', not both."}
        )
    retirement.full_clean(exclude=["model", "registered_by"], validate_constraints=False)
