"""The storage interface: put a stream into a location under its SHA-256, with proof that what was
stored is what was read. One interface for filesystem and S3-compatible locations, and the storage layout
(blob and manifest keys)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from django.conf import settings

from archive.models import StorageLocation
from archive.storage.streaming import HashingReader


@dataclass
class StoreResult:
    key: str
    sha256: str
    size: int
    deduplicated: bool
    verification: str  # how the stored copy was proven equal to what was read
    version_id: str = ""  # the object version written (S3 versioned buckets); reads name it
    retain_until: datetime | None = None  # the retention date it was written with (S3 Object Lock)


def blob_key(sha256: str) -> str:
    """Content-addressed layout shared by every location: blobs/sha256/ab/cd/<digest>."""
    return f"blobs/sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def manifest_key(*, repo_id: str, revision: str) -> str:
    return f"manifests/{repo_id}/{revision}.json"


class Backend:
    """Interface of a storage location."""

    location: StorageLocation

    def store(
        self,
        reader: HashingReader,
        *,
        size: int,
        is_stored: Callable[[str], str | None],
        before_commit: Callable[[], None] = lambda: None,
        key: str | None = None,
        on_upload: Callable[[str, str], None] | None = None,
    ) -> StoreResult:
        """Stream `reader` in; call `before_commit` once every byte is read and before the object appears.
        `key` is the object's key when the digest is known in advance (replication, repair: `before_commit`
        checks it); otherwise the backend picks it, and `is_stored(sha256)` returns the key of a verified copy
        already here (then nothing new is kept) or None. `on_upload(key, upload_id)` is told of each multipart
        upload as it opens (S3), so one left open by a killed worker can be aborted."""
        raise NotImplementedError

    def deduplicated(self, is_stored: Callable[[str], str | None], sha256: str, size: int) -> StoreResult | None:
        """The verified copy already here, when `is_stored` names one and its object is present with this size."""
        existing = is_stored(sha256)
        if existing and self.size_of(existing) == size:
            return StoreResult(existing, sha256, size, True, "already verified")
        return None

    def read_size(self, size: int) -> int:
        """How many bytes `store` takes from its reader at a time for an object of `size` bytes (a source read
        ahead for it is read in pieces of this size, so no piece is split or joined on the way)."""
        return settings.CODA_CHUNK_SIZE

    def open(self, key: str, *, start: int = 0, end: int | None = None, version_id: str = "") -> BinaryIO:
        """A binary stream of the object (or of bytes start..end inclusive), of `version_id` when one is given (S3);
        FileNotFoundError if absent."""
        raise NotImplementedError

    def abort_upload(self, full_key: str, upload_id: str) -> bool:
        """Abort a multipart upload left open; False when there is none (filesystem locations have none)."""
        return False

    def presigned_url(self, key: str, *, expires_in: int, filename: str | None = None,
                      version_id: str = "") -> str | None:
        """A short-lived URL to the bytes, where the storage can give one (S3); None otherwise."""
        return None

    def size_of(self, key: str, *, version_id: str = "") -> int | None:
        raise NotImplementedError

    def current_version(self, key: str) -> str | None:
        """The version a plain read of `key` would get now (S3 versioned buckets); None where there are none."""
        return None

    def retention_set(self, key: str, *, version_id: str, until: datetime) -> None:
        """Move the retention date of one stored version forward (S3 Object Lock); nothing elsewhere."""

    def legal_hold_set(self, key: str, *, version_id: str, on: bool) -> bool:
        """Put or release a legal hold on one stored version (S3 Object Lock); True when storage enforces it, False
        where it cannot (filesystem locations, Object Lock off): Coda then refuses the deletion itself."""
        return False

    def lock_state(self, key: str, *, version_id: str) -> dict:
        """What storage says of one version's lock: mode, retain_until, legal_hold (empty where there is none)."""
        return {}

    def put_bytes(self, key: str, data: bytes) -> None:
        raise NotImplementedError

    def delete(self, key: str, *, version_id: str = "") -> None:
        """Delete the object (S3: that version; a key without a version only gets a delete marker on a versioned
        bucket). RetentionRefused when storage refuses it (retention or legal hold)."""
        raise NotImplementedError

    def list_keys(self, prefix: str):
        """Every key under prefix (relative to the location), lazily."""
        raise NotImplementedError

    def list_objects(self, prefix: str):
        """(key, last modified) of every object under prefix, lazily."""
        raise NotImplementedError
