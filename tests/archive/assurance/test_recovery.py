"""Crash recovery through real processes: a worker (with its beat) SIGKILLed mid-ingest, mid-audit and
mid-replication; a new worker finishes the work by itself (leases, heartbeats and the work-resume beat,
archive/assurance/leases.py) — no test code calls a sweep or a resume. Real broker (Redis on CI, else kombu's filesystem
transport), the test's database (PostgreSQL on CI, else the SQLite test file), moto_server over HTTP.

Timings (CODA_HEARTBEAT_SECONDS=0.5, CODA_WORK_STALE_SECONDS=3, work-resume every 1 s) are shrunk from the
production defaults (10 s, 120 s, 30 s). CODA_TEST_READ_DELAY slows only the first worker, so the kill lands
mid-read; the second worker runs at full speed."""

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from boto3.s3.transfer import TransferConfig

from archive.ingest import services
from archive.delivery.downloads import iter_blob
from archive.models import (
    Blob,
    EventOutcome,
    EventType,
    IngestJob,
    Lease,
    PreservationEvent,
    Replica,
    Snapshot,
    SnapshotFile,
    StorageLocation,
)
from tests.archive.helpers import preserve_now, wait_job
from tests.archive.assurance.test_faults import database_url, process_broker  # noqa: F401 (fixture)
from tests.conftest import wait_for
from tests.factories import AIModelFactory

ROOT = Path(__file__).resolve().parents[3]
MIB = 1024 * 1024
STALE_SECONDS = 3


class GeneratedStream:
    """`size` deterministic pseudo-random bytes, produced as they are read (never held whole); SHA-256 on the way."""

    def __init__(self, size: int, seed: int):
        self.remaining, self.random, self.sha256 = size, random.Random(seed), hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        n = self.remaining if n is None or n < 0 else min(n, self.remaining)
        data = self.random.randbytes(n)
        self.remaining -= n
        self.sha256.update(data)
        return data


class Worker:
    """`celery worker --beat` in its own process group (the beat is a child), killed as a whole."""

    def __init__(self, env: dict, tmp_path: Path, name: str):
        self.env, self.name = env, name
        self.schedule = tmp_path / f"beat-{name}"
        self.log = open(tmp_path / f"worker-{name}.log", "wb")
        self.proc = None

    def start(self, **extra_env):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--beat", "--schedule", str(self.schedule),
             "--pool", "solo", "--loglevel", "WARNING", "--without-mingle", "--without-gossip", "--without-heartbeat",
             "--hostname", f"{self.name}@%h"],
            cwd=ROOT, env={**self.env, **extra_env}, start_new_session=True, stdout=self.log, stderr=self.log,
        )
        return self

    def kill(self) -> float:
        os.killpg(self.proc.pid, signal.SIGKILL)
        killed = time.monotonic()
        self.proc.wait(timeout=10)
        return killed

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


@pytest.fixture
def recovery_env(process_broker, settings, s3_server):  # noqa: F811
    settings.CODA_WORK_STALE_SECONDS = STALE_SECONDS
    settings.CODA_PART_SIZE = 5 * MIB

    def build() -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CODA_", "DJANGO_"))}
        env.update(
            DATABASE_URL=database_url(),
            CELERY_BROKER_URL=process_broker["url"],
            CODA_VAR_DIR=str(process_broker["var"]),
            CODA_SEALING_KEY_DIR=settings.CODA_SEALING_KEY_DIR,  # the archive's key, shared with this process
            CODA_STORAGE_LOCATIONS=json.dumps(settings.CODA_STORAGE_LOCATIONS),
            CODA_PART_SIZE=str(5 * MIB),
            CODA_UPLOAD_CONCURRENCY="2",
            CODA_BROKER_VISIBILITY_TIMEOUT="3600",  # Redis redelivery plays no part: recovery is the beat's
            CODA_HEARTBEAT_SECONDS="0.5",
            CODA_WORK_STALE_SECONDS=str(STALE_SECONDS),
            CODA_BEAT_WORK_RESUME="1",
            CODA_BEAT_FIXITY_AUDIT="disable",
            CODA_BEAT_PRESERVATION_ENFORCE="disable",
            CODA_BEAT_LEFTOVERS_SWEEP="disable",
            CODA_SOURCE_S3_ENDPOINT_URL=s3_server.url,
            CODA_SOURCE_S3_ACCESS_KEY_ID="testing",
            CODA_SOURCE_S3_SECRET_ACCESS_KEY="testing",
            AWS_ACCESS_KEY_ID=os.environ["AWS_ACCESS_KEY_ID"],
            AWS_SECRET_ACCESS_KEY=os.environ["AWS_SECRET_ACCESS_KEY"],
        )
        return env

    return build


def open_uploads(client, bucket: str) -> list:
    return client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])


def stored_sha256(client, bucket: str, key: str) -> str:
    body = client.get_object(Bucket=bucket, Key=key)["Body"]
    digest = hashlib.sha256()
    for chunk in iter(lambda: body.read(8 * MIB), b""):
        digest.update(chunk)
    return digest.hexdigest()


