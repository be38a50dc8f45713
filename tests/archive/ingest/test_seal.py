"""The seal does not trust a copy proven earlier: storage can lose an object between its upload and the seal (an S3
server losing objects). Before a snapshot is declared sealed, each file's stored object is checked once (HEAD on S3,
stat on a filesystem); a missing one refuses the seal: nothing sealed or verified, the copy marked missing with a
failed fixity check, the job failed naming the file, and a retry (storing it again) seals.

Between upload and seal: the per-file ingests run inline with the seal held back (services.snapshot_finish_if_done
is what ends each file's ingest), the object is deleted on the server, then the seal runs."""

from pathlib import Path

import pytest

from archive.delivery.downloads import iter_blob
from archive.ingest import jobs, seal, services
from archive.models import EventOutcome, EventType, IngestJob, PreservationEvent, Replica, Snapshot, StorageLocation
from archive.storage.s3 import S3Backend
from archive.tasks import snapshot_file_ingest
from tests.archive.helpers import make_tree, random_bytes
from tests.factories import AIModelFactory

FILES = {
    "config.json": b'{"model_type": "gpt2"}',
    "model.safetensors": random_bytes(96 * 1024, seed=71),
    "tokenizer.json": b'{"version": "1.0"}',
}
LOST = "model.safetensors"


@pytest.fixture
def inline(monkeypatch):
    """Per-file ingest tasks run inline when `run()` is called (queued ids collected, as preserve_now does)."""
    sent: list[int] = []
    monkeypatch.setattr(snapshot_file_ingest, "delay", lambda file_id: sent.append(file_id))

    def run(*, seal_held: bool = False) -> None:
        with monkeypatch.context() as patch:
            if seal_held:  # every file stored and proven, the seal not yet run
                patch.setattr(services, "snapshot_finish_if_done", lambda snapshot_id: None)
            while sent:
                services.snapshot_file_ingest(file_id=sent.pop(0))

    return run


def _stored_until_seal(model, staging_dir, inline) -> IngestJob:
    make_tree(staging_dir / "m", FILES)
    job = services.snapshot_ingest_start(model=model, source=str(staging_dir / "m"))
    inline(seal_held=True)
    job.refresh_from_db()
    assert job.snapshot.state == Snapshot.State.INGESTING and job.state == IngestJob.State.RUNNING
    assert not job.snapshot.files.exclude(state="stored").exists()
    return job


def _replica(job: IngestJob, path: str) -> Replica:
    return Replica.objects.select_related("location").get(blob__snapshot_files__snapshot=job.snapshot,
                                                          blob__snapshot_files__path=path)


def _assert_refused(job: IngestJob, replica: Replica) -> IngestJob:
    job.refresh_from_db()
    snapshot = job.snapshot
    snapshot.refresh_from_db()
    assert snapshot.state == Snapshot.State.FAILED and not snapshot.revision and snapshot.sealed_at is None
    assert job.state == IngestJob.State.FAILED
    assert job.error.startswith("seal failed") and LOST in job.error and "missing" in job.error
    replica.refresh_from_db()
    assert replica.state == Replica.State.MISSING  # nothing declared verified without its object
    assert not Replica.objects.filter(blob=replica.blob, state=Replica.State.VERIFIED).exists()
    assert snapshot.files.get(path=LOST).state == "failed"
    assert snapshot.files.filter(state="stored").count() == len(FILES) - 1  # the others are not read again
    [refused] = PreservationEvent.objects.filter(event_type=EventType.INGESTION, outcome=EventOutcome.FAILURE,
                                                 snapshot=snapshot)
    assert refused.detail["sealed"] is False and LOST in refused.detail["error"]
    assert [m["path"] for m in refused.detail["missing"]] == [LOST]
    [check] = PreservationEvent.objects.filter(event_type=EventType.FIXITY, blob=replica.blob)
    assert check.outcome == EventOutcome.FAILURE and check.detail["result"] == "missing"
    assert check.detail["key"] == replica.key and check.location == replica.location
    assert not PreservationEvent.objects.filter(event_type=EventType.INGESTION, outcome=EventOutcome.SUCCESS,
                                                detail__sealed=True).exists()
    return job


