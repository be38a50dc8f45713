"""The tamper-evident log's tables: the leaf of each event, the log's size, and signed checkpoints (archive/log/)."""

from django.db import models
from django.db.models import Q


class LogHead(models.Model):
    """The log's size: one row, locked while pending leaves get their indexes, so indexes are gap-free."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    size = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"log of {self.size} leaves"


class LogLeaf(models.Model):
    """One event's leaf: its RFC 6962 leaf hash, recorded in the event's transaction; its index in the tree is
    assigned after commit, before each checkpoint (archive.log.services.log_sequence). No foreign key: a row deleted behind Coda's
    back must leave its leaf to accuse it."""

    event_id = models.BigIntegerField(primary_key=True)
    index = models.BigIntegerField(null=True, blank=True, unique=True)
    leaf_hash = models.BinaryField(max_length=32)

    class Meta:
        indexes = [
            models.Index(fields=["event_id"], condition=Q(index__isnull=True), name="archive_logleaf_pending"),
        ]

    def __str__(self) -> str:
        return f"leaf {self.index} (event {self.event_id})"


class LogCheckpoint(models.Model):
    """A signed checkpoint: the C2SP signed note committing to the tree's size and root hash."""

    size = models.BigIntegerField(unique=True)
    root_hash = models.BinaryField(max_length=32)
    origin = models.CharField(max_length=200)
    note = models.TextField(help_text="C2SP signed note holding the tlog-checkpoint body")
    key = models.ForeignKey(to="archive.SigningKey", on_delete=models.PROTECT, related_name="log_checkpoints")
    event_id = models.BigIntegerField(null=True, blank=True, help_text="the signature event recorded with it")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-size"]

    def __str__(self) -> str:
        return f"checkpoint of {self.size} leaves"
