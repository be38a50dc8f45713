"""The catalogue entry: a model, its access levels and preservation status, and where it was offered."""

from django.db import models
from django.db.models import Value
from django.db.models.functions import Cast, Concat
from django.urls import reverse
from django.utils import timezone

from catalogue.models.lifecycle import lifecycle_status
from catalogue.validators import validate_model_name
from core.text import validate_text


class Modality(models.TextChoices):
    TEXT = "text", "Text"
    MULTIMODAL = "multimodal", "Multimodal"
    IMAGE = "image", "Image generation"
    AUDIO = "audio", "Audio"
    VIDEO = "video", "Video"
    EMBEDDING = "embedding", "Embedding"
    OTHER = "other", "Other"


class MetadataAccess(models.TextChoices):
    PUBLIC = "public", "Public"
    RESTRICTED = "restricted", "Restricted (curators and granted researchers)"


class FileAccess(models.TextChoices):
    PUBLIC = "public", "Public"
    GATED = "gated", "Gated (request and approval)"
    RESTRICTED = "restricted", "Restricted (curators only)"


class PreservationStatus(models.TextChoices):
    PRESERVED = "preserved", "Preserved"
    AT_RISK = "at_risk", "At risk"
    DEGRADED = "degraded", "Degraded"
    NOT_PRESERVED = "not_preserved", "Not preserved"


class AIModel(models.Model):
    """A model, identified Hub-style as `provider/name`; its headline lifecycle follows its maker's platform."""

    provider = models.ForeignKey(
        to="catalogue.Provider",
        on_delete=models.PROTECT,
        related_name="models",
    )
    name = models.CharField(
        max_length=200,
        validators=[validate_model_name],
        help_text="Identifier as the provider publishes it, e.g. 'claude-3-opus-20240229'.",
    )
    repo_key = models.CharField(
        max_length=265,
        unique=True,
        editable=False,
        help_text="'provider/name', stored and indexed so lists sort and page by it without computing it per row.",
    )
    display_name = models.CharField(validators=[validate_text], max_length=200, blank=True)
    family = models.CharField(validators=[validate_text], max_length=200, blank=True, db_index=True)
    description = models.TextField(validators=[validate_text], blank=True, help_text="Model card, Markdown.")
    modality = models.CharField(max_length=20, choices=Modality.choices, default=Modality.TEXT)
    license = models.CharField(validators=[validate_text], max_length=200, blank=True)
    release_date = models.DateField(null=True, blank=True)
    parameter_count = models.BigIntegerField(null=True, blank=True)
    tags = models.ManyToManyField(to="catalogue.Tag", related_name="models", blank=True)
    aliases = models.JSONField(default=list, blank=True, help_text="Other identifiers of this model.")
    # Headline lifecycle (the maker's own platform, or the only one known).
    legacy_on = models.DateField(null=True, blank=True)
    deprecated_on = models.DateField(
        null=True, blank=True, help_text="Date the deprecation was announced."
    )
    retires_on = models.DateField(
        null=True, blank=True, db_index=True, help_text="Retirement (shutdown) date; may be in the future."
    )
    replacement = models.ForeignKey(
        to="catalogue.AIModel",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="replaces",
    )
    metadata_access = models.CharField(
        max_length=20, choices=MetadataAccess.choices, default=MetadataAccess.PUBLIC
    )
    file_access = models.CharField(max_length=20, choices=FileAccess.choices, default=FileAccess.GATED)
    access_terms = models.TextField(validators=[validate_text], blank=True, help_text="Terms a researcher accepts when requesting gated files.")
    preservation_status = models.CharField(
        max_length=20,
        choices=PreservationStatus.choices,
        default=PreservationStatus.NOT_PRESERVED,
        db_index=True,
        help_text="Kept current by the archive after every ingest, replication, audit and repair.",
    )
    # What free-text search reads (catalogue.selectors.search_models): one column the database keeps
    # current, so a search is one LIKE per term instead of one per field. Fields are joined by a newline;
    # search terms are split on whitespace, so a term never matches across two fields. On PostgreSQL a
    # trigram index on UPPER(search_text) serves these LIKEs (migration 0006; written without GIN's pending list
    # since 0009, so a bulk load does not leave the planner preferring a scan).
    search_text = models.GeneratedField(
        expression=Concat(
            "repo_key", Value("\n"), "display_name", Value("\n"), "family", Value("\n"), "description",
            Value("\n"), Cast("aliases", models.TextField()),
            output_field=models.TextField(),
        ),
        output_field=models.TextField(),
        db_persist=True,
        editable=False,
    )
    # Tombstone (catalogue.withdrawals): the record stays, its files are no longer served, its doors answer 410.
    withdrawn_at = models.DateTimeField(null=True, blank=True, db_index=True)
    withdrawal_reason = models.TextField(validators=[validate_text], blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "model"
        ordering = ["provider__slug", "name"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "name"], name="catalogue_model_unique_provider_name"),
            models.CheckConstraint(
                condition=models.Q(retires_on__isnull=True)
                | models.Q(deprecated_on__isnull=True)
                | models.Q(retires_on__gte=models.F("deprecated_on")),
                name="catalogue_model_retirement_after_announcement",
            ),
            models.CheckConstraint(
                condition=~models.Q(replacement=models.F("pk")),
                name="catalogue_model_not_own_replacement",
            ),
        ]

    def __str__(self) -> str:
        return self.repo_id

    @property
    def repo_id(self) -> str:
        return f"{self.provider.slug}/{self.name}"

    def get_absolute_url(self) -> str:
        return reverse("api:model-detail", kwargs={"provider": self.provider.slug, "name": self.name})

    def save(self, *args, **kwargs):
        self.repo_key = f"{self.provider.slug}/{self.name}"
        # preservation_status is written only by the archive (archive.preservation); saving a model loaded
        # earlier must not put back a stale status.
        if self.pk is not None and kwargs.get("update_fields") is None and not kwargs.get("force_insert"):
            kwargs["update_fields"] = [
                f.name
                for f in self._meta.concrete_fields
                if not f.primary_key and not f.generated and f.name != "preservation_status"
            ]
        super().save(*args, **kwargs)

    @property
    def status(self) -> str:
        annotated = getattr(self, "lifecycle_status", None)
        if annotated:
            return annotated
        return lifecycle_status(
            deprecated_on=self.deprecated_on,
            legacy_on=self.legacy_on,
            retires_on=self.retires_on,
            today=timezone.localdate(),
        )

    @property
    def notice_period_days(self) -> int | None:
        if self.deprecated_on and self.retires_on:
            return (self.retires_on - self.deprecated_on).days
        return None


