"""How bytes got there: ingest jobs and the leases that let a killed worker's work be resumed."""

from django.conf import settings
from django.db import models
from django.urls import reverse

from core.events import EventType


class IngestJob(models.Model):
    """One ingest request: which snapshot, from where, and how it went. Progress is derived from its files."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    snapshot = models.ForeignKey(to="archive.Snapshot", on_delete=models.CASCADE, related_name="jobs")
    state = models.CharField(max_length=20, choices=State.choices, default=State.QUEUED)
    requested_by = models.ForeignKey(
        to=settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    files_total = models.PositiveIntegerField(default=0)
    bytes_total = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"ingest job {self.pk} ({self.state})"

    def get_absolute_url(self) -> str:
        return reverse("api:ingest-job-detail", kwargs={"pk": self.pk})


class Lease(models.Model):
    """Long work (one file's ingest, a replication, an audit) and who is doing it: at most one holder at a time,
    kept by heartbeats. A holder that stops beating (a killed worker) loses it and the work is queued again."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued (no holder)"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    name = models.CharField(max_length=200, help_text="What the work is, e.g. 'ingest-file:12', 'replicate:3'.")
    task = models.CharField(max_length=200, help_text="Celery task that does (and resumes) the work.")
    args = models.JSONField(default=list, blank=True)
    event_type = models.CharField(max_length=40, choices=EventType.choices, blank=True)
    subject = models.JSONField(default=dict, blank=True, help_text="Event links (model_id, snapshot_id ...).")
    state = models.CharField(max_length=20, choices=State.choices, default=State.QUEUED)
    token = models.CharField(max_length=32, blank=True, help_text="The current holder's; empty when nobody holds it.")
    holder = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    uploads = models.JSONField(
        default=list, blank=True, help_text="Multipart uploads the holder opened: {location, key, upload_id}."
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["name"], condition=models.Q(state__in=["queued", "running"]), name="archive_lease_one_active"
            ),
        ]
        indexes = [models.Index(fields=["state", "heartbeat_at"], name="archive_lease_state_beat")]

    def __str__(self) -> str:
        return f"{self.name} ({self.state})"

    def get_absolute_url(self) -> str:
        return reverse("admin:archive_lease_change", args=[self.pk])
