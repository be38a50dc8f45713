import hashlib

import pytest

from archive.delivery import downloads as delivery
from archive.ingest import services
from archive.models import EventType, IngestJob, PreservationEvent, SnapshotFile
from tests.archive.helpers import make_tree, random_bytes
from tests.factories import AIModelFactory


@pytest.fixture
def preserved(transactional_db, staging_dir, monkeypatch):
    from archive.tasks import snapshot_file_ingest

    sent = []
    monkeypatch.setattr(snapshot_file_ingest, "delay", lambda file_id: sent.append(file_id))
    data = random_bytes(3 * 1024 * 1024 + 7, seed=3)
    make_tree(staging_dir / "m", {"w.bin": data})
    job = services.snapshot_ingest_start(model=AIModelFactory(), source=str(staging_dir / "m"))
    for file_id in sent:
        services.snapshot_file_ingest(file_id=file_id)
    assert IngestJob.objects.get(pk=job.pk).state == IngestJob.State.SUCCEEDED
    return SnapshotFile.objects.select_related("blob", "snapshot__model").get(), data


def test_filesystem_full_and_ranged_reads(preserved):
    row, data = preserved
    replica = delivery.readable_replica(row.blob)
    assert hashlib.sha256(b"".join(delivery.iter_blob(replica))).hexdigest() == row.blob.sha256
    assert b"".join(delivery.iter_blob(replica, start=10, end=1_000_009)) == data[10:1_000_010]
    assert delivery.presigned_url(replica) is None


def test_delivery_s3(s3_location, transactional_db, staging_dir, monkeypatch):
    import urllib.request

    from archive.tasks import snapshot_file_ingest

    sent = []
    monkeypatch.setattr(snapshot_file_ingest, "delay", lambda file_id: sent.append(file_id))
    data = random_bytes(1024 * 1024, seed=4)
    make_tree(staging_dir / "s", {"a/b.bin": data})
    # A public model's files are stored in plaintext whatever CODA_ENCRYPT_AT_REST says (short of `all`): this tests
    # the presigned URL of a plaintext copy (a sealed copy is never given one).
    services.snapshot_ingest_start(model=AIModelFactory(file_access="public"), source=str(staging_dir / "s"))
    for file_id in sent:
        services.snapshot_file_ingest(file_id=file_id)
    row = SnapshotFile.objects.select_related("blob").get()
    replica = delivery.readable_replica(row.blob)
    assert not replica.is_sealed
    assert b"".join(delivery.iter_blob(replica, start=5, end=99)) == data[5:100]
    url = delivery.presigned_url(replica, expires_in=10_000, filename="b.bin")
    assert "Expires=" in url or "X-Amz-Expires=3600" in url
    assert urllib.request.urlopen(url).read() == data


def test_access_event(preserved, researcher):
    row, _ = preserved
    replica = delivery.readable_replica(row.blob)
    delivery.access_record(user=researcher, snapshot_file=row, replica=replica, via="test")
    event = PreservationEvent.objects.get(event_type=EventType.ACCESS)
    assert event.agent == "user:researcher" and event.detail["via"] == "test"
