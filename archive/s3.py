"""S3-compatible storage (AWS, MinIO, Ceph, R2, moto): multipart upload of a stream read once,
with per-part integrity checks and a server-side copy to the content-addressed key."""

import base64
import functools
import hashlib
import math
import os
import threading
import uuid
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
    """A boto3 client with bounded retries and configurable checksum behaviour. Clients are thread-safe and
    costly to build (hundreds of ms), so one is kept per configuration."""
    return _cached_client(
        endpoint_url, region, access_key, secret_key,
        settings.CODA_S3_CHECKSUMS, settings.CODA_S3_MAX_ATTEMPTS, settings.CODA_UPLOAD_CONCURRENCY,
    )


@functools.lru_cache(maxsize=32)
def _cached_client(endpoint_url, region, access_key, secret_key, mode, max_attempts, concurrency):
    config = Config(
        retries={"max_attempts": max_attempts, "mode": "standard"},
        connect_timeout=10,
        read_timeout=120,
        max_pool_connections=max(10, concurrency * 2),
        request_checksum_calculation=mode,
        # Coda hashes every byte it reads itself; botocore's response validation would only add a second
        # opinion, and some servers (moto) return stale checksums on server-side copies.
        response_checksum_validation="when_required",
        s3={"addressing_style": "path"},
    )
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url or None,
        region_name=region or "us-east-1",
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=config,
    )


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


def part_size_for(size: int) -> int:
    """Configured part size, raised (in whole MiB) so a file never needs more than 10,000 parts."""
    base = max(settings.CODA_PART_SIZE, MIN_PART)
    needed = math.ceil(size / MAX_PARTS) if size else base
    return max(base, math.ceil(needed / MIB) * MIB)


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def _etag(value: str) -> str:
    return (value or "").strip('"')


def _composite_etag(parts: list[dict]) -> str:
    """S3's multipart ETag: MD5 of the concatenated part MD5s, then '-<number of parts>'."""
    return hashlib.md5(b"".join(p["md5"] for p in parts), usedforsecurity=False).hexdigest() + f"-{len(parts)}"


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
    def store(self, reader, *, size, is_stored, before_commit=lambda: None) -> StoreResult:
        part_size = part_size_for(size)
        try:
            if size <= part_size:
                return self._store_single(reader, size=size, is_stored=is_stored, before_commit=before_commit)
            return self._store_multipart(
                reader, size=size, part_size=part_size, is_stored=is_stored, before_commit=before_commit
            )
        except (BotoCoreError, ClientError) as exc:
            raise translate(exc) from exc

    def _store_single(self, reader: HashingReader, *, size: int, is_stored, before_commit) -> StoreResult:
        data = reader.read_exact(size)
        if len(data) != size or reader.read(1):
            raise SizeMismatch(f"Read {reader.bytes_read} bytes, expected {size}.")
        before_commit()
        sha256 = reader.hexdigest()
        key = blob_key(sha256)
        if is_stored(sha256) and self.size_of(key) == size:
            return StoreResult(key, sha256, size, True, "already verified")
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

    def _store_multipart(self, reader: HashingReader, *, size: int, part_size: int, is_stored, before_commit) -> StoreResult:
        tmp_key = self.full_key(f"tmp/{uuid.uuid4().hex}")
        # Beyond 5 GiB the server-side copy must itself be multipart; its proof is the composite of part MD5s.
        part_mode = "md5" if size > MAX_SINGLE_COPY else settings.CODA_S3_PART_CHECKSUM
        algorithm = {"sha256": "SHA256", "crc32": "CRC32"}.get(part_mode)
        extra = {"ChecksumAlgorithm": algorithm} if algorithm and settings.CODA_S3_CHECKSUMS == "when_supported" else {}
        upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=tmp_key, **extra)["UploadId"]
        full_md5 = hashlib.md5(usedforsecurity=False)
        try:
            parts = self._upload_parts(
                reader, tmp_key=tmp_key, upload_id=upload_id, part_size=part_size, part_mode=part_mode, full_md5=full_md5
            )
            if reader.bytes_read != size:
                raise SizeMismatch(f"Read {reader.bytes_read} bytes, expected {size}.")
            response = self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=tmp_key,
                UploadId=upload_id,
                MultipartUpload={"Parts": [{k: v for k, v in p.items() if k != "md5"} for p in parts]},
            )
        except BaseException:
            self._abort(tmp_key, upload_id)
            raise
        try:
            before_commit()
            if part_mode == "md5" and _etag(response.get("ETag")) != _composite_etag(parts):
                raise ChecksumMismatch(f"Multipart ETag {response.get('ETag')} differs from the parts sent.")
            sha256 = reader.hexdigest()
            key = blob_key(sha256)
            if is_stored(sha256) and self.size_of(key) == size:
                return StoreResult(key, sha256, size, True, "already verified")
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
        self, reader: HashingReader, *, tmp_key: str, upload_id: str, part_size: int, part_mode: str, full_md5
    ) -> list[dict]:
        """Read parts in order on this thread (SHA-256 sees every byte once, in order); upload them on a bounded
        pool while one more thread folds them, in order, into the whole-object MD5 that will check the final
        copy. A part's memory is released when both are done: at most `concurrency` parts are held, plus the
        one being read."""
        concurrency = max(1, settings.CODA_UPLOAD_CONCURRENCY)
        slots = threading.BoundedSemaphore(concurrency)
        futures = []

        def send(number: int, data: bytes, digested) -> dict:
            try:
                extra = {}
                md5 = None
                if part_mode == "md5":
                    md5 = hashlib.md5(data, usedforsecurity=False)
                    extra["ContentMD5"] = _b64(md5.digest())
                elif part_mode == "sha256":
                    extra["ChecksumSHA256"] = _b64(hashlib.sha256(data).digest())
                # Otherwise botocore adds its default CRC32 checksum header (CODA_S3_CHECKSUMS=when_supported).
                result = self.client.upload_part(
                    Bucket=self.bucket, Key=tmp_key, UploadId=upload_id, PartNumber=number, Body=data, **extra
                )
                if md5 is not None and _etag(result["ETag"]) != md5.hexdigest():
                    raise ChecksumMismatch(f"Part {number}: server ETag differs from the MD5 of the bytes sent.")
                part = {"PartNumber": number, "ETag": result["ETag"]}
                if md5 is not None:
                    part["md5"] = md5.digest()
                for name in ("ChecksumSHA256", "ChecksumCRC32"):
                    if result.get(name):
                        part[name] = result[name]
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
                digested = digester.submit(full_md5.update, data)  # one worker: parts fold in order
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
        except BaseException:
            self._abort(dest, upload_id)
            raise
        if _etag(response.get("ETag")) != expected_etag:
            self.client.delete_object(Bucket=self.bucket, Key=dest)
            raise ChecksumMismatch("Server-side copy ETag differs from the uploaded parts' composite.")

    def _abort(self, key: str, upload_id: str) -> None:
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except (BotoCoreError, ClientError):
            pass  # the leftover-upload sweep aborts it later

    # --- other operations ------------------------------------------------------------------------
    def open(self, key: str, *, start: int = 0, end: int | None = None):
        """A streaming body for the object, or for bytes start..end (inclusive) of it."""
        extra = {}
        if start or end is not None:
            extra["Range"] = f"bytes={start}-{'' if end is None else end}"
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self.full_key(key), **extra)["Body"]
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
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.full_key(prefix)):
            for obj in page.get("Contents", []):
                yield obj["Key"][len(self.prefix):]

    def incomplete_uploads(self):
        paginator = self.client.get_paginator("list_multipart_uploads")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            yield from page.get("Uploads", [])
