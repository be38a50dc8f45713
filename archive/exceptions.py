"""Archive errors with messages a curator can act on."""

from core.exceptions import ConflictError, DomainError, NotFoundError


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


class TransientStorageError(Exception):
    """A storage error worth retrying (connection refused, timeout, 5xx)."""
