"""What a snapshot holds: its files, tags and the keys that sign it."""

from django.conf import settings
from django.db import models
from django.urls import reverse

from catalogue.models import FileAccess
from core.exceptions import ConflictError
from core.text import validate_text


class TagImmutable(ConflictError):
    code = "tag_immutable"


class Snapshot(models.Model):
    """An immutable set of a model's files; sealed snapshots never change."""

    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        INGESTING = "ingesting", "Ingesting"
        SEALED = "sealed", "Sealed"
        FAILED = "failed", "Failed"

    model = models.ForeignKey(to="catalogue.AIModel", on_delete=models.PROTECT, related_name="snapshots")
    revision = models.CharField(max_length=40, null=True, blank=True, db_index=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.DRAFT)
    source = models.CharField(max_length=2000, help_text="Where the files were read from.")
    created_by = models.ForeignKey(
        to=settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sealed_at = models.DateTimeField(null=True, blank=True)
    manifest_key = models.CharField(max_length=1000, blank=True)
    file_access = models.CharField(
        max_length=20,
        choices=FileAccess.choices,
        blank=True,
        help_text="Overrides the model's file access for this snapshot; blank inherits.",
    )
    inspection = models.JSONField(
        default=dict, blank=True, help_text="What the weights add up to and whether the checkpoint is complete (at seal)."
    )
    doi = models.CharField(validators=[validate_text], max_length=200, blank=True, help_text="A DOI minted elsewhere for this snapshot, e.g. 10.1234/abc.")
    # Tombstone (archive.withdrawals): metadata and citation stay; files are no longer served; doors answer 410.
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawal_reason = models.TextField(validators=[validate_text], blank=True)
    signing_key = models.ForeignKey(
        to="archive.SigningKey", on_delete=models.PROTECT, null=True, blank=True, related_name="snapshots"
    )
    signature = models.TextField(blank=True, help_text="OpenSSF model-signing bundle (Sigstore bundle JSON), at seal.")
    # Set when a withdrawal deleted the snapshot's bytes: replication, the copy policy and fixity audits leave it be.
    bytes_deleted_at = models.DateTimeField(null=True, blank=True)
    # A legal hold (archive/assurance/retention.py): every stored copy of the snapshot's files is held by storage
    # (S3 Object Lock legal hold) and no withdrawal may delete them, whatever the retention policy.
    legal_hold = models.BooleanField(default=False, help_text="Its bytes must never be deleted while held.")
    legal_hold_reason = models.TextField(validators=[validate_text], blank=True)

    class Meta:
        ordering = ["-sealed_at", "-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(state="sealed") | models.Q(revision__isnull=False),
                name="archive_snapshot_sealed_has_revision",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model_id and self.model.repo_id}@{self.revision or f'#{self.pk} ({self.state})'}"

    def get_absolute_url(self) -> str:
        ref = self.revision or str(self.pk)
        return reverse(
            "api:snapshot-detail",
            kwargs={"provider": self.model.provider.slug, "name": self.model.name, "revision": ref},
        )


class SigningKey(models.Model):
    """A public key of the archive's signing key, kept after rotation so old signatures stay verifiable."""

    key_id = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the PEM public key, hex (the model-signing key hint).")
    algorithm = models.CharField(max_length=40, default="ecdsa-p256-sha256")
    public_key_pem = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.algorithm} {self.key_id[:16]}"

    def get_absolute_url(self) -> str:
        return reverse("api:signing-key-list")


class FileKind(models.TextChoices):
    WEIGHTS = "weights", "Weights"
    CONFIG = "config", "Config"
    TOKENIZER = "tokenizer", "Tokenizer"
    MODEL_CARD = "model_card", "Model card"
    INTERVIEW = "interview", "Interview"
    REPORT = "report", "Report"
    EVALUATION = "evaluation", "Evaluation"
    OTHER = "other", "Other"


class FileFormat(models.TextChoices):
    SAFETENSORS = "safetensors", "safetensors"
    GGUF = "gguf", "GGUF"
    PYTORCH = "pytorch", "PyTorch"
    ONNX = "onnx", "ONNX"
    JSON = "json", "JSON"
    TEXT = "text", "Text"
    OTHER = "other", "Other"


class SnapshotFile(models.Model):
    """One file of a snapshot: its relative path and, once stored, its blob."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        STORED = "stored", "Stored and verified"
        FAILED = "failed", "Failed"

    snapshot = models.ForeignKey(to="archive.Snapshot", on_delete=models.CASCADE, related_name="files")
    path = models.CharField(max_length=1024)
    size = models.BigIntegerField(help_text="Size when listed at the source.")
    source_mtime_ns = models.BigIntegerField(null=True, blank=True)
    blob = models.ForeignKey(
        to="archive.Blob", on_delete=models.PROTECT, null=True, blank=True, related_name="snapshot_files"
    )
    kind = models.CharField(max_length=20, choices=FileKind.choices, default=FileKind.OTHER)
    format = models.CharField(max_length=20, choices=FileFormat.choices, default=FileFormat.OTHER)
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    bytes_done = models.BigIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True, help_text="When a worker last started on this file.")
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Last progress from that worker.")
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    inspection = models.JSONField(default=dict, blank=True, help_text="Header/config facts read while ingesting.")
    problems = models.JSONField(default=list, blank=True, help_text="Inspection problems: {code, path, message}.")

    class Meta:
        ordering = ["snapshot_id", "path"]
        constraints = [
            models.UniqueConstraint(fields=["snapshot", "path"], name="archive_file_unique_path"),
        ]

    def __str__(self) -> str:
        return self.path

    def get_absolute_url(self) -> str:
        return self.snapshot.get_absolute_url()

    @property
    def sha256(self) -> str | None:
        return self.blob.sha256 if self.blob_id else None


class SnapshotTag(models.Model):
    """A curator's name for one sealed snapshot (e.g. `v1`, `as-retired`); a tag never moves or changes."""

    model = models.ForeignKey(to="catalogue.AIModel", on_delete=models.PROTECT, related_name="snapshot_tags")
    snapshot = models.ForeignKey(to="archive.Snapshot", on_delete=models.PROTECT, related_name="tags")
    name = models.CharField(max_length=64)
    message = models.CharField(validators=[validate_text], max_length=500, blank=True)
    created_by = models.ForeignKey(
        to=settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["model_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["model", "name"], name="archive_snapshot_tag_unique_name"),
        ]

    def __str__(self) -> str:
        return f"{self.name} → {self.snapshot}"

    def get_absolute_url(self) -> str:
        return self.snapshot.get_absolute_url()

    def save(self, *args, **kwargs):
        # Tags are immutable: a citation naming `as-retired` must always mean the same bytes.
        if self.pk is not None:
            from_db = SnapshotTag.objects.filter(pk=self.pk).values("name", "snapshot_id", "model_id").first()
            if from_db is not None and from_db != {"name": self.name, "snapshot_id": self.snapshot_id,
                                                   "model_id": self.model_id}:
                raise TagImmutable(f"Tag {from_db['name']!r} is immutable; create a new tag instead.")
        super().save(*args, **kwargs)
