"""S3-compatible storage (AWS, MinIO, Ceph, R2, moto): multipart upload of a stream read once,
with per-part integrity checks. Objects up to one part go to their content-addressed key; larger ones keep
the key they were uploaded under (CODA_S3_KEY_LAYOUT=direct, the default) or are moved to the
content-addressed key by a server-side copy (CODA_S3_KEY_LAYOUT=sha256)."""

import base64
import functools
import hashlib
import math
import os
import threading
import time
import uuid
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from django.conf import settings

from archive.exceptions import ChecksumMismatch, SizeMismatch, TransientStorageError
from archive.models import StorageLocation
from archive.storage import Backend, StoreResult, blob_key
from archive.streaming import HashingReader

MAX_PARTS = 10_000
MIN_PART = 5 * 1024 * 1024
MIB = 1024 * 1024
MAX_SINGLE_COPY = 5 * 1024**3
TRANSIENT_CODES = {"500", "502", "503", "504", "SlowDown", "InternalError", "RequestTimeout", "ServiceUnavailable"}


def s3_client(*, endpoint_url: str = "", region: str = "", access_key: str | None, secret_key: str | None):
    """A boto3 client with bounded retries, timeouts and deadline (CODA_S3_MAX_ATTEMPTS, CODA_S3_CONNECT_TIMEOUT,
    CODA_S3_READ_TIMEOUT, CODA_S3_DEADLINE) and configurable checksum behaviour. Clients are thread-safe and
    costly to build (hundreds of ms), so one is kept per configuration."""
    return _cached_client(
        endpoint_url, region, access_key, secret_key, settings.CODA_S3_CHECKSUMS, settings.CODA_S3_MAX_ATTEMPTS,
        settings.CODA_UPLOAD_CONCURRENCY, settings.CODA_S3_SIGN_PAYLOAD,
        (settings.CODA_S3_CONNECT_TIMEOUT, settings.CODA_S3_READ_TIMEOUT, settings.CODA_S3_DEADLINE),
    )


def _deadline_hooks(seconds: float):
    """botocore event handlers bounding one request with its retries: the deadline starts when the call does,
    and once it has passed no retry starts (a False answer to needs-retry stops botocore's retry loop).
    Together with the connect/read timeouts this bounds each call to about deadline + read timeout, so a
    stalled server fails the operation instead of holding a worker slot for max_attempts × read timeout."""

    def start(context=None, **kwargs):
        if context is not None:
            context["coda_deadline"] = time.monotonic() + seconds

    def retry_allowed(request_dict=None, **kwargs):
        deadline = (request_dict or {}).get("context", {}).get("coda_deadline")
        if deadline is not None and time.monotonic() >= deadline:
            return False
        return None  # let botocore's retry handler decide

    return start, retry_allowed


@functools.lru_cache(maxsize=32)
def _cached_client(endpoint_url, region, access_key, secret_key, mode, max_attempts, concurrency, sign_payload,
                   timeouts=(5, 60, 180)):
    connect_timeout, read_timeout, deadline = timeouts
    config = Config(
        retries={"max_attempts": max_attempts, "mode": "standard"},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        max_pool_connections=max(10, concurrency * 2),
        request_checksum_calculation=mode,
        # Coda hashes every byte it reads itself; botocore's response validation would only add a second
        # opinion, and some servers (moto) return stale checksums on server-side copies.
        response_checksum_validation="when_required",
        # SigV4 would otherwise hash every uploaded byte once more (always over plain HTTP, and for in-memory
        # bodies over HTTPS too). Integrity on the wire comes from the per-part checksum the server checks, in a
        # signed header; CODA_S3_SIGN_PAYLOAD=true signs the payload as well.
        s3={"addressing_style": "path", "payload_signing_enabled": sign_payload},
    )
    client = boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url or None,
        region_name=region or "us-east-1",
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=config,
    )
    start, retry_allowed = _deadline_hooks(deadline)
    client.meta.events.register("before-call.s3", start)
    client.meta.events.register_first("needs-retry.s3", retry_allowed)
    return client


def is_transient(exc: Exception) -> bool:
    if isinstance(exc, (EndpointConnectionError, ConnectionClosedError, ReadTimeoutError)):
        return True
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
        return error.get("Code") in TRANSIENT_CODES or status.startswith("5")
    return isinstance(exc, BotoCoreError)


def translate(exc: Exception) -> Exception:
    if is_transient(exc):
        return TransientStorageError(f"S3 storage unavailable: {exc}")
    return exc


def _unreachable(exc: BaseException) -> bool:
    return isinstance(exc, TransientStorageError) or (isinstance(exc, Exception) and is_transient(exc))


