"""S3-compatible storage (AWS, MinIO, Ceph, R2, moto): multipart upload of a stream read once,
with per-part integrity checks. Objects up to one part go to their content-addressed key; larger ones keep
the key they were uploaded under (CODA_S3_KEY_LAYOUT=direct, the default) or are moved to the
content-addressed key by a server-side copy (CODA_S3_KEY_LAYOUT=sha256). The client lives in s3_client, the
multipart steps and checksums in s3_multipart."""

import hashlib
import os

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from archive.exceptions import ChecksumMismatch, RetentionRefused, SizeMismatch
from archive.models import StorageLocation
from archive.storage.base import Backend, StoreResult, blob_key
from archive.storage.object_lock import (
    bucket_prepare, lock_args, lock_mode, refused_by_lock, retain_until_new, version_of,
)
from archive.storage.s3_client import Body, s3_client, translate, unreachable
from archive.storage.s3_multipart import MultipartUploads, b64, etag_value, part_size_for
from archive.storage.streaming import HashingReader


class S3Backend(MultipartUploads, Backend):
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
    def read_size(self, size: int) -> int:
        return min(size, part_size_for(size)) or 1  # one part (the whole object, up to one part)

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
        until = retain_until_new()
        response = self.client.put_object(
            Bucket=self.bucket,
            Key=self.full_key(key),
            Body=data,
            ContentMD5=b64(md5.digest()),
            ChecksumSHA256=b64(bytes.fromhex(sha256)),
            **lock_args(until),
        )
        version_id = version_of(response)
        verification = self._check_put(response, sha256=sha256, md5_hex=md5.hexdigest())
        self._check_size(key, size, version_id=version_id)
        return StoreResult(key, sha256, size, False, verification, version_id, until if lock_args(until) else None)

    def _check_put(self, response: dict, *, sha256: str, md5_hex: str, use_checksum: bool = True) -> str:
        """The server's own digest of what it stored must equal ours: SHA-256 when it reports one, else the MD5 ETag.
        Copies are checked by ETag only: some servers echo the source's composite checksum on a copy."""
        checksum = response.get("ChecksumSHA256") if use_checksum else None
        if checksum and "-" not in checksum:
            if checksum != b64(bytes.fromhex(sha256)):
                raise ChecksumMismatch(f"Server SHA-256 {checksum} differs from the source's.")
            return "server sha256"
        etag = etag_value(response.get("ETag") or response.get("CopyObjectResult", {}).get("ETag", ""))
        if etag != md5_hex:
            raise ChecksumMismatch(f"Server ETag {etag} differs from the MD5 of the bytes read ({md5_hex}).")
        return "server etag md5"

    def _check_size(self, key: str, size: int, *, version_id: str = "") -> None:
        stored = self.size_of(key, version_id=version_id)
        if stored != size:
            raise SizeMismatch(f"Stored object {key} has {stored} bytes, expected {size}.")

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
        if cause is not None and unreachable(cause):
            return
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except (BotoCoreError, ClientError):
            pass

    def _discard(self, full_key: str, *, cause: BaseException | None = None, version_id: str = "") -> None:
        """Delete an object that could not be proven (best effort, like _abort). An object left behind (or one
        still under retention, which storage refuses to delete) is named by no replica, so nothing counts it as
        stored; the orphan sweep finds it."""
        if cause is not None and unreachable(cause):
            return
        try:
            self.client.delete_object(Bucket=self.bucket, Key=full_key, **_version(version_id))
        except (BotoCoreError, ClientError):
            pass

    # --- other operations ------------------------------------------------------------------------
    def open(self, key: str, *, start: int = 0, end: int | None = None, version_id: str = ""):
        """A streaming body for the object (the version Coda recorded, when given), or for bytes start..end
        (inclusive) of it."""
        extra = _version(version_id)
        if start or end is not None:
            extra["Range"] = f"bytes={start}-{'' if end is None else end}"
        try:
            return Body(self.client.get_object(Bucket=self.bucket, Key=self.full_key(key), **extra)["Body"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise FileNotFoundError(key) from exc
            raise translate(exc) from exc
        except BotoCoreError as exc:
            raise translate(exc) from exc

    def size_of(self, key: str, *, version_id: str = "") -> int | None:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=self.full_key(key),
                                           **_version(version_id))["ContentLength"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return None
            raise translate(exc) from exc
        except BotoCoreError as exc:
            raise translate(exc) from exc

    def presigned_url(self, key: str, *, expires_in: int, filename: str | None = None, version_id: str = "") -> str:
        params = {"Bucket": self.bucket, "Key": self.full_key(key), **_version(version_id)}
        if filename:
            params["ResponseContentDisposition"] = f'attachment; filename="{filename}"'
        return self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_in)

    def put_bytes(self, key: str, data: bytes) -> None:
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=self.full_key(key), Body=data,
                ContentMD5=b64(hashlib.md5(data, usedforsecurity=False).digest()), **lock_args(retain_until_new()),
            )
        except (BotoCoreError, ClientError) as exc:
            raise translate(exc) from exc

    def delete(self, key: str, *, version_id: str = "") -> None:
        """Delete that version (without one, a versioned bucket only adds a delete marker and keeps every byte).
        RetentionRefused when storage refuses (retention date not reached, or a legal hold)."""
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.full_key(key), **_version(version_id))
        except ClientError as exc:
            if refused_by_lock(exc):
                raise RetentionRefused(f"Storage refused to delete {key} (version {version_id or 'current'}) at "
                                       f"{self.location.name}: it is under retention or a legal hold.") from exc
            raise translate(exc) from exc
        except BotoCoreError as exc:
            raise translate(exc) from exc

    # --- Object Lock -------------------------------------------------------------------------------
    def object_lock_prepare(self) -> str:
        """Create the bucket with Object Lock when missing, refuse one without it (CODA_S3_OBJECT_LOCK on)."""
        return bucket_prepare(client=self.client, bucket=self.bucket, region=self.location.region,
                              location_name=self.location.name, endpoint=self.location.endpoint_url)

    def current_version(self, key: str) -> str | None:
        """The version a plain GET of the key serves now: a newer one than Coda's means someone else wrote there."""
        try:
            return version_of(self.client.head_object(Bucket=self.bucket, Key=self.full_key(key))) or None
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound", "405"):
                return None
            raise translate(exc) from exc
        except BotoCoreError as exc:
            raise translate(exc) from exc

    def retention_set(self, key: str, *, version_id: str, until) -> None:
        mode = lock_args(until).get("ObjectLockMode")
        if not mode:
            return
        try:
            self.client.put_object_retention(
                Bucket=self.bucket, Key=self.full_key(key), **_version(version_id),
                Retention={"Mode": mode, "RetainUntilDate": until},
            )
        except (BotoCoreError, ClientError) as exc:
            raise translate(exc) from exc

    def legal_hold_set(self, key: str, *, version_id: str, on: bool) -> bool:
        if lock_mode() is None:
            return False  # CODA_S3_OBJECT_LOCK=off: the bucket need not have Object Lock; Coda keeps the hold itself
        try:
            self.client.put_object_legal_hold(
                Bucket=self.bucket, Key=self.full_key(key), **_version(version_id),
                LegalHold={"Status": "ON" if on else "OFF"},
            )
        except (BotoCoreError, ClientError) as exc:
            raise translate(exc) from exc
        return True

    def lock_state(self, key: str, *, version_id: str) -> dict:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self.full_key(key), **_version(version_id))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound", "NoSuchVersion"):
                return {}  # nothing there: nothing to protect
            raise translate(exc) from exc
        except BotoCoreError as exc:
            raise translate(exc) from exc
        return {"mode": head.get("ObjectLockMode"), "retain_until": head.get("ObjectLockRetainUntilDate"),
                "legal_hold": head.get("ObjectLockLegalHoldStatus") == "ON"}

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


def _version(version_id: str) -> dict:
    return {"VersionId": version_id} if version_id else {}
