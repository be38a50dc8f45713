"""API representations. Output serializers read; input serializers only validate shape —
services apply the business rules."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from rest_framework import serializers

from catalogue.api.fields import ModelRefField, ReplacementField
from core.input import InputSerializer
from core.schema import WithdrawnSerializer
from catalogue.models import (
    AccessAfterRetirement,
    AIModel,
    FileAccess,
    LifecycleStatus,
    MetadataAccess,
    Modality,
    PlatformAvailability,
    Provider,
    Retirement,
    RetirementReason,
    lifecycle_status,
)
from catalogue.selectors import model_platforms, model_tags
from catalogue.validators import validate_model_name, validate_provider_slug

# The model list renders up to 500 rows with their platforms and retirement; DRF's field-by-field path cost
# 0.15-0.3 ms a row there (benchmarks/api_scale.py). ModelSerializer, PlatformSerializer and
# RetirementSummarySerializer therefore build their output in plain Python, key for key and value for value
# what their declared fields give (the declared fields still describe the schema);
# tests/catalogue/test_serializers.py holds the two paths equal.
_date = serializers.DateField().to_representation
_datetime = serializers.DateTimeField().to_representation


def _absolute_url(serializer, obj) -> str:
    request = serializer.context.get("request")
    url = obj.get_absolute_url()
    return request.build_absolute_uri(url) if request else url


def _django_validator(func):
    def run(value):
        try:
            func(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None

    return run


class ProviderSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    model_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Provider
        fields = ["slug", "name", "website", "model_count", "url", "created_at", "updated_at"]

    def get_url(self, obj) -> str:
        return _absolute_url(self, obj)


class ProviderInputSerializer(InputSerializer):
    slug = serializers.CharField(max_length=64, validators=[_django_validator(validate_provider_slug)])
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    website = serializers.URLField(required=False, allow_blank=True)


class PlatformSerializer(serializers.ModelSerializer):
    status = serializers.SerializerMethodField()

    class Meta:
        model = PlatformAvailability
        fields = [
            "platform",
            "identifier",
            "is_maker_platform",
            "status",
            "legacy_on",
            "deprecated_on",
            "retires_on",
            "status_on_source",
            "post_retirement_access",
            "sources",
            "notes",
        ]

    def get_status(self, obj) -> str:
        return lifecycle_status(
            deprecated_on=obj.deprecated_on,
            legacy_on=obj.legacy_on,
            retires_on=obj.retires_on,
            today=timezone.localdate(),
        )

    def to_representation(self, obj):
        return {
            "platform": obj.platform,
            "identifier": obj.identifier,
            "is_maker_platform": obj.is_maker_platform,
            "status": self.get_status(obj),
            "legacy_on": _date(obj.legacy_on),
            "deprecated_on": _date(obj.deprecated_on),
            "retires_on": _date(obj.retires_on),
            "status_on_source": obj.status_on_source,
            "post_retirement_access": obj.post_retirement_access,
            "sources": obj.sources,
            "notes": obj.notes,
        }


class RetirementSummarySerializer(serializers.ModelSerializer):
    registered_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = Retirement
        fields = [
            "id",
            "reason_category",
            "reason",
            "access_after_retirement",
            "access_note",
            "preservation_statement",
            "preserved_until",
            "preserved_for_lifetime",
            "registered_by",
            "registered_at",
        ]

    def to_representation(self, obj):
        registered_by = obj.registered_by
        return {
            "id": obj.id,
            "reason_category": obj.reason_category,
            "reason": obj.reason,
            "access_after_retirement": obj.access_after_retirement,
            "access_note": obj.access_note,
            "preservation_statement": obj.preservation_statement,
            "preserved_until": _date(obj.preserved_until),
            "preserved_for_lifetime": obj.preserved_for_lifetime,
            "registered_by": registered_by.username if registered_by is not None else None,
            "registered_at": _datetime(obj.registered_at),
        }


class ModelSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="repo_id", read_only=True)
    provider = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    status = serializers.ChoiceField(choices=LifecycleStatus.choices, read_only=True)
    notice_period_days = serializers.IntegerField(read_only=True, allow_null=True)
    replacement = ReplacementField()
    tags = serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)
    platforms = PlatformSerializer(many=True, read_only=True)
    # Declared once (not instantiated per row in a method field): list serialization cost matters at scale.
    retirement = RetirementSummarySerializer(read_only=True, allow_null=True)
    url = serializers.SerializerMethodField()
    tombstone = serializers.SerializerMethodField(
        help_text="null, or when and why the model was withdrawn (its detail then answers 410 Gone)."
    )

    class Meta:
        model = AIModel
        fields = [
            "id",
            "provider",
            "name",
            "display_name",
            "family",
            "description",
            "modality",
            "license",
            "release_date",
            "parameter_count",
            "tags",
            "aliases",
            "status",
            "legacy_on",
            "deprecated_on",
            "retires_on",
            "notice_period_days",
            "replacement",
            "platforms",
            "retirement",
            "preservation_status",
            "metadata_access",
            "file_access",
            "url",
            "created_at",
            "updated_at",
            "tombstone",
        ]

    def get_url(self, obj) -> str:
        return _absolute_url(self, obj)

    def get_tombstone(self, obj) -> dict | None:
        if obj.withdrawn_at is None:
            return None
        return {"withdrawn_at": obj.withdrawn_at.isoformat(), "reason": obj.withdrawal_reason}

    def to_representation(self, obj):
        platform = self.fields["platforms"].child
        replacement = self.fields["replacement"].get_attribute(obj)
        retirement = getattr(obj, "retirement", None)  # the reverse one-to-one raises when there is none
        return {
            "id": obj.repo_id,
            "provider": obj.provider.slug,
            "name": obj.name,
            "display_name": obj.display_name,
            "family": obj.family,
            "description": obj.description,
            "modality": obj.modality,
            "license": obj.license,
            "release_date": _date(obj.release_date),
            "parameter_count": obj.parameter_count,
            "tags": [tag.slug for tag in model_tags(obj)],
            "aliases": obj.aliases,
            "status": str(obj.status),
            "legacy_on": _date(obj.legacy_on),
            "deprecated_on": _date(obj.deprecated_on),
            "retires_on": _date(obj.retires_on),
            "notice_period_days": obj.notice_period_days,
            "replacement": replacement.repo_id if replacement is not None else None,
            "platforms": [platform.to_representation(p) for p in model_platforms(obj)],
            "retirement": self.fields["retirement"].to_representation(retirement) if retirement is not None else None,
            "preservation_status": obj.preservation_status,
            "metadata_access": obj.metadata_access,
            "file_access": obj.file_access,
            "url": self.get_url(obj),
            "created_at": _datetime(obj.created_at),
            "updated_at": _datetime(obj.updated_at),
            "tombstone": self.get_tombstone(obj),
        }


class WithdrawnModelSerializer(WithdrawnSerializer):
    """410 Gone of a withdrawn model's detail: the tombstone and the kept record."""

    model = ModelSerializer(help_text="The model's record, as its detail shows it.")

    class Meta:
        ref_name = "WithdrawnModel"


