"""Who makes models: providers and the tags models are filed under."""

from django.db import models
from django.db.models import Value
from django.db.models.functions import Concat
from django.urls import reverse

from catalogue.validators import validate_provider_slug
from core.text import validate_text


class Provider(models.Model):
    """An organisation that makes models (Anthropic, OpenAI, ...)."""

    slug = models.CharField(
        max_length=64,
        unique=True,
        validators=[validate_provider_slug],
        help_text="Lowercase URL-safe identifier, e.g. 'anthropic'.",
    )
    name = models.CharField(validators=[validate_text], max_length=200)
    website = models.URLField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name or self.slug

    def get_absolute_url(self) -> str:
        return reverse("api:provider-detail", kwargs={"slug": self.slug})

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        # Models carry 'provider/name' as a stored key: keep it in step with the slug.
        self.models.exclude(repo_key__startswith=f"{self.slug}/").update(
            repo_key=Concat(Value(f"{self.slug}/"), "name")
        )


class Tag(models.Model):
    """A free label for models (e.g. 'vision', 'open-weights')."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(validators=[validate_text], max_length=100)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug

    def get_absolute_url(self) -> str:
        return reverse("api:model-list") + f"?tag={self.slug}"
