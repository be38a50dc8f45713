"""Ingest through a real Celery worker into a real S3 server over HTTP (and the filesystem location)."""

import hashlib
import json
import os
import subprocess

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from archive.delivery.downloads import iter_blob
from archive.ingest import services
from archive.models import Blob, EventType, IngestJob, PreservationEvent, Replica, Snapshot, SnapshotFile
from archive.tasks import snapshot_file_ingest
from archive.storage.filesystem import VERIFICATION
from tests.archive.helpers import independent_revision, make_tree, random_bytes, wait_job
from tests.factories import AIModelFactory, ProviderFactory

MIB = 1024 * 1024


@pytest.fixture
def opus(transactional_db):
    return AIModelFactory(provider=ProviderFactory(slug="anthropic"), name="claude-3-opus-20240229")


@pytest.fixture
def small_parts(settings):
    settings.CODA_PART_SIZE = 5 * MIB
    settings.CODA_UPLOAD_CONCURRENCY = 2


def tree(staging_dir, name="opus", big=12 * MIB):
    files = {
        "config.json": json.dumps({"architectures": ["X"], "model_type": "x"}).encode(),
        "tokenizer/tokenizer.json": b'{"version": "1.0"}',
        "weights/model-00001-of-00001.safetensors": random_bytes(big, seed=1),
        "README.md": "# Opus\nA model card with ünïcode.\n".encode(),
    }
    make_tree(staging_dir / name, files)
    return staging_dir / name, files


def s3_objects(client) -> dict[str, bytes]:
    listing = client.list_objects_v2(Bucket=client.bucket).get("Contents", [])
    return {o["Key"]: client.get_object(Bucket=client.bucket, Key=o["Key"])["Body"].read() for o in listing}


@pytest.mark.parametrize("layout", ["direct", "sha256"])
def test_nested_directory_with_multipart_file_is_sealed_in_s3(
    layout, settings, celery_worker, s3_location, small_parts, staging_dir, opus, curator_client
):
    settings.CODA_S3_KEY_LAYOUT = layout
    source, files = tree(staging_dir)
    response = curator_client.post(
        "/api/v1/models/anthropic/claude-3-opus-20240229/snapshots/", {"source": str(source)}, format="json"
    )
    assert response.status_code == 202, response.json()
    job = wait_job(response.json()["id"])
    assert job.state == IngestJob.State.SUCCEEDED, job.error

    body = curator_client.get(response["Location"]).json()
    assert body["state"] == "succeeded"
    assert body["progress"]["files_done"] == 4 and body["progress"]["bytes_done"] == sum(map(len, files.values()))

    snapshot = Snapshot.objects.get()
    assert snapshot.state == Snapshot.State.SEALED
    assert snapshot.revision == independent_revision(files)

    # Every blob is in the bucket, byte-identical (a sealed copy: its ciphertext, which opens to the file), at the
    # key its replica records: small ones under the SHA-256 of their stored bytes; the multipart one where it was
    # uploaded ("direct") or copied to that SHA-256 ("sha256").
    # Nothing else: no temporary objects, no surplus copies, no incomplete uploads.
    objects = s3_objects(s3_location)
    big_path = "weights/model-00001-of-00001.safetensors"
    expected_object_keys = {}  # the blobs whose key is not their plaintext digest's
    for path, data in files.items():
        digest = hashlib.sha256(data).hexdigest()
        replica = Replica.objects.get(blob__sha256=digest)
        key, stored = replica.key, objects["archive/" + replica.key]
        assert hashlib.sha256(stored).hexdigest() == replica.stored_sha256 and len(stored) == replica.stored_size
        assert b"".join(iter_blob(replica)) == data
        if not replica.is_sealed:
            assert stored == data
        if layout == "direct" and path == big_path:
            assert key.startswith("blobs/uploads/")
        else:
            stored_digest = replica.stored_sha256
            assert key == f"blobs/sha256/{stored_digest[:2]}/{stored_digest[2:4]}/{stored_digest}"
        if key != f"blobs/sha256/{digest[:2]}/{digest[2:4]}/{digest}":
            expected_object_keys[digest] = key
    assert {k for k in objects if "/blobs/" in k} == {"archive/" + r.key for r in Replica.objects.all()}
    assert not [k for k in objects if "/tmp/" in k]
    assert not s3_location.list_multipart_uploads(Bucket=s3_location.bucket).get("Uploads")
    # The manifest is stored next to the blobs, so storage alone describes the snapshot.
    stored_manifest = json.loads(objects[f"archive/manifests/anthropic/claude-3-opus-20240229/{snapshot.revision}.json"])
    assert {f["path"]: f["sha256"] for f in stored_manifest["files"]} == {
        p: hashlib.sha256(d).hexdigest() for p, d in files.items()
    }
    # ... including where its objects are when a key is not the digest's: the multipart upload's ("direct") and
    # each sealed copy's (stored under its ciphertext's digest).
    big_digest = hashlib.sha256(files[big_path]).hexdigest()
    if layout == "direct":
        assert expected_object_keys[big_digest] == Replica.objects.get(blob__sha256=big_digest).key
    assert set(expected_object_keys) == (
        {r.blob.sha256 for r in Replica.objects.select_related("blob") if r.is_sealed}
        | ({big_digest} if layout == "direct" else set())
    )
    if expected_object_keys:
        assert stored_manifest["object_keys"] == expected_object_keys
    else:
        assert "object_keys" not in stored_manifest

    big = SnapshotFile.objects.get(path="weights/model-00001-of-00001.safetensors")
    replica = Replica.objects.get(blob=big.blob)
    assert replica.state == Replica.State.VERIFIED and replica.last_verified_at
    assert replica.verification.startswith("server")
    assert big.kind == "weights" and big.format == "safetensors"

    events = PreservationEvent.objects.filter(snapshot=snapshot)
    assert events.filter(event_type=EventType.DIGEST, outcome="success").count() == 4
    assert events.filter(event_type=EventType.INGESTION, outcome="success", detail__sealed=True).count() == 1
    digest_event = events.get(event_type=EventType.DIGEST, snapshot_file=big)
    assert digest_event.detail["digest"] == hashlib.sha256(files[big.path]).hexdigest()


