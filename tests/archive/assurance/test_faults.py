"""Fault injection with real processes: a worker killed with SIGKILL mid-upload, the S3 server stopped
mid-ingest. Each test asserts the events written, not only the final state."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from archive.assurance import leftovers
from archive.ingest import services
from archive.delivery.downloads import iter_blob
from archive.models import Blob, EventType, IngestJob, PreservationEvent, Replica, Snapshot, SnapshotFile
from tests.archive.helpers import make_tree, random_bytes, wait_job
from tests.conftest import BROKER_URL, wait_for
from tests.factories import AIModelFactory

ROOT = Path(__file__).resolve().parents[3]
MIB = 1024 * 1024


def database_url() -> str:
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _reset_pools(app):
    """Drop cached broker connections so the next publish uses the broker configured now."""
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def process_broker(tmp_path):
    """A broker two processes can share: the configured Redis on CI, else kombu's filesystem transport."""
    from config.celery import app

    old = (app.conf.broker_url, app.conf.broker_transport_options)
    var = tmp_path / "var"
    if BROKER_URL.startswith("redis"):
        url, options = BROKER_URL, {"visibility_timeout": 3600}
    else:
        folder = var / "broker"
        (folder / "processed").mkdir(parents=True)
        url = "filesystem://localhost/"
        options = {"data_folder_in": str(folder), "data_folder_out": str(folder), "processed_folder": str(folder / "processed"), "store_processed": False}
    app.conf.broker_url, app.conf.broker_transport_options = url, options
    _reset_pools(app)
    app.control.purge()
    yield {"url": url, "var": var}
    app.conf.broker_url, app.conf.broker_transport_options = old
    _reset_pools(app)


class WorkerProcess:
    def __init__(self, env):
        self.env = env
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "--loglevel", "WARNING",
             "--without-mingle", "--without-gossip", "--without-heartbeat"],
            cwd=ROOT, env=self.env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        return self

    def kill(self):
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def worker_env(process_broker, settings, s3_location, staging_dir):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODA_", "DJANGO_"))}
    env.update(
        DATABASE_URL=database_url(),
        CELERY_BROKER_URL=process_broker["url"],
        CODA_VAR_DIR=str(process_broker["var"]),
        CODA_STAGING_ROOTS=str(staging_dir),
        CODA_STORAGE_LOCATIONS=json.dumps(settings.CODA_STORAGE_LOCATIONS),
        CODA_SEALING_KEY_DIR=settings.CODA_SEALING_KEY_DIR,  # the archive's key, shared with this process
        CODA_PART_SIZE=str(5 * MIB),
        CODA_UPLOAD_CONCURRENCY="1",
        CODA_TASK_RETRY_BACKOFF="1",
        CODA_BROKER_VISIBILITY_TIMEOUT="3600",
        CODA_WORK_STALE_SECONDS="0",  # the sweep below requeues at once; the killed worker's lease is taken over
        AWS_ACCESS_KEY_ID=os.environ["AWS_ACCESS_KEY_ID"],
        AWS_SECRET_ACCESS_KEY=os.environ["AWS_SECRET_ACCESS_KEY"],
    )
    return env


def uploads(client):
    return client.list_multipart_uploads(Bucket=client.bucket).get("Uploads", [])


