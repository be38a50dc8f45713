from datetime import date

import pytest
from django.core.exceptions import ValidationError

from catalogue import services
from core.exceptions import ConflictError
from catalogue.models import LifecycleStatus, PlatformAvailability, lifecycle_status
from tests.factories import AIModelFactory, ProviderFactory

pytestmark = pytest.mark.django_db
TODAY = date(2026, 6, 1)


@pytest.mark.parametrize(
    "deprecated_on,legacy_on,retires_on,expected",
    [
        (None, None, None, LifecycleStatus.ACTIVE),
        (None, date(2026, 1, 1), None, LifecycleStatus.LEGACY),
        (date(2026, 1, 1), None, date(2026, 12, 1), LifecycleStatus.DEPRECATED),
        (date(2026, 7, 1), None, date(2026, 12, 1), LifecycleStatus.ACTIVE),  # announced in the future
        (None, None, date(2026, 12, 1), LifecycleStatus.DEPRECATED),  # scheduled, announcement unknown
        (date(2026, 1, 1), None, date(2026, 6, 1), LifecycleStatus.RETIRED),  # retires today
        (None, None, date(2025, 1, 1), LifecycleStatus.RETIRED),
    ],
)
def test_lifecycle_status_is_derived_from_dates(deprecated_on, legacy_on, retires_on, expected):
    assert lifecycle_status(deprecated_on=deprecated_on, legacy_on=legacy_on, retires_on=retires_on, today=TODAY) == expected


def test_status_expression_matches_python_rule():
    from catalogue.selectors import model_queryset

    cases = [
        (None, None, None),
        (None, date(2026, 1, 1), None),
        (date(2026, 1, 1), None, date(2026, 12, 1)),
        (date(2026, 7, 1), None, date(2026, 12, 1)),
        (None, None, date(2026, 12, 1)),
        (date(2026, 1, 1), None, date(2026, 6, 1)),
    ]
    for i, (dep, leg, ret) in enumerate(cases):
        AIModelFactory(name=f"m{i}", deprecated_on=dep, legacy_on=leg, retires_on=ret)
    for model in model_queryset(today=TODAY):
        assert model.lifecycle_status == lifecycle_status(
            deprecated_on=model.deprecated_on, legacy_on=model.legacy_on, retires_on=model.retires_on, today=TODAY
        )


def test_retirement_before_announcement_is_refused():
    provider = ProviderFactory()
    with pytest.raises(ValidationError) as exc:
        services.model_create(provider=provider, name="m", deprecated_on=date(2026, 5, 1), retires_on=date(2026, 4, 1))
    assert "before the deprecation announcement" in str(exc.value)


def test_model_cannot_replace_itself():
    model = AIModelFactory()
    with pytest.raises(ValidationError) as exc:
        services.model_update(model=model, replacement=model)
    assert "cannot replace itself" in str(exc.value)


def test_replacement_cycle_is_refused():
    a, b, c = AIModelFactory(name="a"), AIModelFactory(name="b"), AIModelFactory(name="c")
    services.model_update(model=a, replacement=b)
    services.model_update(model=b, replacement=c)
    with pytest.raises(ValidationError) as exc:
        services.model_update(model=c, replacement=a)
    assert "cycle" in str(exc.value)
    c.refresh_from_db()
    assert c.replacement_id is None


def test_provider_name_is_unique():
    provider = ProviderFactory(slug="acme")
    services.model_create(provider=provider, name="m1")
    with pytest.raises(ConflictError, match="already exists"):
        services.model_create(provider=provider, name="m1")


@pytest.mark.parametrize("slug", ["Acme", "acme lab", "acme/lab", "-acme", "ac..me", ""])
def test_unsafe_provider_slugs_are_refused(slug):
    with pytest.raises(ValidationError):
        services.provider_create(slug=slug)


@pytest.mark.parametrize("name", ["a/b", "..", "a..b", "name with space", "x" * 201, ".hidden", "ends.git"])
def test_unsafe_model_names_are_refused(name):
    with pytest.raises(ValidationError):
        services.model_create(provider=ProviderFactory(), name=name)


def test_retirement_register_sets_dates_replacement_and_maker_platform(curator):
    model = AIModelFactory()
    replacement = AIModelFactory()
    PlatformAvailability.objects.create(model=model, platform="lab-api", identifier=model.name, is_maker_platform=True)
    retirement = services.retirement_register(
        model=model,
        retires_on=date(2026, 1, 5),
        deprecated_on=date(2025, 6, 30),
        replacement=replacement,
        reason_category="cost",
        access_after_retirement="paid_api",
        preservation_statement="Weights kept.",
        preserved_for_lifetime=True,
        registered_by=curator,
    )
    model.refresh_from_db()
    assert model.retires_on == date(2026, 1, 5)
    assert model.replacement == replacement
    assert model.notice_period_days == 189
    assert retirement.registered_by == curator
    assert model.platforms.get().retires_on == date(2026, 1, 5)


def test_retirement_registered_twice_conflicts():
    model = AIModelFactory()
    services.retirement_register(model=model, retires_on=date(2026, 1, 5), reason_category="cost")
    with pytest.raises(ConflictError):
        services.retirement_register(model=model, retires_on=date(2026, 1, 5), reason_category="cost")


def test_retirement_with_two_preservation_terms_is_refused():
    with pytest.raises(ValidationError, match="not both"):
        services.retirement_register(
            model=AIModelFactory(),
            retires_on=date(2026, 1, 5),
            reason_category="cost",
            preserved_until=date(2030, 1, 1),
            preserved_for_lifetime=True,
        )


def test_saving_a_stale_model_keeps_the_archives_preservation_status():
    from catalogue.models import AIModel

    model = AIModelFactory()
    stale = AIModel.objects.get(pk=model.pk)
    AIModel.objects.filter(pk=model.pk).update(preservation_status="preserved")
    services.model_update(model=stale, family="New family")
    model.refresh_from_db()
    assert model.family == "New family" and model.preservation_status == "preserved"
