"""The archive's age identities for sealed holdings: the public recipient, and the secret only in wrapped form."""

from django.db import models
from django.urls import reverse


class SealingKey(models.Model):
    """One of the archive's age identities. The secret never sits here in plaintext: wrapped by a KMS key
    (`wrapping` = kms), or kept in a 0600 file under CODA_SEALING_KEY_DIR (`wrapping` = local-file). Kept after
    rotation: objects sealed to it still open with it."""

    class Wrapping(models.TextChoices):
        KMS = "kms", "Wrapped by a KMS key"
        LOCAL_FILE = "local-file", "Local file (embedded default)"

    key_id = models.CharField(max_length=64, unique=True, help_text="First 16 hex digits of SHA-256 of the recipient.")
    recipient = models.CharField(max_length=100, unique=True, help_text="The age recipient (age1…).")
    wrapping = models.CharField(max_length=20, choices=Wrapping.choices)
    kms_key_id = models.CharField(max_length=300, blank=True, help_text="The KMS key that wraps the identity.")
    wrapped_identity = models.TextField(blank=True, help_text="KMS ciphertext of the identity, base64.")
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True, help_text="No longer used for new objects.")

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"age {self.key_id}"

    def get_absolute_url(self) -> str:
        return reverse("api:encryption-key-list")
