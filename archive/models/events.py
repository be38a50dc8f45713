"""The append-only PREMIS event trail."""

from django.db import models
from django.urls import reverse

from core.events import EventOutcome, EventType


class AppendOnlyError(Exception):
    pass


class PreservationEvent(models.Model):
    """A PREMIS event: appended, never edited."""

    event_type = models.CharField(max_length=40, choices=EventType.choices, db_index=True)
    outcome = models.CharField(max_length=20, choices=EventOutcome.choices, db_index=True)
    model = models.ForeignKey(
        to="catalogue.AIModel", on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    snapshot = models.ForeignKey(
        to="archive.Snapshot", on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    snapshot_file = models.ForeignKey(
        to="archive.SnapshotFile", on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    blob = models.ForeignKey(to="archive.Blob", on_delete=models.PROTECT, null=True, blank=True, related_name="events")
    location = models.ForeignKey(
        to="archive.StorageLocation", on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    job = models.ForeignKey(
        to="archive.IngestJob", on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )
    agent = models.CharField(max_length=200, help_text="'user:<name>' or 'worker:<host>'")
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.event_type} {self.outcome} at {self.created_at:%Y-%m-%d %H:%M:%S}"

    def get_absolute_url(self) -> str:
        return reverse("admin:archive_preservationevent_change", args=[self.pk])

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("Preservation events are appended, never edited.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Preservation events are never deleted.")
