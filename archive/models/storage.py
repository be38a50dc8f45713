"""Where bytes live: storage locations, content-addressed blobs and each blob's copies (replicas)."""

from django.db import models
from django.urls import reverse
from django.utils import timezone


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
    # Sealed copies (age v1): the object holds ciphertext; the blob's SHA-256 stays the plaintext's, and the
    # audit checks these (no key needed).
    sealed_with = models.ForeignKey(
        to="archive.SealingKey", on_delete=models.PROTECT, null=True, blank=True, related_name="replicas",
        help_text="The archive key this copy is sealed to (empty: plaintext).",
    )
    ciphertext_sha256 = models.CharField(max_length=64, blank=True)
    ciphertext_size = models.BigIntegerField(null=True, blank=True)
    age_header_size = models.PositiveIntegerField(null=True, blank=True, help_text="Bytes before the payload nonce.")
    sealed_recipients = models.JSONField(default=list, blank=True, help_text="Every age recipient the copy opens for.")
    deep_verified_at = models.DateTimeField(
        null=True, blank=True, help_text="Last deep audit of a sealed copy (decrypted, plaintext SHA-256 checked).")
    # Storage-enforced retention (S3 Object Lock, docs/retention.md): the object version Coda wrote (and the only
    # one it reads, audits and delivers), the date before which storage refuses to delete it, and a legal hold.
    version_id = models.CharField(max_length=1024, blank=True, help_text="The object version Coda stored (S3).")
    retain_until = models.DateTimeField(null=True, blank=True, help_text="Storage refuses deletion before this date.")
    legal_hold = models.BooleanField(default=False, help_text="Storage refuses deletion until the hold is released.")
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

    @property
    def is_sealed(self) -> bool:
        return self.sealed_with_id is not None

    @property
    def stored_sha256(self) -> str:
        """The SHA-256 of the object's bytes as stored: the ciphertext's for a sealed copy."""
        return self.ciphertext_sha256 if self.is_sealed else self.blob.sha256

    @property
    def deletion_blocked_until(self):
        """Why storage would refuse deleting this copy now: 'legal hold', its retention date, or None."""
        if self.legal_hold:
            return "legal hold"
        if self.retain_until is not None and self.retain_until > timezone.now():
            return self.retain_until
        return None

    @property
    def stored_size(self) -> int:
        return self.ciphertext_size if self.is_sealed else self.blob.size
