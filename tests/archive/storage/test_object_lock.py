"""S3 Object Lock against the real moto_server over HTTP: a bucket Coda creates has Object Lock (and versioning), an
existing bucket without it is refused at start-up with a clear message, every object Coda writes (single PUT,
multipart upload, server-side copy) carries its retention date and a version id, and storage refuses a
DeleteObject of a locked version (a raw boto3 call, not Coda's)."""

import hashlib
import io
from datetime import timedelta

import pytest
from botocore.exceptions import ClientError
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.utils import timezone

from archive.exceptions import RetentionRefused
from archive.models import StorageLocation
from archive.storage.locations import locations_sync
from archive.storage.object_lock import checked_forget
from archive.storage.s3 import S3Backend
from archive.storage.streaming import HashingReader
from tests.archive.helpers import random_bytes

MIB = 1024 * 1024


@pytest.fixture
def locked_bucket(s3_server, s3_location, settings, request):
    """CODA_S3_OBJECT_LOCK=compliance and a location naming a bucket that does not exist yet (Coda creates it)."""
    checked_forget()
    settings.CODA_S3_OBJECT_LOCK = "compliance"
    settings.CODA_RETENTION_DAYS = 10
    settings.CODA_PART_SIZE = 5 * MIB
    bucket = f"locked-{abs(hash(request.node.nodeid)) % 10**10}"
    settings.CODA_STORAGE_LOCATIONS = [{**settings.CODA_STORAGE_LOCATIONS[0], "bucket": bucket}]
    s3_location.bucket = bucket
    yield s3_location
    checked_forget()


@pytest.fixture
def backend(locked_bucket, db):
    locations_sync()
    return S3Backend(StorageLocation.objects.get(name="s3main"))


def store(backend, data: bytes, **kwargs):
    return backend.store(HashingReader(io.BytesIO(data)), size=len(data), is_stored=lambda sha256: None, **kwargs)


def test_coda_creates_a_missing_bucket_with_object_lock_and_versioning(locked_bucket, db):
    client = locked_bucket
    with pytest.raises(ClientError):
        client.head_bucket(Bucket=client.bucket)
    locations_sync()
    config = client.get_object_lock_configuration(Bucket=client.bucket)["ObjectLockConfiguration"]
    assert config["ObjectLockEnabled"] == "Enabled"
    assert client.get_bucket_versioning(Bucket=client.bucket)["Status"] == "Enabled"


def test_an_existing_bucket_without_object_lock_is_refused_at_start_up(s3_location, settings, db):
    checked_forget()
    settings.CODA_S3_OBJECT_LOCK = "governance"
    with pytest.raises(ImproperlyConfigured) as refused:
        locations_sync()
    message = str(refused.value)
    assert s3_location.bucket in message and "s3main" in message and "CODA_S3_OBJECT_LOCK=governance" in message
    assert not StorageLocation.objects.filter(name="s3main").exists()  # nothing synced from a refused configuration
    with pytest.raises(SystemCheckError, match="archive.E001"):  # the start-up check migrate and runserver run
        call_command("check")
    settings.CODA_S3_OBJECT_LOCK = "off"
    checked_forget()
    call_command("check")  # off: the same bucket is fine
    locations_sync()


@pytest.mark.parametrize("layout, size", [("direct", 300), ("direct", 12 * MIB), ("sha256", 12 * MIB)])
def test_every_object_is_written_with_its_retention_date_and_version(backend, locked_bucket, settings, layout, size):
    settings.CODA_S3_KEY_LAYOUT = layout
    data = random_bytes(size, seed=size)
    before = timezone.now()
    result = store(backend, data)
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.version_id and result.retain_until is not None
    assert before + timedelta(days=10) - timedelta(seconds=2) <= result.retain_until <= timezone.now() + timedelta(days=10)
    head = locked_bucket.head_object(Bucket=locked_bucket.bucket, Key=f"archive/{result.key}", VersionId=result.version_id)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert abs((head["ObjectLockRetainUntilDate"] - result.retain_until).total_seconds()) < 1
    # (moto_server 5.2 answers GetObjectRetention with a 500: HeadObject's x-amz-object-lock-* headers are the read-back)
    # nothing else is left behind under retention: the sha256 layout's temporary upload was deleted, version and all
    versions = locked_bucket.list_object_versions(Bucket=locked_bucket.bucket).get("Versions", [])
    assert [v["Key"] for v in versions] == [f"archive/{result.key}"]


def test_storage_refuses_deleting_a_locked_version(backend, locked_bucket):
    data = b"held bytes " * 100
    result = store(backend, data)
    key = f"archive/{result.key}"
    with pytest.raises(ClientError) as refused:  # a raw DeleteObject of that version, as anyone with the keys could try
        locked_bucket.delete_object(Bucket=locked_bucket.bucket, Key=key, VersionId=result.version_id)
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(RetentionRefused, match="under retention"):  # Coda's own delete names the refusal
        backend.delete(result.key, version_id=result.version_id)
    body = locked_bucket.get_object(Bucket=locked_bucket.bucket, Key=key, VersionId=result.version_id)["Body"].read()
    assert body == data


def test_without_object_lock_nothing_is_locked(s3_location, settings, db):
    checked_forget()
    settings.CODA_S3_OBJECT_LOCK = "off"
    locations_sync()
    backend = S3Backend(StorageLocation.objects.get(name="s3main"))
    result = store(backend, b"x" * 100)
    assert result.retain_until is None
    head = s3_location.head_object(Bucket=s3_location.bucket, Key=f"archive/{result.key}")
    assert "ObjectLockMode" not in head
    backend.delete(result.key, version_id=result.version_id)
    assert backend.size_of(result.key) is None