def test_manifest_endpoints_and_sha256sum_check(celery_worker, s3_location, staging_dir, opus, anon_client, tmp_path):
    source, files = tree(staging_dir, big=MIB)
    job = services.snapshot_ingest_start(model=opus, source=str(source))
    assert wait_job(job.pk).state == IngestJob.State.SUCCEEDED
    snapshot = Snapshot.objects.get()
    base = "/api/v1/models/anthropic/claude-3-opus-20240229/snapshots/"
    listing = anon_client.get(base).json()["results"]
    assert [s["revision"] for s in listing] == [snapshot.revision]
    detail = anon_client.get(f"{base}main/").json()
    assert detail["revision"] == snapshot.revision
    assert {f["path"]: f["sha256"] for f in detail["files"]} == {p: hashlib.sha256(d).hexdigest() for p, d in files.items()}
    assert all(f["copies"] == 1 for f in detail["files"])
    manifest = anon_client.get(f"{base}{snapshot.revision}/manifest").json()
    assert manifest["revision"] == snapshot.revision and len(manifest["files"]) == 4
    text = anon_client.get(f"{base}{snapshot.revision}/manifest.sha256")
    assert text["Content-Type"].startswith("text/plain")
    (tmp_path / "check").mkdir()
    make_tree(tmp_path / "check", files)
    (tmp_path / "check" / "SHA256SUMS").write_bytes(text.content)
    result = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=tmp_path / "check", capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert anon_client.get(f"{base}{'0' * 40}/").status_code == 404
    assert anon_client.get(f"{base}nonsense/").json()["code"] == "snapshot_not_found"


def test_dedup_across_two_models(celery_worker, s3_location, small_parts, staging_dir, opus):
    other = AIModelFactory(provider=opus.provider, name="claude-3-opus-copy")
    source, files = tree(staging_dir)
    first = services.snapshot_ingest_start(model=opus, source=str(source))
    assert wait_job(first.pk).state == IngestJob.State.SUCCEEDED
    before = s3_objects(s3_location)
    second = services.snapshot_ingest_start(model=other, source=str(source))
    assert wait_job(second.pk).state == IngestJob.State.SUCCEEDED
    after = s3_objects(s3_location)
    assert Blob.objects.count() == 4
    assert Replica.objects.count() == 4
    assert {k for k in after if "/blobs/" in k} == {k for k in before if "/blobs/" in k}
    dedup = PreservationEvent.objects.filter(snapshot__model=other, event_type=EventType.INGESTION, detail__deduplicated=True)
    assert dedup.count() == 4
    assert "not written again" in dedup.first().detail["note"]


def test_task_delivered_twice_creates_nothing_twice(celery_worker, s3_location, staging_dir, opus):
    import time

    source, files = tree(staging_dir, big=MIB)
    job = services.snapshot_ingest_start(model=opus, source=str(source))
    assert wait_job(job.pk).state == IngestJob.State.SUCCEEDED
    counts = (Blob.objects.count(), Replica.objects.count(), PreservationEvent.objects.count(), SnapshotFile.objects.count())
    objects = set(s3_objects(s3_location))
    for row in SnapshotFile.objects.all():
        snapshot_file_ingest.delay(row.pk)  # redelivered through the broker
        snapshot_file_ingest.apply(args=[row.pk])  # and run once more in-process
    time.sleep(2)
    assert (Blob.objects.count(), Replica.objects.count(), PreservationEvent.objects.count(), SnapshotFile.objects.count()) == counts
    assert set(s3_objects(s3_location)) == objects


