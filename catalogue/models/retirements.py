"""Retirements registered by curators: why, when, and what access remains afterwards."""

from django.conf import settings
from django.db import models
from django.urls import reverse

from core.text import validate_text


class RetirementReason(models.TextChoices):
    COST = "cost", "Cost"
    MAINTENANCE = "maintenance", "Maintenance"
    SUPERSEDED = "superseded", "Superseded"
    SAFETY = "safety", "Safety"
    OTHER = "other", "Other"


class AccessAfterRetirement(models.TextChoices):
    NONE = "none", "None"
    PAID_API = "paid_api", "Paid API"
    BY_REQUEST = "by_request", "By request"
    RESEARCHERS_ONLY = "researchers_only", "Researchers only"
    PUBLIC_WEIGHTS = "public_weights", "Public weights"


class Retirement(models.Model):
    """A curator's record of why and how a model is retired, and what is promised afterwards."""

    model = models.OneToOneField(
        to="catalogue.AIModel",
        on_delete=models.CASCADE,
        related_name="retirement",
    )
    reason_category = models.CharField(max_length=20, choices=RetirementReason.choices)
    reason = models.TextField(validators=[validate_text], blank=True)
    access_after_retirement = models.CharField(
        max_length=20, choices=AccessAfterRetirement.choices, default=AccessAfterRetirement.NONE
    )
    access_note = models.TextField(validators=[validate_text], blank=True)
    preservation_statement = models.TextField(validators=[validate_text], blank=True)
    preserved_until = models.DateField(null=True, blank=True)
    preserved_for_lifetime = models.BooleanField(
        default=False, help_text="Preserved for the lifetime of the organisation."
    )
    registered_by = models.ForeignKey(
        to=settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="registered_retirements",
    )
    registered_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-registered_at"]
        constraints = [
            models.CheckConstraint(
                condition=~(models.Q(preserved_for_lifetime=True) & models.Q(preserved_until__isnull=False)),
                name="catalogue_retirement_one_preservation_term",
            ),
        ]

    def __str__(self) -> str:
        return f"Retirement of {self.model}"

    def get_absolute_url(self) -> str:
        return reverse("api:retirement-detail", kwargs={"pk": self.pk})
