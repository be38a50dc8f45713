"""OCFL 1.1 mirror on an S3 prefix: the same storage root as archive/storage/ocfl.py (0=ocfl_1.1, layout extension
0003, one object per sealed snapshot), its files written under a bucket's prefix by the S3 backend. Content files go
through S3Backend.store at their content path (single PUT up to one part, else one multipart upload straight to the
final key, each part checked: a multipart upload is invisible until completed, so no temporary key ever appears in
the root); inventories, sidecars and declarations are small PUTs with Content-MD5."""

from archive.exceptions import InvalidSource
from archive.storage.base import StoreResult
from archive.storage.ocfl import OcflObjects
from archive.storage.s3 import S3Backend

SMALL_LIMIT = 64 * 1024 * 1024  # an inventory larger than this is not one Coda wrote


class OcflS3Backend(OcflObjects, S3Backend):
    """An OCFL 1.1 storage root at s3://<bucket>/<prefix>. Blobs go only where the caller says (their content path in
    a snapshot's object)."""

    def store(self, reader, *, size, is_stored, before_commit=lambda: None, key=None, on_upload=None) -> StoreResult:
        if key is None:
            raise InvalidSource("An OCFL location stores a blob only at a content path inside an object.")
        self.root_declare()
        return super().store(reader, size=size, is_stored=lambda sha256: None, before_commit=before_commit, key=key,
                             on_upload=on_upload)

    def read_small(self, key: str) -> bytes:
        with self.open(key) as body:
            data = body.read(SMALL_LIMIT + 1)
        if len(data) > SMALL_LIMIT:
            raise ValueError(f"{key} is larger than {SMALL_LIMIT} bytes")
        return data
