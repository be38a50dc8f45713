"""Leases on long work (archive/assurance/leases.py): one holder at a time, takeover after missed heartbeats, and the
curators' doors for a stuck or running ingest (retry, cancel), each leaving an event."""

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from archive.assurance import leases
from archive.ingest import services
from archive.models import Blob, EventType, IngestJob, Lease, PreservationEvent, Replica, Snapshot, SnapshotFile
from tests.archive.helpers import make_tree, random_bytes, wait_job
from tests.conftest import wait_for
from tests.factories import AIModelFactory

MIB = 1024 * 1024


def acquire(name="work:1", agent="worker:a"):
    return leases.lease_acquire(name=name, task="archive.tasks.work_resume", args=[], agent=agent)


def test_a_second_delivery_steps_aside_while_the_holder_beats_and_takes_over_once_it_stops(transactional_db, settings):
    settings.CODA_WORK_STALE_SECONDS = 60
    first = acquire()
    assert first is not None and acquire(agent="worker:b") is None  # redelivered while the first one beats
    assert first.beat()
    Lease.objects.filter(pk=first.lease.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=61))
    second = acquire(agent="worker:b")
    assert second is not None and second.lease.pk == first.lease.pk and second.lease.attempts == 2
    assert not first.beat()  # the old holder learns it lost the work ...
    with pytest.raises(leases.LeaseLost):
        first.guard(open(__file__, "rb")).read(1)  # ... and stops at its next read
    leases.lease_release(second)
    third = acquire()
    assert third is not None and third.lease.pk != first.lease.pk  # finished work: a new run is a new lease


def test_work_resume_requeues_only_silent_work_with_an_event(transactional_db, settings, monkeypatch):
    from celery import current_app

    settings.CODA_WORK_STALE_SECONDS = 60
    sent = []
    monkeypatch.setattr(current_app, "send_task", lambda name, args: sent.append((name, args)))
    alive, dead = acquire("work:alive"), acquire("work:dead")
    Lease.objects.filter(pk=dead.lease.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=61))
    assert leases.work_resume(agent="t") == 1
    assert sent == [("archive.tasks.work_resume", [])]
    assert Lease.objects.get(pk=dead.lease.pk).state == Lease.State.QUEUED
    assert Lease.objects.get(pk=alive.lease.pk).state == Lease.State.RUNNING
    event = PreservationEvent.objects.get(detail__resumed=True)
    assert event.detail["work"] == "work:dead" and event.outcome == "warning"
    assert leases.work_resume(agent="t") == 0  # queued again, not requeued twice


@pytest.fixture
def stuck_job(transactional_db, staging_dir, monkeypatch, settings):
    """A job a killed worker left behind: running, its file's lease silent for longer than the threshold."""
    from archive.tasks import snapshot_file_ingest

    settings.CODA_WORK_STALE_SECONDS = 60
    queued = []
    monkeypatch.setattr(snapshot_file_ingest, "delay", lambda file_id: queued.append(file_id))
    make_tree(staging_dir / "m", {"model.safetensors": b"weights"})
    job = services.snapshot_ingest_start(model=AIModelFactory(), source=str(staging_dir / "m"))
    row = SnapshotFile.objects.get()
    holder = leases.lease_acquire(name=f"ingest-file:{row.pk}", task="archive.tasks.snapshot_file_ingest",
                                  args=[row.pk], agent="worker:killed")
    long_ago = timezone.now() - timedelta(minutes=5)
    IngestJob.objects.filter(pk=job.pk).update(state=IngestJob.State.RUNNING, started_at=long_ago, created_at=long_ago)
    queued.clear()
    job.refresh_from_db()
    job.queued, job.holder = queued, holder
    return job


def test_retry_of_a_running_job_is_refused_while_a_worker_beats_and_accepted_once_stuck(stuck_job, curator_client):
    url = f"/api/v1/ingest-jobs/{stuck_job.pk}/"
    assert curator_client.get(url).json()["stuck"] is False
    refused = curator_client.post(url + "retry/")
    assert refused.status_code == 409 and "a worker is on it" in refused.json()["detail"]

    Lease.objects.filter(pk=stuck_job.holder.lease.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=61))
    assert curator_client.get(url).json()["stuck"] is True
    response = curator_client.post(url + "retry/")
    assert response.status_code == 202, response.json()
    stuck_job.refresh_from_db()
    assert stuck_job.state == IngestJob.State.FAILED and "no heartbeat" in stuck_job.error
    assert response.json()["id"] != stuck_job.pk and response.json()["state"] == "queued"
    assert stuck_job.queued == [SnapshotFile.objects.get().pk]  # the file is queued again for the new job
    assert not stuck_job.holder.beat()  # the silent worker, should it wake, has lost the file
    event = PreservationEvent.objects.get(job=stuck_job, detail__retried=True)
    assert event.agent == "user:curator" and event.detail["state"] == {"from": "running", "to": "failed"}


def test_cancel_of_a_stuck_job_is_honoured_and_a_finished_one_refused(stuck_job, curator_client, researcher_client):
    url = f"/api/v1/ingest-jobs/{stuck_job.pk}/cancel/"
    assert researcher_client.post(url).status_code == 403
    response = curator_client.post(url)
    assert response.status_code == 200 and response.json()["state"] == "cancelled"
    assert SnapshotFile.objects.get().state == SnapshotFile.State.FAILED
    assert Snapshot.objects.get().state == Snapshot.State.FAILED
    assert Lease.objects.get().state == Lease.State.CANCELLED
    event = PreservationEvent.objects.get(job=stuck_job, detail__cancelled=True)
    assert event.detail["files_stopped"] == ["model.safetensors"] and event.agent == "user:curator"
    again = curator_client.post(url)
    assert again.status_code == 409 and "only a queued or running ingest" in again.json()["detail"]


def test_cancel_stops_a_running_upload_and_leaves_nothing_open(celery_worker, s3_location, staging_dir, settings,
                                                                curator_client):
    settings.CODA_PART_SIZE = 5 * MIB
    settings.CODA_UPLOAD_CONCURRENCY = 1
    settings.CODA_HEARTBEAT_SECONDS = 0.1
    settings.CODA_TEST_READ_DELAY = 0.3  # 8 parts: the upload takes a few seconds
    make_tree(staging_dir / "m", {"model.safetensors": random_bytes(40 * MIB, seed=3)})
    job = services.snapshot_ingest_start(model=AIModelFactory(), source=str(staging_dir / "m"))
    uploads = lambda: s3_location.list_multipart_uploads(Bucket=s3_location.bucket).get("Uploads", [])  # noqa: E731
    wait_for(uploads, timeout=30, interval=0.05)
    assert curator_client.post(f"/api/v1/ingest-jobs/{job.pk}/cancel/").status_code == 200
    wait_for(lambda: not uploads(), timeout=15)  # the worker stopped and aborted its upload
    wait_for(lambda: Lease.objects.get().state == Lease.State.CANCELLED, timeout=5)
    job.refresh_from_db()
    assert job.state == IngestJob.State.CANCELLED
    assert not Blob.objects.exists() and not Replica.objects.exists()
    assert not PreservationEvent.objects.filter(outcome="success").exists()
    listed = s3_location.list_objects_v2(Bucket=s3_location.bucket, Prefix="archive/blobs/").get("Contents", [])
    assert listed == []