class _Body:
    """A GetObject body whose read errors (a server that stalls or drops mid-answer: read timeout, reset) are
    TransientStorageError like every other storage outage, whoever reads it (delivery, fixity, replication)."""

    def __init__(self, body):
        self.body = body

    def read(self, size: int = -1) -> bytes:
        try:
            return self.body.read(size if size >= 0 else None)
        except (BotoCoreError, OSError) as exc:
            raise TransientStorageError(f"S3 storage unavailable: read interrupted: {exc}") from exc

    def close(self) -> None:
        self.body.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def part_size_for(size: int) -> int:
    """Configured part size, raised (in whole MiB) so a file never needs more than 10,000 parts."""
    base = max(settings.CODA_PART_SIZE, MIN_PART)
    needed = math.ceil(size / MAX_PARTS) if size else base
    return max(base, math.ceil(needed / MIB) * MIB)


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def _etag(value: str) -> str:
    return (value or "").strip('"')


def upload_key() -> str:
    """Key of a large object whose SHA-256 is known only once it is uploaded (CODA_S3_KEY_LAYOUT=direct)."""
    return f"blobs/uploads/{uuid.uuid4().hex}"


def _composite_etag(parts: list[dict]) -> str:
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
            return {"ChecksumAlgorithm": self.algorithm, self.field: _b64(digest)}
        return {"ContentMD5": _b64(digest)}

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
            expected = _b64(digest)
        else:
            found, expected = _etag(result["ETag"]), digest.hex()
        if found != expected:
            raise ChecksumMismatch(f"Part {number}: server {self.mode} {found} differs from the bytes sent ({expected}).")
        return part

    def check_object(self, response: dict, parts: list[dict]) -> str:
        """Compare the completed object's composite digest with the one computed from the parts sent."""
        if self.field:
            found = response.get(self.field) or ""
            combined = _b64(self.digest(b"".join(p["digest"] for p in parts)))
            value, _, count = found.partition("-")
            if value != combined or count not in ("", str(len(parts))):
                raise ChecksumMismatch(f"Object {self.algorithm} checksum {found!r} differs from the parts sent ({combined}).")
            return f"server {self.mode} per part and composite"
        etag = _etag(response.get("ETag"))
        if etag != _composite_etag(parts):
            raise ChecksumMismatch(f"Multipart ETag {etag} differs from the composite of the parts sent.")
        return "server etag md5 per part and composite"