class PlatformAvailability(models.Model):
    """A model offered on one platform, with that platform's identifier and schedule."""

    model = models.ForeignKey(
        to="catalogue.AIModel",
        on_delete=models.CASCADE,
        related_name="platforms",
    )
    platform = models.CharField(max_length=64, help_text="e.g. claude-api, amazon-bedrock, vertex-ai")
    identifier = models.CharField(validators=[validate_text], max_length=255, help_text="The platform's own model id.")
    is_maker_platform = models.BooleanField(default=False)
    legacy_on = models.DateField(null=True, blank=True)
    deprecated_on = models.DateField(null=True, blank=True)
    retires_on = models.DateField(null=True, blank=True)
    status_on_source = models.CharField(validators=[validate_text], max_length=64, blank=True)
    post_retirement_access = models.TextField(validators=[validate_text], blank=True)
    sources = models.JSONField(default=list, blank=True)
    notes = models.TextField(validators=[validate_text], blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "platform availability"
        verbose_name_plural = "platform availability"
        ordering = ["model_id", "-is_maker_platform", "platform"]
        constraints = [
            models.UniqueConstraint(fields=["platform", "identifier"], name="catalogue_platform_unique_identifier"),
            models.UniqueConstraint(fields=["model", "platform"], name="catalogue_platform_unique_model_platform"),
            models.CheckConstraint(
                condition=models.Q(retires_on__isnull=True)
                | models.Q(deprecated_on__isnull=True)
                | models.Q(retires_on__gte=models.F("deprecated_on")),
                name="catalogue_platform_retirement_after_announcement",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.platform}:{self.identifier}"

    def get_absolute_url(self) -> str:
        return self.model.get_absolute_url()