def _retry_seals(job: IngestJob, inline) -> Snapshot:
    again = jobs.ingest_job_retry(job=job)
    inline()
    again.refresh_from_db()
    assert again.state == IngestJob.State.SUCCEEDED, again.error
    snapshot = Snapshot.objects.get(pk=again.snapshot_id)
    assert snapshot.state == Snapshot.State.SEALED and snapshot.revision
    stored = PreservationEvent.objects.filter(event_type=EventType.INGESTION, outcome=EventOutcome.SUCCESS,
                                              snapshot=snapshot, snapshot_file__isnull=False)
    # The lost file was stored again; the others were not read again.
    assert sorted(stored.values_list("snapshot_file__path", flat=True)) == sorted([*FILES, LOST])
    assert not Replica.objects.exclude(state=Replica.State.VERIFIED).exists()
    return snapshot


def test_an_object_lost_on_s3_before_the_seal_refuses_it_with_one_head_per_file(s3_location, transactional_db,
                                                                                  staging_dir, inline):
    model = AIModelFactory()
    job = _stored_until_seal(model, staging_dir, inline)
    replica = _replica(job, LOST)
    s3_location.delete_object(Bucket=s3_location.bucket, Key=f"archive/{replica.key}")  # lost by the server

    client = S3Backend(StorageLocation.objects.get(name="s3main")).client  # Coda's own (cached) client
    requests: list[str] = []

    def count(event_name, **kwargs):
        requests.append(event_name.split(".")[-1])

    client.meta.events.register("before-send.s3", count, unique_id="seal-count")
    try:
        seal.snapshot_finish_if_done(snapshot_id=job.snapshot_id)
    finally:
        client.meta.events.unregister("before-send.s3", unique_id="seal-count")
    assert requests == ["HeadObject"] * len(FILES)  # one existence check per file: no read, no manifest written
    job = _assert_refused(job, replica)
    listed = s3_location.list_objects_v2(Bucket=s3_location.bucket).get("Contents", [])
    assert not [o["Key"] for o in listed if "/manifests/" in f"/{o['Key']}"]

    snapshot = _retry_seals(job, inline)
    replica.refresh_from_db()  # a sealed copy stored again is new ciphertext (a new file key), so a new object key
    head = s3_location.head_object(Bucket=s3_location.bucket, Key=f"archive/{replica.key}")
    assert head["ContentLength"] == replica.stored_size  # stored again
    assert b"".join(iter_blob(replica)) == FILES[LOST]
    assert s3_location.head_object(Bucket=s3_location.bucket, Key=f"archive/{snapshot.manifest_key}")


def test_a_sealed_ingest_checks_each_object_once(s3_location, transactional_db, staging_dir, inline):
    """The check costs one HEAD per file on the way to a seal, whatever else the ingest asked (besides, the first
    seal to a location with sealed copies writes the archive key's public record there: keys/sealing/)."""
    job = _stored_until_seal(AIModelFactory(), staging_dir, inline)
    client = S3Backend(StorageLocation.objects.get(name="s3main")).client
    sent: list[tuple[str, str]] = []
    client.meta.events.register("before-send.s3", lambda event_name, request, **kw: sent.append(
        (event_name.split(".")[-1], request.url)), unique_id="seal-count")
    try:
        snapshot = seal.snapshot_finish_if_done(snapshot_id=job.snapshot_id)
    finally:
        client.meta.events.unregister("before-send.s3", unique_id="seal-count")
    assert snapshot.state == Snapshot.State.SEALED
    requests = [operation for operation, url in sent if "/keys/sealing/" not in url]
    assert requests.count("HeadObject") == len(FILES) and "GetObject" not in requests
    assert requests.count("PutObject") == 1  # the manifest
    assert [operation for operation, url in sent if "/keys/sealing/" in url] in ([], ["HeadObject", "PutObject"])


def test_a_file_lost_on_a_filesystem_before_the_seal_refuses_it_and_a_retry_seals_once_it_is_back(
        transactional_db, staging_dir, inline, settings):
    model = AIModelFactory()
    job = _stored_until_seal(model, staging_dir, inline)
    replica = _replica(job, LOST)
    [root] = [c["root"] for c in settings.CODA_STORAGE_LOCATIONS if c["name"] == replica.location.name]
    stored = Path(root) / replica.key
    kept = stored.read_bytes()
    stored.unlink()

    seal.snapshot_finish_if_done(snapshot_id=job.snapshot_id)
    job = _assert_refused(job, replica)

    stored.write_bytes(kept)  # the object is back
    _retry_seals(job, inline)