class ModelInputSerializer(InputSerializer):
    provider = serializers.SlugRelatedField(slug_field="slug", queryset=Provider.objects.all())
    name = serializers.CharField(max_length=200, validators=[_django_validator(validate_model_name)])
    display_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    family = serializers.CharField(max_length=200, required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True)
    modality = serializers.ChoiceField(choices=Modality.choices, required=False)
    license = serializers.CharField(max_length=200, required=False, allow_blank=True)
    release_date = serializers.DateField(required=False, allow_null=True)
    parameter_count = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    tags = serializers.ListField(child=serializers.SlugField(max_length=64), required=False)
    aliases = serializers.ListField(child=serializers.CharField(max_length=255), required=False)
    legacy_on = serializers.DateField(required=False, allow_null=True)
    deprecated_on = serializers.DateField(required=False, allow_null=True)
    retires_on = serializers.DateField(required=False, allow_null=True)
    replacement = ModelRefField(required=False, allow_null=True)


class ModelUpdateSerializer(ModelInputSerializer):
    provider = None
    name = None
    # Access fields: curators only, through catalogue.access.model_access_set (each change an `access` event).
    metadata_access = serializers.ChoiceField(choices=MetadataAccess.choices, required=False)
    file_access = serializers.ChoiceField(choices=FileAccess.choices, required=False)
    access_terms = serializers.CharField(required=False, allow_blank=True)


class RetirementSerializer(RetirementSummarySerializer):
    model = ModelRefField(read_only=True)
    model_status = serializers.CharField(read_only=True)
    retires_on = serializers.DateField(source="model.retires_on", read_only=True)
    deprecated_on = serializers.DateField(source="model.deprecated_on", read_only=True)
    notice_period_days = serializers.IntegerField(source="model.notice_period_days", read_only=True)
    replacement = ReplacementField(of="model")
    url = serializers.SerializerMethodField()

    class Meta(RetirementSummarySerializer.Meta):
        fields = [
            "id",
            "model",
            "model_status",
            "deprecated_on",
            "retires_on",
            "notice_period_days",
            "replacement",
        ] + RetirementSummarySerializer.Meta.fields[1:] + ["url"]

    def get_url(self, obj) -> str:
        return _absolute_url(self, obj)

    def to_representation(self, obj):
        # More fields than the summary: DRF's generic path, not the summary's plain-Python one.
        return serializers.ModelSerializer.to_representation(self, obj)


class RetirementInputSerializer(InputSerializer):
    model = ModelRefField()
    retires_on = serializers.DateField()
    deprecated_on = serializers.DateField(required=False, allow_null=True)
    replacement = ModelRefField(required=False, allow_null=True)
    reason_category = serializers.ChoiceField(choices=RetirementReason.choices)
    reason = serializers.CharField(required=False, allow_blank=True)
    access_after_retirement = serializers.ChoiceField(choices=AccessAfterRetirement.choices, required=False)
    access_note = serializers.CharField(required=False, allow_blank=True)
    preservation_statement = serializers.CharField(required=False, allow_blank=True)
    preserved_until = serializers.DateField(required=False, allow_null=True)
    preserved_for_lifetime = serializers.BooleanField(required=False)


class RetirementUpdateSerializer(RetirementInputSerializer):
    model = None
    retires_on = serializers.DateField(required=False)
    reason_category = serializers.ChoiceField(choices=RetirementReason.choices, required=False)
