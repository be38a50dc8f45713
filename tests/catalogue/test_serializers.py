"""The read serializers build their output in plain Python (speed of the model list); these tests hold
that output equal, byte for byte, to what DRF's field-by-field path makes of the declared fields."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from catalogue import selectors
from catalogue.api.serializers import ModelSerializer, PlatformSerializer, RetirementSummarySerializer
from catalogue.models import AIModel, PlatformAvailability, Retirement, Tag
from tests.factories import AIModelFactory, CuratorFactory, ProviderFactory

pytestmark = pytest.mark.django_db


def generic(serializer_class):
    """The same serializer through DRF's generic to_representation."""
    return type(
        f"Generic{serializer_class.__name__}",
        (serializer_class,),
        {"to_representation": serializers.ModelSerializer.to_representation},
    )


class GenericModelSerializer(ModelSerializer):
    platforms = generic(PlatformSerializer)(many=True, read_only=True)
    retirement = generic(RetirementSummarySerializer)(read_only=True, allow_null=True)
    to_representation = serializers.ModelSerializer.to_representation


@pytest.fixture
def varied(db):
    """Models with and without each optional part, dates on both sides of today, non-ASCII text."""
    today = timezone.localdate()
    lab = ProviderFactory(slug="lab", name="Lab")
    plain = AIModelFactory(provider=lab, name="plain")
    successor = AIModelFactory(provider=ProviderFactory(slug="other"), name="successor.v2")
    full = AIModelFactory(
        provider=lab,
        name="full_model-1",
        display_name="Fülle « model »",
        description="line one\nline two ✓",
        modality="multimodal",
        license="Apache-2.0",
        release_date=today - timedelta(days=900),
        parameter_count=7_000_000_000,
        aliases=["alias-é", "a/b"],
        legacy_on=today - timedelta(days=400),
        deprecated_on=today - timedelta(days=200),
        retires_on=today - timedelta(days=1),
        replacement=successor,
        metadata_access="restricted",
        file_access="public",
    )
    legacy = AIModelFactory(provider=lab, name="legacy", legacy_on=today - timedelta(days=3))
    scheduled = AIModelFactory(provider=lab, name="scheduled", retires_on=today + timedelta(days=30))
    for slug in ("zeta", "alpha", "mid"):
        full.tags.add(Tag.objects.create(slug=slug, name=slug.title()))
    PlatformAvailability.objects.create(
        model=full,
        platform="maker-api",
        identifier="full-1",
        is_maker_platform=True,
        legacy_on=today - timedelta(days=400),
        deprecated_on=today - timedelta(days=200),
        retires_on=today - timedelta(days=1),
        status_on_source="Retired",
        post_retirement_access="research access\nby request",
        sources=[{"url": "https://example.org/notice", "title": "Notice é", "n": 3, "ok": True, "none": None}],
        notes='multi\nline <b>html</b> & "quotes"',
    )
    PlatformAvailability.objects.create(
        model=full, platform="amazon-bedrock", identifier="lab.full-1", retires_on=today + timedelta(days=90)
    )
    PlatformAvailability.objects.create(
        model=full, platform="vertex-ai", identifier="full@1", legacy_on=today + timedelta(days=5), sources=["a", 1]
    )
    Retirement.objects.create(
        model=full,
        reason_category="superseded",
        reason="Replaced by successor.v2",
        access_after_retirement="researchers_only",
        access_note="ask ✉",
        preservation_statement="Weights kept.",
        preserved_until=today + timedelta(days=3650),
        registered_by=CuratorFactory(username="registrar"),
    )
    Retirement.objects.create(model=scheduled, reason_category="cost", preserved_for_lifetime=True)
    return [plain, successor, full, legacy, scheduled]


def _request():
    return Request(APIRequestFactory().get("/api/v1/models/"))


def _render(data) -> bytes:
    return JSONRenderer().render(data)


def test_model_list_output_matches_drf_generic_path(varied):
    models = list(selectors.model_queryset().order_by("repo_key"))
    context = {"request": _request()}
    fast = ModelSerializer(models, many=True, context=context).data
    slow = GenericModelSerializer(models, many=True, context=context).data
    assert _render(fast) == _render(slow)
    assert [list(row) for row in fast] == [list(ModelSerializer.Meta.fields)] * len(models)
    full = next(row for row in fast if row["name"] == "full_model-1")
    assert [p["platform"] for p in full["platforms"]] == ["maker-api", "amazon-bedrock", "vertex-ai"]
    assert full["tags"] == ["alpha", "mid", "zeta"]
    assert full["retirement"]["registered_by"] == "registrar"


def test_model_output_matches_without_annotations_or_request(varied):
    """An instance not loaded through the selector (status from the Python twin, no request: relative URLs)."""
    for model in AIModel.objects.all():
        assert _render(ModelSerializer(model).data) == _render(GenericModelSerializer(model).data)


def test_retirement_summary_matches_drf_generic_path(varied):
    for retirement in Retirement.objects.select_related("registered_by"):
        fast = RetirementSummarySerializer(retirement).data
        slow = generic(RetirementSummarySerializer)(retirement).data
        assert _render(fast) == _render(slow)
        assert list(fast) == RetirementSummarySerializer.Meta.fields
