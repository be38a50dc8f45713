"""Archive domain: where bytes live (locations, blobs, replicas), what a snapshot holds, how it got
there (ingest jobs) and the append-only PREMIS event trail."""

from django.conf import settings
from django.db import models
from django.urls import reverse

from catalogue.models import FileAccess
from core.exceptions import ConflictError
from core.events import EventOutcome, EventType  # noqa: F401  (archive code names them through archive.models)


class TagImmutable(ConflictError):
    code = "tag_immutable"


class StorageLocation(models.Model):
    """A place that holds blobs: an S3 bucket/prefix or a filesystem root. Credentials stay in the environment."""

    class Kind(models.TextChoices):
        S3 = "s3", "S3-compatible"
        FILESYSTEM = "filesystem", "Filesystem"
        OCFL = "ocfl", "OCFL 1.1 storage root (filesystem mirror)"

    name = models.SlugField(max_length=64, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    endpoint_url = models.CharField(max_length=500, blank=True)
    bucket = models.CharField(max_length=255, blank=True)
    prefix = models.CharField(max_length=500, blank=True)
    region = models.CharField(max_length=64, blank=True)
    root_path = models.CharField(max_length=1000, blank=True)
    access_key_env = models.CharField(max_length=100, blank=True, help_text="Environment variable holding the access key.")
    secret_key_env = models.CharField(max_length=100, blank=True, help_text="Environment variable holding the secret key.")
    is_primary = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True, help_text="Present in the current configuration.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_primary", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_primary"], condition=models.Q(is_primary=True), name="archive_location_one_primary"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("admin:archive_storagelocation_change", args=[self.pk])

    @property
    def on_s3(self) -> bool:
        """Bytes in an S3 bucket: an S3 location, or an OCFL mirror on an S3 prefix (one that names a bucket)."""
        return self.kind == self.Kind.S3 or (self.kind == self.Kind.OCFL and bool(self.bucket))

    @property
    def address(self) -> str:
        if self.on_s3:
            return f"s3://{self.bucket}/{self.prefix}" + (f" @ {self.endpoint_url}" if self.endpoint_url else "")
        return f"file://{self.root_path}"


class Blob(models.Model):
    """Content-addressed bytes: one row per distinct SHA-256, however many snapshots use it."""

    sha256 = models.CharField(max_length=64, unique=True)
    size = models.BigIntegerField()
    md5 = models.CharField(max_length=32, blank=True, help_text="Computed when the bytes pass into an OCFL mirror.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["sha256"]

    def __str__(self) -> str:
        return f"sha256:{self.sha256[:12]}… ({self.size} B)"

    def get_absolute_url(self) -> str:
        return reverse("admin:archive_blob_change", args=[self.pk])


class Replica(models.Model):
    """A blob stored at one location, with its key, state and last proof of integrity."""

    class State(models.TextChoices):
        STORED = "stored", "Stored (not yet verified)"
        VERIFIED = "verified", "Verified"
        CORRUPT = "corrupt", "Corrupt"
        MISSING = "missing", "Missing"

    blob = models.ForeignKey(to="archive.Blob", on_delete=models.PROTECT, related_name="replicas")
    location = models.ForeignKey(to="archive.StorageLocation", on_delete=models.PROTECT, related_name="replicas")
    key = models.CharField(max_length=1000)
    state = models.CharField(max_length=20, choices=State.choices, default=State.STORED)
    last_verified_at = models.DateTimeField(null=True, blank=True)
    verification = models.CharField(max_length=200, blank=True, help_text="How the last verification was proven.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["blob_id", "location_id"]
        constraints = [
            models.UniqueConstraint(fields=["blob", "location"], name="archive_replica_unique_blob_location"),
        ]

    def __str__(self) -> str:
        return f"{self.blob} @ {self.location}"

    def get_absolute_url(self) -> str:
        return reverse("admin:archive_replica_change", args=[self.pk])


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
    doi = models.CharField(max_length=200, blank=True, help_text="A DOI minted elsewhere for this snapshot, e.g. 10.1234/abc.")
    # Tombstone (archive.withdrawals): metadata and citation stay; files are no longer served; doors answer 410.
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawal_reason = models.TextField(blank=True)
    signing_key = models.ForeignKey(
        to="archive.SigningKey", on_delete=models.PROTECT, null=True, blank=True, related_name="snapshots"
    )
    signature = models.TextField(blank=True, help_text="OpenSSF model-signing bundle (Sigstore bundle JSON), at seal.")
    # Set when a withdrawal deleted the snapshot's bytes: replication, the copy policy and fixity audits leave it be.
    bytes_deleted_at = models.DateTimeField(null=True, blank=True)

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


class SnapshotTag(models.Model):
    """A curator's name for one sealed snapshot (e.g. `v1`, `as-retired`); a tag never moves or changes."""

    model = models.ForeignKey(to="catalogue.AIModel", on_delete=models.PROTECT, related_name="snapshot_tags")
    snapshot = models.ForeignKey(to="archive.Snapshot", on_delete=models.PROTECT, related_name="tags")
    name = models.CharField(max_length=64)
    message = models.CharField(max_length=500, blank=True)
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
