"""S3-compatible storage (AWS, MinIO, Ceph, R2, moto): multipart upload of a stream read once,
with per-part integrity checks and a server-side copy to the content-addressed key."""

import base64
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
MAX_SINGLE_COPY = 5 * 1024**3
MIB = 1024 * 1024
TRANSIENT_CODES = {"500", "502", "503", "504", "SlowDown", "InternalError", "RequestTimeout", "ServiceUnavailable"}


def s3_client(*, endpoint_url: str = "", region: str = "", access_key: str | None, secret_key: str | None):
    """A boto3 client with bounded retries and configurable checksum behaviour."""
    mode = settings.CODA_S3_CHECKSUMS
    config = Config(
        retries={"max_attempts": settings.CODA_S3_MAX_ATTEMPTS, "mode": "standard"},
        connect_timeout=10,
        read_timeout=120,
        max_pool_connections=max(10, settings.CODA_UPLOAD_CONCURRENCY * 2),
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
            ChecksumSHA256=_b64(hashlib.sha256(data).digest()),
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
        reader.md5 = reader.md5 or hashlib.md5(usedforsecurity=False)
        tmp_key = self.full_key(f"tmp/{uuid.uuid4().hex}")
        upload_id = self.client.create_multipart_upload(
            Bucket=self.bucket, Key=tmp_key, ChecksumAlgorithm="SHA256"
        )["UploadId"]
        try:
            parts = self._upload_parts(reader, tmp_key=tmp_key, upload_id=upload_id, part_size=part_size)
            if reader.bytes_read != size:
                raise SizeMismatch(f"Read {reader.bytes_read} bytes, expected {size}.")
            composite = hashlib.md5(b"".join(p["md5"] for p in parts), usedforsecurity=False).hexdigest()
            response = self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=tmp_key,
                UploadId=upload_id,
                MultipartUpload={
                    "Parts": [
                        {"PartNumber": p["PartNumber"], "ETag": p["ETag"], "ChecksumSHA256": p["ChecksumSHA256"]}
                        for p in parts
                    ]
                },
            )
        except BaseException:
            self._abort(tmp_key, upload_id)
            raise
        try:
            before_commit()
            etag = _etag(response.get("ETag"))
            if etag != f"{composite}-{len(parts)}":
                raise ChecksumMismatch(f"Multipart ETag {etag} differs from the parts sent ({composite}-{len(parts)}).")
            sha256 = reader.hexdigest()
            key = blob_key(sha256)
            if is_stored(sha256) and self.size_of(key) == size:
                return StoreResult(key, sha256, size, True, "already verified")
            verification = self._copy(tmp_key, key, size=size, part_size=part_size, sha256=sha256,
                                      md5_hex=reader.md5.hexdigest(), multipart_etag=etag)
            self._check_size(key, size)
            return StoreResult(key, sha256, size, False, verification)
        finally:
            self.client.delete_object(Bucket=self.bucket, Key=tmp_key)

    def _upload_parts(self, reader: HashingReader, *, tmp_key: str, upload_id: str, part_size: int) -> list[dict]:
        concurrency = max(1, settings.CODA_UPLOAD_CONCURRENCY)
        slots = threading.BoundedSemaphore(concurrency)  # parts in memory: concurrency + the one being read
        futures = []

        def send(number: int, data: bytes) -> dict:
            try:
                md5 = hashlib.md5(data, usedforsecurity=False)
                checksum = _b64(hashlib.sha256(data).digest())
                result = self.client.upload_part(
                    Bucket=self.bucket,
                    Key=tmp_key,
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=data,
                    ContentMD5=_b64(md5.digest()),
                    ChecksumSHA256=checksum,
                )
                if _etag(result["ETag"]) != md5.hexdigest():
                    raise ChecksumMismatch(f"Part {number}: server ETag differs from the MD5 of the bytes sent.")
                return {"PartNumber": number, "ETag": result["ETag"], "ChecksumSHA256": checksum, "md5": md5.digest()}
            finally:
                slots.release()

        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="coda-part") as pool:
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
                futures.append(pool.submit(send, number, data))
                del data
            return [future.result() for future in futures]

    def _copy(self, src: str, key: str, *, size: int, part_size: int, sha256: str, md5_hex: str, multipart_etag: str) -> str:
        """Server-side copy to the content-addressed key; the copy's ETag proves its content."""
        dest = self.full_key(key)
        source = {"Bucket": self.bucket, "Key": src}
        if size <= MAX_SINGLE_COPY:
            response = self.client.copy_object(Bucket=self.bucket, Key=dest, CopySource=source)
            return self._check_put(response["CopyObjectResult"], sha256=sha256, md5_hex=md5_hex, use_checksum=False)
        # Beyond 5 GiB: multipart copy over the same part ranges, so the ETag must equal the upload's.
        upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=dest)["UploadId"]
        try:
            parts = []
            for number, start in enumerate(range(0, size, part_size), start=1):
                end = min(start + part_size, size) - 1
                result = self.client.upload_part_copy(
                    Bucket=self.bucket, Key=dest, UploadId=upload_id, PartNumber=number,
                    CopySource=source, CopySourceRange=f"bytes={start}-{end}",
                )
                parts.append({"PartNumber": number, "ETag": result["CopyPartResult"]["ETag"]})
            response = self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=dest, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            self._abort(dest, upload_id)
            raise
        if _etag(response.get("ETag")) != multipart_etag:
            raise ChecksumMismatch("Server-side copy ETag differs from the uploaded object's.")
        return "server etag md5 (multipart)"

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