def test_filesystem_location(celery_worker, staging_dir, opus, settings, tmp_path):
    source, files = tree(staging_dir, big=3 * MIB)
    job = services.snapshot_ingest_start(model=opus, source=str(source))
    assert wait_job(job.pk).state == IngestJob.State.SUCCEEDED
    root = tmp_path / "storage"
    for data in files.values():
        replica = Replica.objects.get(blob__sha256=hashlib.sha256(data).hexdigest())
        # Under the digest of the bytes stored: the file's own, or a sealed copy's ciphertext (which opens to it).
        digest = replica.stored_sha256
        assert replica.key == f"blobs/sha256/{digest[:2]}/{digest[2:4]}/{digest}"
        stored = (root / "blobs" / "sha256" / digest[:2] / digest[2:4] / digest).read_bytes()
        assert hashlib.sha256(stored).hexdigest() == digest and len(stored) == replica.stored_size
        assert b"".join(iter_blob(replica)) == data
        if not replica.is_sealed:
            assert stored == data
    assert not list((root / "blobs").glob(".tmp-*"))
    replicas = list(Replica.objects.all())  # a sealed copy's read-back proves its ciphertext
    assert len(replicas) == 4
    assert all(r.verification == VERIFICATION + (" (of the ciphertext)" if r.is_sealed else "") for r in replicas)
    snapshot = Snapshot.objects.get()
    assert (root / "manifests" / "anthropic" / "claude-3-opus-20240229" / f"{snapshot.revision}.json").exists()


@pytest.fixture
def dispatched(monkeypatch):
    """Record task dispatches instead of sending them (unit tests of the service logic, no worker)."""
    sent = []
    monkeypatch.setattr(snapshot_file_ingest, "delay", lambda file_id: sent.append(file_id))
    return sent


def test_rerun_after_failure_resumes_and_skips_stored_files(transactional_db, staging_dir, opus, dispatched):
    source, files = tree(staging_dir, big=MIB)
    job = services.snapshot_ingest_start(model=opus, source=str(source))
    assert len(dispatched) == 4
    moved = (source / "README.md").read_bytes()
    (source / "README.md").unlink()  # disappears after listing
    for file_id in dispatched:
        snapshot_file_ingest.apply(args=[file_id])
    job.refresh_from_db()
    assert job.state == IngestJob.State.FAILED
    assert "README.md" in job.error and "Cannot read" in job.error
    assert Snapshot.objects.get().state == Snapshot.State.FAILED

    (source / "README.md").write_bytes(moved)
    dispatched.clear()
    again = services.snapshot_ingest_start(model=opus, source=str(source))
    assert again.snapshot_id == job.snapshot_id and again.pk != job.pk
    readme = SnapshotFile.objects.get(path="README.md")
    assert dispatched == [readme.pk]  # only the failed file is read again
    snapshot_file_ingest.apply(args=[readme.pk])
    again.refresh_from_db()
    assert again.state == IngestJob.State.SUCCEEDED
    assert set(SnapshotFile.objects.values_list("path", "attempts")) == {
        ("README.md", 2), ("config.json", 1), ("tokenizer/tokenizer.json", 1), ("weights/model-00001-of-00001.safetensors", 1)
    }
    assert Snapshot.objects.get().revision == independent_revision(files)


def test_source_changed_while_read_fails_that_file(transactional_db, staging_dir, opus, dispatched):
    source, files = tree(staging_dir, big=MIB)
    job = services.snapshot_ingest_start(model=opus, source=str(source))
    target = source / "config.json"
    stat = target.stat()
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # same size, new mtime
    row = SnapshotFile.objects.get(snapshot=job.snapshot, path="config.json")
    snapshot_file_ingest.apply(args=[row.pk])
    row.refresh_from_db()
    assert row.state == SnapshotFile.State.FAILED
    assert "changed while it was being read" in row.error
    assert row.blob_id is None and not Blob.objects.exists()


def test_grown_source_file_fails_and_leaves_no_multipart_upload(transactional_db, staging_dir, opus, dispatched, s3_location, small_parts):
    source, files = tree(staging_dir)
    job = services.snapshot_ingest_start(model=opus, source=str(source))
    with open(source / "weights/model-00001-of-00001.safetensors", "ab") as f:
        f.write(b"more bytes")
    row = SnapshotFile.objects.get(snapshot=job.snapshot, path__endswith=".safetensors")
    snapshot_file_ingest.apply(args=[row.pk])
    row.refresh_from_db()
    assert row.state == SnapshotFile.State.FAILED and "expected" in row.error
    assert not s3_location.list_multipart_uploads(Bucket=s3_location.bucket).get("Uploads")
    assert not s3_objects(s3_location)


def test_each_source_byte_is_read_once(transactional_db, staging_dir, opus, monkeypatch, s3_location, small_parts, dispatched):
    source, files = tree(staging_dir)
    from tests.archive.helpers import count_source_reads

    counted = count_source_reads(monkeypatch)
    job = services.snapshot_ingest_start(model=opus, source=str(source))
    for row in SnapshotFile.objects.filter(snapshot=job.snapshot):
        services.snapshot_file_ingest(file_id=row.pk)
    assert counted == {path: len(data) for path, data in files.items()}
    assert Snapshot.objects.get().state == Snapshot.State.SEALED
