"""S3 multipart uploads: part sizes, the per-part and composite checksums that prove an upload equals the bytes
read (never a second read), and the upload/copy steps S3Backend uses for objects larger than one part."""

import base64
import hashlib
import math
import threading
import uuid
import zlib
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings

from archive.exceptions import ChecksumMismatch, SizeMismatch
from archive.storage.base import StoreResult, blob_key
from archive.storage.object_lock import lock_args, retain_until_new, version_of
from archive.storage.streaming import HashingReader

MAX_PARTS = 10_000
MIN_PART = 5 * 1024 * 1024
MIB = 1024 * 1024
MAX_SINGLE_COPY = 5 * 1024**3


def part_size_for(size: int) -> int:
    """Configured part size, raised (in whole MiB) so a file never needs more than 10,000 parts."""
    base = max(settings.CODA_PART_SIZE, MIN_PART)
    needed = math.ceil(size / MAX_PARTS) if size else base
    return max(base, math.ceil(needed / MIB) * MIB)


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def etag_value(value: str) -> str:
    return (value or "").strip('"')


def upload_key() -> str:
    """Key of a large object whose SHA-256 is known only once it is uploaded (CODA_S3_KEY_LAYOUT=direct)."""
    return f"blobs/uploads/{uuid.uuid4().hex}"


def composite_etag(parts: list[dict]) -> str:
    """S3's multipart ETag: MD5 of the concatenated part MD5s, then '-<number of parts>'."""
    return hashlib.md5(b"".join(p["digest"] for p in parts), usedforsecurity=False).hexdigest() + f"-{len(parts)}"


class PartChecksum:
    """How each part of a multipart upload is checked on the wire, and how the completed object is proven
    equal to the parts sent, from digests of the bytes read (never a second read):
    - md5: Content-MD5 per part (every S3 server checks it); proof: each part's ETag, then the composite ETag.
    - crc32 / sha256: an x-amz-checksum per part (the server checks it and echoes its own); proof: each part's
      echoed checksum, then the object's composite checksum (checksum of the part checksums, '-<parts>')."""

    FLEXIBLE = {"crc32": ("CRC32", "ChecksumCRC32"), "sha256": ("SHA256", "ChecksumSHA256")}

    def __init__(self, mode: str):
        if mode in self.FLEXIBLE and settings.CODA_S3_CHECKSUMS != "when_supported":
            mode = "md5"  # flexible checksums are off for this server: fall back to the one every server checks
        self.mode = mode
        self.algorithm, self.field = self.FLEXIBLE.get(mode, (None, None))

    def create_args(self) -> dict:
        return {"ChecksumAlgorithm": self.algorithm} if self.algorithm else {}

    def digest(self, data: bytes) -> bytes:
        if self.mode == "crc32":
            return zlib.crc32(data).to_bytes(4, "big")
        if self.mode == "sha256":
            return hashlib.sha256(data).digest()
        return hashlib.md5(data, usedforsecurity=False).digest()

    def part_args(self, digest: bytes) -> dict:
        if self.field:
            return {"ChecksumAlgorithm": self.algorithm, self.field: b64(digest)}
        return {"ContentMD5": b64(digest)}

    def check_part(self, number: int, digest: bytes, result: dict) -> dict:
        """The part as CompleteMultipartUpload wants it, once the server's digest of it equals ours."""
        part = {"PartNumber": number, "ETag": result["ETag"]}
        if self.field:
            found = result.get(self.field)
            if found is None:
                raise ChecksumMismatch(
                    f"Part {number}: the server did not confirm its {self.algorithm} checksum; "
                    "set CODA_S3_PART_CHECKSUM=md5 for this server."
                )
            part[self.field] = found
            expected = b64(digest)
        else:
            found, expected = etag_value(result["ETag"]), digest.hex()
        if found != expected:
            raise ChecksumMismatch(f"Part {number}: server {self.mode} {found} differs from the bytes sent ({expected}).")
        return part

    def check_object(self, response: dict, parts: list[dict]) -> str:
        """Compare the completed object's composite digest with the one computed from the parts sent."""
        if self.field:
            found = response.get(self.field) or ""
            combined = b64(self.digest(b"".join(p["digest"] for p in parts)))
            value, _, count = found.partition("-")
            if value != combined or count not in ("", str(len(parts))):
                raise ChecksumMismatch(f"Object {self.algorithm} checksum {found!r} differs from the parts sent ({combined}).")
            return f"server {self.mode} per part and composite"
        etag = etag_value(response.get("ETag"))
        if etag != composite_etag(parts):
            raise ChecksumMismatch(f"Multipart ETag {etag} differs from the composite of the parts sent.")
        return "server etag md5 per part and composite"


