"""Access to gated weights: researchers' requests and scheduled changes of access level (embargoes)."""

from django.conf import settings
from django.db import models
from django.urls import reverse

from core.text import validate_text


class AccessRequest(models.Model):
    """A researcher's request for a gated model's files; approved with an optional expiry, it is a grant."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        DENIED = "denied", "Denied"
        REVOKED = "revoked", "Revoked"

    user = models.ForeignKey(to=settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_requests")
    model = models.ForeignKey(to="catalogue.AIModel", on_delete=models.CASCADE, related_name="access_requests")
    purpose = models.TextField(validators=[validate_text], )
    affiliation = models.CharField(validators=[validate_text], max_length=300)
    accepted_terms = models.BooleanField(default=False)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True)
    decided_by = models.ForeignKey(
        to=settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(validators=[validate_text], blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "model", "status"], name="catalogue_access_lookup")]

    def __str__(self) -> str:
        return f"{self.user} -> {self.model} ({self.status})"

    def get_absolute_url(self) -> str:
        return reverse("admin:catalogue_accessrequest_change", args=[self.pk])


class AccessChange(models.Model):
    """An embargo: a model's access level that changes by itself on a date set in advance
    (catalogue.embargoes applies it, from the beat scheduler; each change an `access` event)."""

    class Field(models.TextChoices):
        METADATA = "metadata_access", "Metadata access"
        FILES = "file_access", "File access"

    model = models.ForeignKey(to="catalogue.AIModel", on_delete=models.CASCADE, related_name="access_changes")
    field = models.CharField(max_length=20, choices=Field.choices)
    level = models.CharField(max_length=20, help_text="public, gated or restricted (metadata: public or restricted).")
    effective_on = models.DateField(db_index=True, help_text="The change applies from the start of this day.")
    reason = models.TextField(validators=[validate_text], blank=True)
    created_by = models.ForeignKey(
        to=settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    applied_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["effective_on", "id"]

    def __str__(self) -> str:
        return f"{self.model_id and self.model.repo_id}: {self.field} → {self.level} on {self.effective_on}"

    def get_absolute_url(self) -> str:
        return reverse("admin:catalogue_accesschange_change", args=[self.pk])