@pytest.mark.slow
def test_worker_killed_mid_multipart_upload_then_job_completes(transactional_db, worker_env, s3_location, staging_dir, settings):
    settings.CODA_PART_SIZE = 5 * MIB
    data = random_bytes(160 * MIB, seed=11)
    files = {"weights/model.safetensors": data, "config.json": b"{}"}
    make_tree(staging_dir / "big", files)
    model = AIModelFactory()
    job = services.snapshot_ingest_start(model=model, source=str(staging_dir / "big"))

    first = WorkerProcess(worker_env).start()
    try:
        wait_for(lambda: uploads(s3_location), timeout=60, interval=0.02)
        first.kill()  # SIGKILL during the multipart upload
    finally:
        if first.proc.poll() is None:
            first.kill()
    job.refresh_from_db()
    assert job.state != IngestJob.State.SUCCEEDED
    big = SnapshotFile.objects.get(path="weights/model.safetensors")
    assert big.state == SnapshotFile.State.PENDING and big.blob_id is None
    assert uploads(s3_location), "the killed worker left its multipart upload behind"
    assert not PreservationEvent.objects.filter(snapshot_file=big).exists()

    # The sweep aborts the abandoned upload and re-queues the abandoned file; a new worker finishes the job.
    assert leftovers.multipart_uploads_abort(older_than=__import__("datetime").timedelta(0), agent="t") >= 1
    assert not uploads(s3_location)
    from datetime import timedelta

    assert leftovers.stale_ingests_resume(stale_after=timedelta(0)) >= 1
    second = WorkerProcess(worker_env).start()
    try:
        finished = wait_job(job.pk, timeout=180)
    finally:
        second.stop()
    assert finished.state == IngestJob.State.SUCCEEDED, finished.error
    assert not uploads(s3_location)
    digest = hashlib.sha256(data).hexdigest()
    replica = Replica.objects.get(blob__sha256=digest)
    body = s3_location.get_object(Bucket=s3_location.bucket, Key="archive/" + replica.key)["Body"]
    check = hashlib.sha256()
    for chunk in iter(lambda: body.read(MIB), b""):
        check.update(chunk)
    # The object is the copy's stored bytes (age ciphertext for a sealed copy), and it reads back as the file.
    assert check.hexdigest() == replica.stored_sha256
    assert replica.is_sealed or replica.stored_sha256 == digest
    plain = hashlib.sha256()
    for chunk in iter_blob(replica):
        plain.update(chunk)
    assert plain.hexdigest() == digest
    assert Blob.objects.count() == 2 and Replica.objects.count() == 2 and SnapshotFile.objects.count() == 2
    ingestions = PreservationEvent.objects.filter(event_type=EventType.INGESTION, snapshot_file=big)
    assert [(e.outcome, e.detail["deduplicated"]) for e in ingestions] == [("success", False)]
    assert PreservationEvent.objects.filter(event_type=EventType.DELETION, detail__has_key="incomplete_multipart_upload").count() >= 1
    assert Snapshot.objects.get().state == Snapshot.State.SEALED


@pytest.mark.slow
def test_s3_server_stopped_mid_ingest_fails_clearly_then_resumes(
    celery_worker, s3_location, s3_server, staging_dir, settings
):
    settings.CODA_PART_SIZE = 5 * MIB
    settings.CODA_UPLOAD_CONCURRENCY = 1
    settings.CODA_S3_MAX_ATTEMPTS = 2
    settings.CODA_TASK_MAX_RETRIES = 2
    data = random_bytes(160 * MIB, seed=12)
    make_tree(staging_dir / "big", {"model.safetensors": data})
    model = AIModelFactory()
    job = services.snapshot_ingest_start(model=model, source=str(staging_dir / "big"))
    try:
        wait_for(lambda: uploads(s3_location), timeout=60, interval=0.02)
        s3_server.stop()  # mid-upload
        failed = wait_job(job.pk, timeout=120)
    finally:
        s3_server.start()
    assert failed.state == IngestJob.State.FAILED
    assert "storage unavailable after 3 attempts" in failed.error
    assert not Replica.objects.exists() and not Blob.objects.exists()
    failure = PreservationEvent.objects.get(event_type=EventType.INGESTION, outcome="failure")
    assert "storage unavailable" in failure.detail["error"]
    assert not PreservationEvent.objects.filter(outcome="success").exists()

    s3_location.create_bucket(Bucket=s3_location.bucket)  # moto keeps nothing across a restart
    again = services.snapshot_ingest_start(model=model, source=str(staging_dir / "big"))
    assert again.snapshot_id == job.snapshot_id
    assert wait_job(again.pk, timeout=120).state == IngestJob.State.SUCCEEDED
    assert Replica.objects.get().state == Replica.State.VERIFIED