class S3Backend(Backend):
    def __init__(self, location: StorageLocation):
        self.location = location
        self.bucket = location.bucket
        self.prefix = location.prefix.strip("/") + "/" if location.prefix.strip("/") else ""
        self.client = s3_client(
            endpoint_url=location.endpoint_url,
            region=location.region,
            access_key=os.environ.get(location.access_key_env) if location.access_key_env else None,
            secret_key=os.environ.get(location.secret_key_env) if location.secret_key_env else None,
        )

    def full_key(self, key: str) -> str:
        return self.prefix + key

    # --- store ---------------------------------------------------------------------------------
    def store(self, reader, *, size, is_stored, before_commit=lambda: None, key=None, on_upload=None) -> StoreResult:
        part_size = part_size_for(size)
        try:
            if size <= part_size:
                return self._store_single(reader, size=size, is_stored=is_stored, before_commit=before_commit, key=key)
            if key is None and settings.CODA_S3_KEY_LAYOUT == "sha256":
                return self._store_multipart_copied(
                    reader, size=size, part_size=part_size, is_stored=is_stored, before_commit=before_commit,
                    on_upload=on_upload,
                )
            return self._store_multipart_direct(
                reader, size=size, part_size=part_size, is_stored=is_stored, before_commit=before_commit, key=key,
                on_upload=on_upload,
            )
        except (BotoCoreError, ClientError) as exc:
            raise translate(exc) from exc

    def _store_single(self, reader: HashingReader, *, size: int, is_stored, before_commit, key) -> StoreResult:
        data = reader.read_exact(size)
        if len(data) != size or reader.read(1):
            raise SizeMismatch(f"Read {reader.bytes_read} bytes, expected {size}.")
        before_commit()
        sha256 = reader.hexdigest()
        if key is None:
            if (dedup := self.deduplicated(is_stored, sha256, size)) is not None:
                return dedup
            key = blob_key(sha256)
        md5 = hashlib.md5(data, usedforsecurity=False)
        response = self.client.put_object(
            Bucket=self.bucket,
            Key=self.full_key(key),
            Body=data,
            ContentMD5=_b64(md5.digest()),
            ChecksumSHA256=_b64(bytes.fromhex(sha256)),
        )
        verification = self._check_put(response, sha256=sha256, md5_hex=md5.hexdigest())
        self._check_size(key, size)
        return StoreResult(key, sha256, size, False, verification)

    def _check_put(self, response: dict, *, sha256: str, md5_hex: str, use_checksum: bool = True) -> str:
        """The server's own digest of what it stored must equal ours: SHA-256 when it reports one, else the MD5 ETag.
        Copies are checked by ETag only: some servers echo the source's composite checksum on a copy."""
        checksum = response.get("ChecksumSHA256") if use_checksum else None
        if checksum and "-" not in checksum:
            if checksum != _b64(bytes.fromhex(sha256)):
                raise ChecksumMismatch(f"Server SHA-256 {checksum} differs from the source's.")
            return "server sha256"
        etag = _etag(response.get("ETag") or response.get("CopyObjectResult", {}).get("ETag", ""))
        if etag != md5_hex:
            raise ChecksumMismatch(f"Server ETag {etag} differs from the MD5 of the bytes read ({md5_hex}).")
        return "server etag md5"

    def _check_size(self, key: str, size: int) -> None:
        stored = self.size_of(key)
        if stored != size:
            raise SizeMismatch(f"Stored object {key} has {stored} bytes, expected {size}.")

    def _multipart(self, reader: HashingReader, *, full_key: str, size: int, part_size: int, checksum: PartChecksum,
                   before_commit, full_md5=None, on_upload=None) -> tuple[dict, list[dict]]:
        """Upload every byte of `reader` as the parts of one multipart upload and complete it. `before_commit`
        runs once everything is read and before the object becomes visible; any failure aborts the upload.
        `on_upload(full_key, upload_id)` hears of the upload as it opens (a lease records it: if this worker
        is killed, the next one aborts it)."""
        upload_id = self.client.create_multipart_upload(
            Bucket=self.bucket, Key=full_key, **checksum.create_args()
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

    def _confirm(self, full_key: str, response: dict, parts: list[dict], *, checksum: PartChecksum, size: int) -> str:
        """Size and composite digest of a completed multipart object, as the server reports them, must match
        what was sent. Servers that omit the checksum from the completion answer give it on HEAD."""
        head = self.client.head_object(Bucket=self.bucket, Key=full_key, ChecksumMode="ENABLED")
        if head["ContentLength"] != size:
            raise SizeMismatch(f"Stored object {full_key} has {head['ContentLength']} bytes, expected {size}.")
        return checksum.check_object({**head, **{k: v for k, v in response.items() if v}}, parts)

    def _store_multipart_direct(self, reader: HashingReader, *, size: int, part_size: int, is_stored, before_commit,
                                key, on_upload=None) -> StoreResult:
        """One multipart upload straight to the object's final key: `key` when the digest is known in advance
        (replication, repair), else a fresh upload key (the SHA-256 is known only at the end, and the blob's
        key is recorded in its replica and in the location's manifests). Proof without a second read: each
        part's server checksum equals Coda's, and so does the completed object's composite (PartChecksum)."""
        key = key or upload_key()
        full_key = self.full_key(key)
        checksum = PartChecksum(settings.CODA_S3_PART_CHECKSUM)
        response, parts = self._multipart(
            reader, full_key=full_key, size=size, part_size=part_size, checksum=checksum, before_commit=before_commit,
            on_upload=on_upload,
        )
        try:
            verification = self._confirm(full_key, response, parts, checksum=checksum, size=size)
        except BaseException as exc:
            self._discard(full_key, cause=exc)  # unproven: never kept under a key a replica could name
            raise
        sha256 = reader.hexdigest()
        if (dedup := self.deduplicated(is_stored, sha256, size)) is not None and dedup.key != key:
            self.client.delete_object(Bucket=self.bucket, Key=full_key)  # this copy is surplus: one blob, one key
            return dedup
        return StoreResult(key, sha256, size, False, verification)

    def _store_multipart_copied(self, reader: HashingReader, *, size: int, part_size: int, is_stored,
                                before_commit, on_upload=None) -> StoreResult:
        """CODA_S3_KEY_LAYOUT=sha256: upload to a temporary key, then a server-side copy to blobs/sha256/…
        (no second read, but the server copies every byte once more)."""
        tmp_key = self.full_key(f"tmp/{uuid.uuid4().hex}")
        # Beyond 5 GiB the server-side copy must itself be multipart; its proof is the composite of part MD5s.
        checksum = PartChecksum("md5" if size > MAX_SINGLE_COPY else settings.CODA_S3_PART_CHECKSUM)
        full_md5 = hashlib.md5(usedforsecurity=False) if size <= MAX_SINGLE_COPY else None
        response, parts = self._multipart(
            reader, full_key=tmp_key, size=size, part_size=part_size, checksum=checksum,
            before_commit=before_commit, full_md5=full_md5, on_upload=on_upload,
        )
        try:
            self._confirm(tmp_key, response, parts, checksum=checksum, size=size)
            sha256 = reader.hexdigest()
            if (dedup := self.deduplicated(is_stored, sha256, size)) is not None:
                return dedup
            key = blob_key(sha256)
            if size > MAX_SINGLE_COPY:
                self._copy_parts(tmp_key, key, size=size, part_size=part_size, expected_etag=_composite_etag(parts))
                verification = "server etag md5 per part"
            else:
                response = self.client.copy_object(
                    Bucket=self.bucket, Key=self.full_key(key), CopySource={"Bucket": self.bucket, "Key": tmp_key}
                )
                verification = self._check_put(
                    response["CopyObjectResult"], sha256=sha256, md5_hex=full_md5.hexdigest(), use_checksum=False
                )
            self._check_size(key, size)
            return StoreResult(key, sha256, size, False, verification)
        finally:
            self.client.delete_object(Bucket=self.bucket, Key=tmp_key)

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

    def _copy_parts(self, src: str, key: str, *, size: int, part_size: int, expected_etag: str) -> None:
        """Server-side multipart copy over the same part ranges as the upload, so the new object's ETag must
        equal the composite of the part MD5s computed from the bytes read: proof without reading anything again."""
        dest = self.full_key(key)
        source = {"Bucket": self.bucket, "Key": src}
        upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=dest)["UploadId"]

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
        if _etag(response.get("ETag")) != expected_etag:
            self.client.delete_object(Bucket=self.bucket, Key=dest)
            raise ChecksumMismatch("Server-side copy ETag differs from the uploaded parts' composite.")

    def abort_upload(self, full_key: str, upload_id: str) -> bool:
        """Abort a multipart upload left open (by a killed worker); False when it is already gone."""
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=full_key, UploadId=upload_id)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchUpload", "404"):
                return False
            raise translate(exc) from exc
        except BotoCoreError as exc:
            raise translate(exc) from exc
        return True

    def _abort(self, key: str, upload_id: str, *, cause: BaseException | None = None) -> None:
        """Best effort; not tried when storage just proved unreachable (it would only wait out the timeouts
        again while holding the worker): the leftover-upload sweep aborts it later."""
        if cause is not None and _unreachable(cause):
            return
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except (BotoCoreError, ClientError):
            pass

    def _discard(self, full_key: str, *, cause: BaseException | None = None) -> None:
        """Delete an object that could not be proven (best effort, like _abort). An object left behind is
        named by no replica, so nothing counts it as stored; the orphan sweep finds it."""
        if cause is not None and _unreachable(cause):
            return
        try:
            self.client.delete_object(Bucket=self.bucket, Key=full_key)
        except (BotoCoreError, ClientError):
            pass

    # --- other operations ------------------------------------------------------------------------
    def open(self, key: str, *, start: int = 0, end: int | None = None):
        """A streaming body for the object, or for bytes start..end (inclusive) of it."""
        extra = {}
        if start or end is not None:
            extra["Range"] = f"bytes={start}-{'' if end is None else end}"
        try:
            return _Body(self.client.get_object(Bucket=self.bucket, Key=self.full_key(key), **extra)["Body"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise FileNotFoundError(key) from exc
            raise translate(exc) from exc
        except BotoCoreError as exc:
            raise translate(exc) from exc

    def size_of(self, key: str) -> int | None:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=self.full_key(key))["ContentLength"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return None
            raise translate(exc) from exc
        except BotoCoreError as exc:
            raise translate(exc) from exc

    def presigned_url(self, key: str, *, expires_in: int, filename: str | None = None) -> str:
        params = {"Bucket": self.bucket, "Key": self.full_key(key)}
        if filename:
            params["ResponseContentDisposition"] = f'attachment; filename="{filename}"'
        return self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_in)

    def put_bytes(self, key: str, data: bytes) -> None:
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=self.full_key(key), Body=data,
                ContentMD5=_b64(hashlib.md5(data, usedforsecurity=False).digest()),
            )
        except (BotoCoreError, ClientError) as exc:
            raise translate(exc) from exc

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.full_key(key))

    def list_keys(self, prefix: str):
        for key, _modified in self.list_objects(prefix):
            yield key

    def list_objects(self, prefix: str):
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.full_key(prefix)):
            for obj in page.get("Contents", []):
                yield obj["Key"][len(self.prefix):], obj["LastModified"]

    def incomplete_uploads(self):
        paginator = self.client.get_paginator("list_multipart_uploads")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            yield from page.get("Uploads", [])
