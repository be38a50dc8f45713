"""Ingest straight from an s3://bucket/prefix source on the source endpoint (a second real S3 bucket)."""

import hashlib

import pytest

from archive.delivery.downloads import iter_blob
from archive.ingest import services
from archive.models import IngestJob, Replica, Snapshot, SnapshotFile
from tests.archive.helpers import independent_revision, random_bytes
from tests.factories import AIModelFactory


@pytest.fixture
def source_bucket(s3_server, s3_location, monkeypatch):
    client = s3_location
    client.create_bucket(Bucket="lab-exports")
    monkeypatch.setenv("CODA_SOURCE_S3_ENDPOINT_URL", s3_server.url)
    monkeypatch.setenv("CODA_SOURCE_S3_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("CODA_SOURCE_S3_SECRET_ACCESS_KEY", "testing")
    return client


def test_ingest_from_s3_source(transactional_db, source_bucket, s3_location, monkeypatch, settings):
    from archive.tasks import snapshot_file_ingest

    settings.CODA_PART_SIZE = 5 * 1024 * 1024
    files = {"config.json": b'{"x": 1}', "weights/model.safetensors": random_bytes(6 * 1024 * 1024, seed=21)}
    for path, data in files.items():
        source_bucket.put_object(Bucket="lab-exports", Key=f"opus/v1/{path}", Body=data)
    source_bucket.put_object(Bucket="lab-exports", Key="opus/v2/other.bin", Body=b"not part of v1")
    sent = []
    monkeypatch.setattr(snapshot_file_ingest, "delay", lambda file_id: sent.append(file_id))
    job = services.snapshot_ingest_start(model=AIModelFactory(), source="s3://lab-exports/opus/v1")
    assert sorted(SnapshotFile.objects.values_list("path", flat=True)) == sorted(files)
    for file_id in sent:
        services.snapshot_file_ingest(file_id=file_id)
    job.refresh_from_db()
    assert job.state == IngestJob.State.SUCCEEDED, job.error
    assert Snapshot.objects.get().revision == independent_revision(files)
    digest = hashlib.sha256(files["weights/model.safetensors"]).hexdigest()
    replica = Replica.objects.get(blob__sha256=digest)
    stored = s3_location.get_object(Bucket=s3_location.bucket, Key="archive/" + replica.key)["Body"].read()
    assert hashlib.sha256(stored).hexdigest() == replica.stored_sha256 and len(stored) == replica.stored_size
    assert b"".join(iter_blob(replica)) == files["weights/model.safetensors"]


def test_empty_s3_prefix_is_refused(transactional_db, source_bucket):
    from archive.exceptions import EmptySource

    with pytest.raises(EmptySource, match="holds no objects"):
        services.snapshot_ingest_start(model=AIModelFactory(), source="s3://lab-exports/nothing-here")