def lease(name: str) -> Lease | None:
    return Lease.objects.filter(name=name).order_by("-created_at").first()


def resumed_events(event_type: str):
    return PreservationEvent.objects.filter(event_type=event_type, outcome=EventOutcome.WARNING, detail__resumed=True)


@pytest.mark.slow
def test_ingest_killed_mid_upload_resumes_by_itself(transactional_db, recovery_env, s3_location, monkeypatch,
                                                      tmp_path, capsys):
    size = 300 * MIB
    s3_location.create_bucket(Bucket="lab-exports")
    monkeypatch.setenv("CODA_SOURCE_S3_ENDPOINT_URL", recovery_env()["CODA_SOURCE_S3_ENDPOINT_URL"])
    monkeypatch.setenv("CODA_SOURCE_S3_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("CODA_SOURCE_S3_SECRET_ACCESS_KEY", "testing")
    source = GeneratedStream(size, seed=14)
    s3_location.upload_fileobj(source, "lab-exports", "big/v1/model.safetensors",
                               Config=TransferConfig(multipart_chunksize=16 * MIB, max_concurrency=4))
    expected = source.sha256.hexdigest()
    env = recovery_env()
    job = services.snapshot_ingest_start(model=AIModelFactory(), source="s3://lab-exports/big/v1")
    row = SnapshotFile.objects.get()
    name = f"ingest-file:{row.pk}"

    first = Worker(env, tmp_path, "first").start(CODA_TEST_READ_DELAY="0.1")
    try:
        wait_for(lambda: (lambda lz: lz and lz.uploads)(lease(name)), timeout=90, interval=0.05)
        wait_for(lambda: SnapshotFile.objects.get(pk=row.pk).bytes_done >= 40 * MIB, timeout=60, interval=0.05)
        killed = first.kill()  # SIGKILL the worker and its beat mid-upload
    finally:
        first.stop()
    row.refresh_from_db()
    assert row.state == SnapshotFile.State.PENDING and row.bytes_done < size
    assert open_uploads(s3_location, s3_location.bucket), "the killed worker left its multipart upload open"
    assert IngestJob.objects.get(pk=job.pk).state == IngestJob.State.RUNNING

    second = Worker(env, tmp_path, "second").start()
    try:
        finished = wait_job(job.pk, timeout=150)
        elapsed = time.monotonic() - killed
    finally:
        second.stop()
    with capsys.disabled():
        print(f"\n[recovery] ingest of {size // MIB} MiB: SIGKILL to sealed in {elapsed:.1f} s "
              f"(stale after {STALE_SECONDS} s, work-resume every 1 s)")

    assert finished.state == IngestJob.State.SUCCEEDED, finished.error
    assert Snapshot.objects.get().state == Snapshot.State.SEALED
    blob = Blob.objects.get()
    assert (blob.sha256, blob.size) == (expected, size)
    replica = Replica.objects.get()
    assert replica.state == Replica.State.VERIFIED
    # The object is the copy's stored bytes (age ciphertext when sealed), and it reads back as the file.
    assert stored_sha256(s3_location, s3_location.bucket, "archive/" + replica.key) == replica.stored_sha256
    assert replica.is_sealed or replica.stored_sha256 == expected
    plain = hashlib.sha256()
    for chunk in iter_blob(replica):
        plain.update(chunk)
    assert plain.hexdigest() == expected
    assert SnapshotFile.objects.count() == 1 and Lease.objects.filter(name=name).count() == 1
    assert open_uploads(s3_location, s3_location.bucket) == []
    done = lease(name)
    assert (done.state, done.attempts, done.uploads) == (Lease.State.DONE, 2, [])
    # The trail tells what happened: one interrupted attempt resumed, its upload aborted, one ingestion.
    assert resumed_events(EventType.INGESTION).filter(snapshot_file=row).count() == 1
    aborted = PreservationEvent.objects.filter(event_type=EventType.DELETION, detail__work=name)
    assert aborted.count() == 1
    stored = PreservationEvent.objects.filter(event_type=EventType.INGESTION, outcome="success", snapshot_file=row)
    assert [e.detail["deduplicated"] for e in stored] == [False]
    assert PreservationEvent.objects.filter(event_type=EventType.DIGEST, snapshot_file=row).count() == 1


def _second_bucket(s3_location, settings) -> str:
    bucket = s3_location.bucket + "-copy"
    s3_location.create_bucket(Bucket=bucket)
    settings.CODA_STORAGE_LOCATIONS = [
        *settings.CODA_STORAGE_LOCATIONS,
        {**settings.CODA_STORAGE_LOCATIONS[0], "name": "s3copy", "bucket": bucket, "primary": False},
    ]
    return bucket


@pytest.mark.slow
def test_replication_killed_mid_copy_resumes_by_itself(transactional_db, recovery_env, s3_location, settings,
                                                         staging_dir, monkeypatch, tmp_path):
    from archive.tasks import snapshot_replicate

    copy_bucket = _second_bucket(s3_location, settings)
    monkeypatch.setattr(snapshot_replicate, "delay", lambda snapshot_id: None)  # queued below, to the worker
    data = random.Random(15).randbytes(64 * MIB)
    snapshot = preserve_now(AIModelFactory(), staging_dir, {"model.safetensors": data}, monkeypatch)
    blob = Blob.objects.get()
    target = StorageLocation.objects.get(name="s3copy")
    assert not Replica.objects.filter(location=target).exists()
    name = f"replicate:{snapshot.pk}"
    monkeypatch.undo()
    snapshot_replicate.delay(snapshot.pk)

    env = recovery_env()
    first = Worker(env, tmp_path, "first").start(CODA_TEST_READ_DELAY="0.3")
    try:
        wait_for(lambda: (lambda lz: lz and lz.uploads)(lease(name)), timeout=90, interval=0.05)
        time.sleep(1)
        killed = first.kill()
    finally:
        first.stop()
    assert open_uploads(s3_location, copy_bucket)
    assert not Replica.objects.filter(location=target).exists()

    second = Worker(env, tmp_path, "second").start()
    try:
        wait_for(lambda: lease(name).state == Lease.State.DONE, timeout=90, interval=0.1)
        elapsed = time.monotonic() - killed
    finally:
        second.stop()
    print(f"[recovery] replication of 64 MiB: SIGKILL to copied in {elapsed:.1f} s")

    copy = Replica.objects.get(location=target)
    assert copy.state == Replica.State.VERIFIED and Replica.objects.count() == 2
    # The copy holds exactly the source's stored bytes (a sealed copy's ciphertext; else the blob's plaintext).
    source_digest = Replica.objects.exclude(location=target).get().stored_sha256
    assert copy.stored_sha256 == source_digest == (copy.ciphertext_sha256 if copy.is_sealed else blob.sha256)
    assert stored_sha256(s3_location, copy_bucket, "archive/" + copy.key) == source_digest
    assert open_uploads(s3_location, copy_bucket) == []
    assert lease(name).attempts == 2
    copies = PreservationEvent.objects.filter(event_type=EventType.REPLICATION, outcome="success", location=target)
    assert copies.count() == 1 and copies.get().detail["sha256"] == source_digest
    assert resumed_events(EventType.REPLICATION).filter(snapshot=snapshot).count() == 1
    assert PreservationEvent.objects.filter(event_type=EventType.DELETION, detail__work=name).count() == 1


@pytest.mark.slow
def test_audit_killed_mid_read_resumes_without_reading_a_copy_twice(transactional_db, recovery_env, s3_location,
                                                                       staging_dir, monkeypatch, tmp_path):
    from archive.tasks import model_audit

    model = AIModelFactory()
    # Stored in this order, audited in this order (blob id): the small copy is checked before the kill.
    preserve_now(model, staging_dir, {"a-config.json": b'{"a": 1}'}, monkeypatch, name="small")
    preserve_now(model, staging_dir, {"b.safetensors": random.Random(16).randbytes(64 * MIB)}, monkeypatch, name="big")
    small, big = Replica.objects.order_by("blob_id")
    monkeypatch.undo()
    name = f"audit-model:{model.pk}"
    model_audit.delay(model.pk)

    env = recovery_env()
    first = Worker(env, tmp_path, "first").start(CODA_TEST_READ_DELAY="0.5")
    checks = PreservationEvent.objects.filter(event_type=EventType.FIXITY, outcome=EventOutcome.SUCCESS)
    try:
        wait_for(lambda: checks.filter(blob=small.blob).exists(), timeout=90, interval=0.05)
        time.sleep(1.5)  # into the big copy's (slowed) read
        killed = first.kill()
    finally:
        first.stop()
    assert not checks.filter(blob=big.blob).exists()
    assert lease(name).state == Lease.State.RUNNING

    second = Worker(env, tmp_path, "second").start()
    try:
        wait_for(lambda: lease(name).state == Lease.State.DONE, timeout=90, interval=0.1)
        elapsed = time.monotonic() - killed
    finally:
        second.stop()
    print(f"[recovery] audit: SIGKILL to done in {elapsed:.1f} s")

    assert lease(name).attempts == 2
    # One check per copy for the run: the copy verified before the kill is not read again on resume.
    assert checks.filter(blob=small.blob).count() == 1 and checks.filter(blob=big.blob).count() == 1
    assert checks.get(blob=big.blob).detail["found"] == big.stored_sha256  # the ciphertext's when sealed
    big.refresh_from_db()
    assert big.state == Replica.State.VERIFIED and big.verification == "fixity check sha256"
    assert resumed_events(EventType.FIXITY).filter(model=model).count() == 1
    assert not PreservationEvent.objects.filter(event_type=EventType.FIXITY).exclude(outcome=EventOutcome.SUCCESS) \
        .exclude(detail__resumed=True).exists()
