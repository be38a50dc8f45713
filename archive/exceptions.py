"""Archive errors with messages a curator can act on."""

from core.exceptions import ConflictError, DomainError, NotFoundError, UnavailableError


class PathOutsideStagingRoot(DomainError):
    code = "path_outside_staging_root"


class InvalidSource(DomainError):
    code = "invalid_source"


class EmptySource(DomainError):
    code = "empty_source"


class UnreadableFile(DomainError):
    code = "unreadable_file"


class InvalidSnapshotPath(DomainError):
    code = "invalid_path"


class SnapshotSealed(ConflictError):
    code = "snapshot_sealed"


class SnapshotNotFound(NotFoundError):
    code = "snapshot_not_found"


class SourceChanged(DomainError):
    code = "source_changed"


class ChecksumMismatch(DomainError):
    code = "checksum_mismatch"


class SizeMismatch(DomainError):
    code = "size_mismatch"


class TransientStorageError(UnavailableError):
    """A storage error worth retrying (connection refused, timeout, 5xx); the API answers 503 with Retry-After."""


class StoredCopyUnavailable(UnavailableError):
    """The verified copy chosen for a delivery is not where its replica says (the next audit repairs it)."""

    code = "stored_copy_unavailable"
    public_message = "The stored copy cannot be read right now; try again later."


class KeyUnavailable(UnavailableError):
    """The archive's sealing key cannot be used now (the KMS does not answer, or refuses): nothing is sealed or
    opened without it, and nothing falls back to plaintext. A retry succeeds once the key service is back."""

    code = "key_unavailable"
    public_message = "The archive's encryption key service is unavailable; try again later."


class KeyConfigurationError(DomainError):
    """The sealing key setup is unusable (a key directory inside a storage root, a wrapped key with no KMS)."""

    code = "key_configuration"


class RetentionRefused(ConflictError):
    """Storage refuses to delete a copy still under retention (S3 Object Lock) or a legal hold: nothing is marked
    deleted, and the refusal is recorded."""

    code = "retention"
class LogProofUnavailable(NotFoundError):
    """A log proof or checkpoint asked for a leaf or a tree size the log does not (yet) have."""

    code = "log_proof_unavailable"
