"""Two-person rule: a dangerous change proposed by one curator waits here until a different curator approves it."""

from django.conf import settings
from django.db import models
from django.urls import reverse

from core.text import validate_text


class Proposal(models.Model):
    """A dangerous change (granting file access, lowering an access level, deleting bytes, rotating a key) that
    takes effect only when a curator other than its proposer approves it (catalogue.approvals)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REFUSED = "refused", "Refused"
        EXPIRED = "expired", "Expired"

    kind = models.CharField(max_length=40, db_index=True, help_text="What change: a kind in catalogue.approvals' registry.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True)
    model = models.ForeignKey(
        to="catalogue.AIModel", on_delete=models.CASCADE, null=True, blank=True, related_name="proposals"
    )
    params = models.JSONField(default=dict, blank=True, help_text="What the change needs, as its kind reads it.")
    summary = models.TextField(validators=[validate_text], help_text="The change in one sentence, at proposal.")
    reason = models.TextField(validators=[validate_text], blank=True)
    proposed_by = models.ForeignKey(
        to=settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_by = models.ForeignKey(
        to=settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decision_note = models.TextField(validators=[validate_text], blank=True)
    result = models.JSONField(default=dict, blank=True, help_text="What the applied change gave (on approval).")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "expires_at"], name="catalogue_proposal_due")]

    def __str__(self) -> str:
        return f"proposal {self.pk} {self.kind} ({self.status})"

    def get_absolute_url(self) -> str:
        return reverse("admin:catalogue_proposal_change", args=[self.pk])
