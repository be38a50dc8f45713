"""S3 Object Lock (CODA_S3_OBJECT_LOCK, CODA_RETENTION_DAYS): the retention every object is written with, buckets
created with Object Lock (and so versioning), an existing bucket without it refused at start-up, and how a refusal
by storage is recognised. Storage, not Coda, then enforces that a held version cannot be deleted or overwritten in
place: deleting it is refused, and a PUT by anyone else only adds a newer version that Coda never reads."""

import logging
from datetime import datetime, timedelta

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from archive.storage.s3_client import is_transient

logger = logging.getLogger(__name__)
_checked: set[tuple] = set()  # (endpoint, bucket, mode) proven in this process: asked once, not at every ingest


def lock_mode() -> str | None:
    """The Object Lock mode objects are written with ('COMPLIANCE', 'GOVERNANCE'), or None when it is off."""
    mode = settings.CODA_S3_OBJECT_LOCK
    return None if mode == "off" else mode.upper()


def retain_until_new(now: datetime | None = None) -> datetime:
    """The retention date of an object written now (whole seconds: S3 keeps no fraction)."""
    return (now or timezone.now()).replace(microsecond=0) + timedelta(days=settings.CODA_RETENTION_DAYS)


def lock_args(until: datetime | None) -> dict:
    """The PutObject / CreateMultipartUpload / CopyObject arguments writing an object under retention until `until`."""
    mode = lock_mode()
    if mode is None or until is None:
        return {}
    return {"ObjectLockMode": mode, "ObjectLockRetainUntilDate": until}


def version_of(response: dict) -> str:
    """The version id an S3 answer names; '' for an unversioned bucket (some servers answer 'null' there, which no
    later request may name)."""
    version = response.get("VersionId") or ""
    return "" if version == "null" else version


def refused_by_lock(exc: BaseException) -> bool:
    """A DeleteObject (of a version) that storage refused: S3 answers AccessDenied for a version under retention or
    a legal hold."""
    return isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") == "AccessDenied"


def bucket_prepare(*, client, bucket: str, region: str, location_name: str, endpoint: str = "") -> str:
    """With Object Lock asked for: create the bucket with Object Lock enabled when it does not exist, and refuse
    (ImproperlyConfigured, naming the location, bucket and setting) an existing bucket without it. Returns what was
    done: 'created', 'checked', 'off' or 'unreachable' (an outage proves nothing; the next start asks again)."""
    mode = lock_mode()
    if mode is None:
        return "off"
    if (endpoint, bucket, mode) in _checked:
        return "checked"
    try:
        try:
            client.head_bucket(Bucket=bucket)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
                raise
            create = {"Bucket": bucket, "ObjectLockEnabledForBucket": True}
            if region and region != "us-east-1":
                create["CreateBucketConfiguration"] = {"LocationConstraint": region}
            client.create_bucket(**create)
            logger.info("created bucket %s with S3 Object Lock for location %s", bucket, location_name)
            _checked.add((endpoint, bucket, mode))
            return "created"
        try:
            enabled = client.get_object_lock_configuration(Bucket=bucket).get("ObjectLockConfiguration", {}).get(
                "ObjectLockEnabled") == "Enabled"
        except ClientError as exc:
            if "ObjectLockConfigurationNotFound" not in exc.response.get("Error", {}).get("Code", ""):
                raise
            enabled = False
    except (BotoCoreError, ClientError) as exc:
        if is_transient(exc):
            logger.warning("cannot check S3 Object Lock on bucket %s now: %s", bucket, exc)
            return "unreachable"
        raise ImproperlyConfigured(f"Storage location {location_name!r}: cannot check S3 Object Lock on bucket "
                                   f"{bucket!r}: {exc}") from exc
    if not enabled:
        raise ImproperlyConfigured(
            f"Storage location {location_name!r}: bucket {bucket!r} does not have S3 Object Lock enabled, but "
            f"CODA_S3_OBJECT_LOCK={settings.CODA_S3_OBJECT_LOCK} requires it (every object is written with a "
            f"retention date). Enable Object Lock on the bucket (versioning must be on), point the location at a "
            f"bucket created with it (or at a missing one: Coda creates it with Object Lock), or set "
            f"CODA_S3_OBJECT_LOCK=off."
        )
    _checked.add((endpoint, bucket, mode))
    return "checked"


def checked_forget() -> None:
    """Forget which buckets were proven (tests that change the setting or the server)."""
    _checked.clear()