class MultipartUploads:
    """The multipart half of S3Backend (which provides client, bucket, full_key, deduplicated, _abort, _discard)."""

    def _multipart(self, reader: HashingReader, *, full_key: str, size: int, part_size: int, checksum: PartChecksum,
                   before_commit, full_md5=None, on_upload=None, lock_until=None) -> tuple[dict, list[dict]]:
        """Upload every byte of `reader` as the parts of one multipart upload and complete it. `before_commit`
        runs once everything is read and before the object becomes visible; any failure aborts the upload.
        `on_upload(full_key, upload_id)` hears of the upload as it opens (a lease records it: if this worker
        is killed, the next one aborts it). `lock_until`: the object is written under retention until then
        (S3 Object Lock, when on)."""
        upload_id = self.client.create_multipart_upload(
            Bucket=self.bucket, Key=full_key, **checksum.create_args(), **lock_args(lock_until)
        )["UploadId"]
        try:
            if on_upload is not None:
                on_upload(full_key, upload_id)
            parts = self._upload_parts(
                reader, key=full_key, upload_id=upload_id, part_size=part_size, checksum=checksum, full_md5=full_md5
            )
            if reader.bytes_read != size:
                raise SizeMismatch(f"Read {reader.bytes_read} bytes, expected {size}.")
            before_commit()
            response = self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=full_key,
                UploadId=upload_id,
                MultipartUpload={"Parts": [{k: v for k, v in p.items() if k != "digest"} for p in parts]},
            )
        except BaseException as exc:
            self._abort(full_key, upload_id, cause=exc)
            raise
        return response, parts

    def _confirm(self, full_key: str, response: dict, parts: list[dict], *, checksum: PartChecksum, size: int,
                 lock_until=None) -> str:
        """Size and composite digest of a completed multipart object, as the server reports them, must match
        what was sent. Servers that omit the checksum from the completion answer give it on HEAD. With Object Lock,
        the same HEAD must show the retention date: a server that took the lock headers of CreateMultipartUpload
        but did not apply them to the completed object (moto_server 5.2 is one) gets it set on the version now."""
        version = {"VersionId": version_of(response)} if version_of(response) else {}
        head = self.client.head_object(Bucket=self.bucket, Key=full_key, ChecksumMode="ENABLED", **version)
        if head["ContentLength"] != size:
            raise SizeMismatch(f"Stored object {full_key} has {head['ContentLength']} bytes, expected {size}.")
        self._retention_confirm(full_key, head, version, lock_until)
        return checksum.check_object({**head, **{k: v for k, v in response.items() if v}}, parts)

    def _retention_confirm(self, full_key: str, head: dict, version: dict, lock_until) -> None:
        args = lock_args(lock_until)
        if args and head.get("ObjectLockRetainUntilDate") is None:
            self.client.put_object_retention(
                Bucket=self.bucket, Key=full_key, **version,
                Retention={"Mode": args["ObjectLockMode"], "RetainUntilDate": lock_until},
            )

    def _store_multipart_direct(self, reader: HashingReader, *, size: int, part_size: int, is_stored, before_commit,
                                key, on_upload=None) -> StoreResult:
        """One multipart upload straight to the object's final key: `key` when the digest is known in advance
        (replication, repair), else a fresh upload key (the SHA-256 is known only at the end, and the blob's
        key is recorded in its replica and in the location's manifests). Proof without a second read: each
        part's server checksum equals Coda's, and so does the completed object's composite (PartChecksum)."""
        key = key or upload_key()
        full_key = self.full_key(key)
        checksum = PartChecksum(settings.CODA_S3_PART_CHECKSUM)
        until = retain_until_new()
        response, parts = self._multipart(
            reader, full_key=full_key, size=size, part_size=part_size, checksum=checksum, before_commit=before_commit,
            on_upload=on_upload, lock_until=until,
        )
        version_id = version_of(response)
        try:
            verification = self._confirm(full_key, response, parts, checksum=checksum, size=size, lock_until=until)
        except BaseException as exc:
            # unproven: never kept under a key a replica could name (under retention storage keeps it; no replica
            # names it, and the orphan sweep deletes it once its date has passed)
            self._discard(full_key, cause=exc, version_id=version_id)
            raise
        sha256 = reader.hexdigest()
        if (dedup := self.deduplicated(is_stored, sha256, size)) is not None and dedup.key != key:
            self._discard(full_key, version_id=version_id)  # this copy is surplus: one blob, one key
            return dedup
        return StoreResult(key, sha256, size, False, verification, version_id, until if lock_args(until) else None)

    def _store_multipart_copied(self, reader: HashingReader, *, size: int, part_size: int, is_stored,
                                before_commit, on_upload=None) -> StoreResult:
        """CODA_S3_KEY_LAYOUT=sha256: upload to a temporary key, then a server-side copy to blobs/sha256/…
        (no second read, but the server copies every byte once more)."""
        tmp_key = self.full_key(f"tmp/{uuid.uuid4().hex}")
        # Beyond 5 GiB the server-side copy must itself be multipart; its proof is the composite of part MD5s.
        checksum = PartChecksum("md5" if size > MAX_SINGLE_COPY else settings.CODA_S3_PART_CHECKSUM)
        full_md5 = hashlib.md5(usedforsecurity=False) if size <= MAX_SINGLE_COPY else None
        # The temporary upload is not locked (it is deleted once copied); the copy is written under retention.
        response, parts = self._multipart(
            reader, full_key=tmp_key, size=size, part_size=part_size, checksum=checksum,
            before_commit=before_commit, full_md5=full_md5, on_upload=on_upload,
        )
        tmp_version = version_of(response)
        until = retain_until_new()
        try:
            self._confirm(tmp_key, response, parts, checksum=checksum, size=size)
            sha256 = reader.hexdigest()
            if (dedup := self.deduplicated(is_stored, sha256, size)) is not None:
                return dedup
            key = blob_key(sha256)
            source = {"Bucket": self.bucket, "Key": tmp_key, **({"VersionId": tmp_version} if tmp_version else {})}
            if size > MAX_SINGLE_COPY:
                version_id = self._copy_parts(source, key, size=size, part_size=part_size,
                                              expected_etag=composite_etag(parts), lock_until=until)
                verification = "server etag md5 per part"
            else:
                response = self.client.copy_object(Bucket=self.bucket, Key=self.full_key(key), CopySource=source)
                version_id = version_of(response)
                # Retention set on the copy's version right after (some servers, moto_server among them, want a
                # Content-MD5 on a CopyObject carrying lock headers, which a copy has no body for).
                self._retention_confirm(self.full_key(key), {}, {"VersionId": version_id} if version_id else {}, until)
                verification = self._check_put(
                    response["CopyObjectResult"], sha256=sha256, md5_hex=full_md5.hexdigest(), use_checksum=False
                )
            self._check_size(key, size, version_id=version_id)
            return StoreResult(key, sha256, size, False, verification, version_id,
                               until if lock_args(until) else None)
        finally:
            self.client.delete_object(Bucket=self.bucket, Key=tmp_key,
                                      **({"VersionId": tmp_version} if tmp_version else {}))

    def _upload_parts(
        self, reader: HashingReader, *, key: str, upload_id: str, part_size: int, checksum: PartChecksum, full_md5=None
    ) -> list[dict]:
        """Read parts in order on this thread (SHA-256 sees every byte once, in order) and upload them on a
        bounded pool, each with its checksum; when `full_md5` is given, one more thread folds the parts, in
        order, into the whole-object MD5. A part's memory is released when its upload is done: at most
        `concurrency` parts are held, plus the one being read."""
        concurrency = max(1, settings.CODA_UPLOAD_CONCURRENCY)
        slots = threading.BoundedSemaphore(concurrency)
        futures = []

        def send(number: int, data: bytes, digested) -> dict:
            try:
                digest = checksum.digest(data)
                result = self.client.upload_part(
                    Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data,
                    **checksum.part_args(digest),
                )
                part = checksum.check_part(number, digest, result)
                part["digest"] = digest
                if digested is not None:
                    digested.result()  # the whole-object MD5 has taken these bytes too
                return part
            finally:
                slots.release()

        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="coda-part") as pool, ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="coda-md5"
        ) as digester:
            number = 0
            while True:
                slots.acquire()
                failed = next((f for f in futures if f.done() and f.exception()), None)
                if failed is not None:
                    slots.release()
                    raise failed.exception()
                data = reader.read_exact(part_size)
                if not data:
                    slots.release()
                    break
                number += 1
                # One digest worker: parts fold into the whole-object MD5 in order.
                digested = digester.submit(full_md5.update, data) if full_md5 is not None else None
                futures.append(pool.submit(send, number, data, digested))
                del data
            return [future.result() for future in futures]

    def _copy_parts(self, source: dict, key: str, *, size: int, part_size: int, expected_etag: str,
                    lock_until=None) -> str:
        """Server-side multipart copy over the same part ranges as the upload, so the new object's ETag must
        equal the composite of the part MD5s computed from the bytes read: proof without reading anything again."""
        dest = self.full_key(key)
        upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=dest, **lock_args(lock_until))["UploadId"]

        def copy(number: int, start: int) -> dict:
            end = min(start + part_size, size) - 1
            result = self.client.upload_part_copy(
                Bucket=self.bucket, Key=dest, UploadId=upload_id, PartNumber=number,
                CopySource=source, CopySourceRange=f"bytes={start}-{end}",
            )
            return {"PartNumber": number, "ETag": result["CopyPartResult"]["ETag"]}

        try:
            with ThreadPoolExecutor(max_workers=max(1, settings.CODA_UPLOAD_CONCURRENCY)) as pool:
                parts = list(pool.map(lambda args: copy(*args), enumerate(range(0, size, part_size), start=1)))
            response = self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=dest, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException as exc:
            self._abort(dest, upload_id, cause=exc)
            raise
        version = {"VersionId": version_of(response)} if version_of(response) else {}
        if etag_value(response.get("ETag")) != expected_etag:
            self._discard(dest, version_id=version_of(response))
            raise ChecksumMismatch("Server-side copy ETag differs from the uploaded parts' composite.")
        self._retention_confirm(dest, self.client.head_object(Bucket=self.bucket, Key=dest, **version), version,
                                lock_until)
        return version_of(response)
