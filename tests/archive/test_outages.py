"""Storage down (moto_server terminated) or stalled (SIGSTOP: connections accepted, nothing answered) at each
step: before an upload, mid-upload, at the verify after the upload, during replication, audit, download and bag
export. Each step must fail within the S3 timeouts and deadline (short here), record the failure as an event,
mark nothing verified without proof, answer 503 + Retry-After in the API, and complete once storage is back
(SIGCONT, or a restart on the same port with the bucket's objects put back, as a server with a disk would)."""

import hashlib
import io
import os
import tarfile
import urllib.request

import boto3
import pytest
from botocore.config import Config

from archive.assurance import fixity, replication
from archive.delivery.downloads import iter_blob
from archive.ingest import jobs, services
from archive.storage.locations import locations_sync
from archive.models import Blob, EventOutcome, EventType, IngestJob, PreservationEvent, Replica, StorageLocation
from archive.storage.s3 import S3Backend
from tests.archive.helpers import make_tree, preserve_now, random_bytes, wait_job
from tests.conftest import MotoServer
from tests.factories import AIModelFactory

MIB = 1024 * 1024
MODES = ["down", "stalled"]
RETRY_AFTER = 7


class Outage:
    """One moto_server of this test's own (stopping or freezing it touches no other test) and the means to take
    it away and bring it back."""

    def __init__(self, server: MotoServer, bucket: str):
        self.server, self.bucket = server, bucket
        self.mode = None
        self.saved: dict[str, bytes] = {}

    def client(self):
        return boto3.client(
            "s3", endpoint_url=self.server.url, region_name="us-east-1",
            config=Config(response_checksum_validation="when_required", retries={"max_attempts": 1}),
        )

    def objects(self) -> dict[str, bytes]:
        client = self.client()
        listed = client.list_objects_v2(Bucket=self.bucket).get("Contents", [])
        return {o["Key"]: client.get_object(Bucket=self.bucket, Key=o["Key"])["Body"].read() for o in listed}

    def begin(self, mode: str) -> None:
        self.mode = mode
        if mode == "down":
            self.saved = self.objects()  # moto keeps nothing across a restart; a real server keeps its disk
            self.server.stop()
        else:
            self.server.freeze()

    def end(self) -> None:
        if self.mode == "down":
            self.server.start()  # same port
            client = self.client()
            client.create_bucket(Bucket=self.bucket)
            for key, data in self.saved.items():
                client.put_object(Bucket=self.bucket, Key=key, Body=data)
        elif self.mode == "stalled":
            self.server.thaw()
        self.mode = None

    def on_call(self, operation: str, mode: str) -> None:
        """Take storage away right after Coda's client completes `operation` (the first time), so the next
        request of the same upload meets the outage: a fault at an exact step, on the real client and server."""
        client = S3Backend(StorageLocation.objects.get(name="s3")).client
        fired = []

        def fault(**kwargs):
            if not fired:
                fired.append(operation)
                self.begin(mode)

        client.meta.events.register(f"after-call.s3.{operation}", fault, unique_id=f"outage-{id(self)}")
        self.unregister = lambda: client.meta.events.unregister(f"after-call.s3.{operation}", unique_id=f"outage-{id(self)}")


def s3_entry(server: MotoServer, bucket: str, *, primary: bool) -> dict:
    return {
        "name": "s3", "kind": "s3", "endpoint_url": server.url, "bucket": bucket, "prefix": "archive",
        "region": "us-east-1", "access_key_env": "AWS_ACCESS_KEY_ID", "secret_key_env": "AWS_SECRET_ACCESS_KEY",
        "primary": primary,
    }


@pytest.fixture
def outage(settings, tmp_path):
    """S3 on its own server as the primary location, with timeouts short enough that each outage costs seconds."""
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    server = MotoServer().start()
    state = Outage(server, "coda-outage")
    state.client().create_bucket(Bucket=state.bucket)
    settings.CODA_S3_CONNECT_TIMEOUT = 1
    settings.CODA_S3_READ_TIMEOUT = 1
    settings.CODA_S3_MAX_ATTEMPTS = 2
    settings.CODA_S3_DEADLINE = 2
    settings.CODA_TASK_MAX_RETRIES = 1
    settings.CODA_STORAGE_RETRY_AFTER = RETRY_AFTER
    settings.CODA_PART_SIZE = 5 * MIB
    settings.CODA_UPLOAD_CONCURRENCY = 1
    settings.CODA_STORAGE_LOCATIONS = [s3_entry(server, state.bucket, primary=True)]
    try:
        yield state
    finally:
        if state.mode == "stalled":
            server.thaw()
        server.stop()


def stored_sha256(outage: Outage, replica: Replica) -> str:
    data = outage.client().get_object(Bucket=outage.bucket, Key=f"archive/{replica.key}")["Body"].read()
    return hashlib.sha256(data).hexdigest()


def assert_holds(outage: Outage, replica: Replica, data: bytes) -> None:
    """The object on the server is the one the replica records (a sealed copy's: its ciphertext), and it opens
    to `data`."""
    assert replica.blob.sha256 == hashlib.sha256(data).hexdigest()
    assert stored_sha256(outage, replica) == replica.stored_sha256
    assert b"".join(iter_blob(replica)) == data


def assert_nothing_stored() -> None:
    assert not Replica.objects.exists() and not Blob.objects.exists()
    assert not PreservationEvent.objects.filter(outcome=EventOutcome.SUCCESS).exists()


# --- ingest: before the upload, mid-upload, at the verify ---------------------------------------------------------


def ingest_fails_then_retry_completes(outage, job, data):
    failed = wait_job(job.pk, timeout=60)
    assert failed.state == IngestJob.State.FAILED
    assert "storage unavailable after 2 attempts" in failed.error  # CODA_TASK_MAX_RETRIES=1: two, then a clear failure
    assert_nothing_stored()
    failures = PreservationEvent.objects.filter(event_type=EventType.INGESTION, outcome=EventOutcome.FAILURE)
    assert [("storage unavailable" in e.detail["error"]) for e in failures] == [True]

    outage.end()
    again = wait_job(jobs.ingest_job_retry(job=failed).pk, timeout=60)
    assert again.state == IngestJob.State.SUCCEEDED, again.error
    replica = Replica.objects.get()
    assert replica.state == Replica.State.VERIFIED
    assert_holds(outage, replica, data)


@pytest.mark.parametrize("mode", MODES)
def test_storage_out_before_upload(mode, outage, celery_worker, staging_dir):
    data = b"config bytes\n" * 100
    make_tree(staging_dir / "m", {"config.json": data})
    outage.begin(mode)
    job = services.snapshot_ingest_start(model=AIModelFactory(), source=str(staging_dir / "m"))
    ingest_fails_then_retry_completes(outage, job, data)


@pytest.mark.parametrize("mode", MODES)
def test_storage_out_mid_upload(mode, outage, celery_worker, staging_dir):
    data = random_bytes(11 * MIB, seed=31)  # three parts
    make_tree(staging_dir / "m", {"model.safetensors": data})
    model = AIModelFactory()
    locations_sync()
    outage.on_call("UploadPart", mode)  # after part 1 is stored
    try:
        job = services.snapshot_ingest_start(model=model, source=str(staging_dir / "m"))
        ingest_fails_then_retry_completes(outage, job, data)
    finally:
        outage.unregister()


@pytest.mark.parametrize("mode", MODES)
def test_storage_out_at_verify(mode, outage, celery_worker, staging_dir):
    data = random_bytes(11 * MIB, seed=32)
    make_tree(staging_dir / "m", {"model.safetensors": data})
    model = AIModelFactory()
    locations_sync()
    outage.on_call("CompleteMultipartUpload", mode)  # the object exists; the HEAD that proves it cannot be sent
    try:
        job = services.snapshot_ingest_start(model=model, source=str(staging_dir / "m"))
        failed = wait_job(job.pk, timeout=60)
    finally:
        outage.unregister()
    assert failed.state == IngestJob.State.FAILED
    assert_nothing_stored()
    if mode == "stalled":
        outage.server.thaw()
        outage.mode = None
        # The completed but unproven object is there, and no replica names it (the orphan sweep's business).
        keys = [k for k in outage.objects() if k.startswith("archive/blobs/uploads/")]
        assert len(keys) == 1 and not Replica.objects.exists()
    else:
        outage.end()
    again = wait_job(jobs.ingest_job_retry(job=failed).pk, timeout=60)
    assert again.state == IngestJob.State.SUCCEEDED, again.error
    replica = Replica.objects.get(state=Replica.State.VERIFIED)
    assert_holds(outage, replica, data)


# --- replication and audit ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_storage_out_during_replication(mode, outage, settings, transactional_db, staging_dir, tmp_path, monkeypatch):
    # The archive's own disk is primary; the S3 server holds the second copy.
    settings.CODA_STORAGE_LOCATIONS = [
        {"name": "local", "kind": "filesystem", "root": str(tmp_path / "storage"), "primary": True},
        s3_entry(outage.server, outage.bucket, primary=False),
    ]
    settings.CODA_MIN_COPIES = 2
    files = {"config.json": b"{}", "model.safetensors": random_bytes(64 * 1024, seed=33)}
    snapshot = preserve_now(AIModelFactory(), staging_dir, files, monkeypatch)
    outage.begin(mode)
    result = replication.snapshot_replicate(snapshot_id=snapshot.pk, agent="worker:test")
    assert result["copied"] == 0 and result["failed"] >= 1
    assert not Replica.objects.filter(location__name="s3", state=Replica.State.VERIFIED).exists()
    failure = PreservationEvent.objects.filter(event_type=EventType.REPLICATION, outcome=EventOutcome.FAILURE).first()
    assert failure is not None and "storage unavailable" in failure.detail["error"] and failure.location.name == "s3"
    assert not PreservationEvent.objects.filter(event_type=EventType.REPLICATION, outcome=EventOutcome.SUCCESS).exists()

    outage.end()
    assert replication.snapshot_replicate(snapshot_id=snapshot.pk, agent="worker:test")["failed"] == 0
    copies = Replica.objects.filter(location__name="s3", state=Replica.State.VERIFIED)
    assert copies.count() == 2
    by_digest = {hashlib.sha256(data).hexdigest(): data for data in files.values()}
    for replica in copies.select_related("blob"):
        assert_holds(outage, replica, by_digest[replica.blob.sha256])


@pytest.mark.parametrize("mode", MODES)
def test_storage_out_during_audit(mode, outage, transactional_db, staging_dir, monkeypatch):
    files = {"config.json": b"{}", "a.bin": random_bytes(4096, seed=34), "b.bin": random_bytes(4096, seed=35)}
    preserve_now(AIModelFactory(), staging_dir, files, monkeypatch)
    before = dict(Replica.objects.values_list("pk", "last_verified_at"))
    outage.begin(mode)
    report = fixity.audit_replicas(Replica.objects.all(), agent="worker:test")
    assert (report.checked, report.ok, report.unreachable, report.corrupt, report.missing) == (3, 0, 3, 0, 0)
    # Not re-verified (no proof), not called corrupt or lost either (an outage says nothing about the bytes).
    assert dict(Replica.objects.values_list("pk", "last_verified_at")) == before
    assert set(Replica.objects.values_list("state", flat=True)) == {Replica.State.VERIFIED}
    warnings = PreservationEvent.objects.filter(event_type=EventType.FIXITY, outcome=EventOutcome.WARNING)
    assert warnings.count() == 3 and all("unreachable" in e.detail["error"] for e in warnings)
    assert not PreservationEvent.objects.filter(event_type=EventType.REPAIR).exists()

    outage.end()
    report = fixity.audit_replicas(Replica.objects.all(), agent="worker:test")
    assert (report.checked, report.ok, report.unreachable) == (3, 3, 0)
    assert all(Replica.objects.get(pk=pk).last_verified_at > when for pk, when in before.items())


# --- API: download and bag export ---------------------------------------------------------------------------------


def assert_503(response) -> None:
    assert response.status_code == 503
    assert not hasattr(response, "streaming_content")  # an answer about the outage, not a started body
    assert response["Retry-After"] == str(RETRY_AFTER)
    body = response.json()
    assert body["status"] == 503 and body["code"] == "storage_unavailable" and body["detail"]
    assert "127.0.0.1" not in body["detail"]  # the technical cause goes to the event, not to the client


@pytest.mark.parametrize("mode", MODES)
def test_storage_out_at_download(mode, outage, transactional_db, staging_dir, monkeypatch, anon_client):
    model = AIModelFactory(file_access="public")
    data = random_bytes(4096, seed=36)
    snapshot = preserve_now(model, staging_dir, {"model.bin": data}, monkeypatch)
    url = f"/api/v1/models/{model.repo_id}/snapshots/{snapshot.revision}/files/model.bin"
    outage.begin(mode)
    assert_503(anon_client.get(url))
    failure = PreservationEvent.objects.get(event_type=EventType.ACCESS)
    assert failure.outcome == EventOutcome.FAILURE and failure.detail["path"] == "model.bin"

    outage.end()
    response = anon_client.get(url)
    assert response.status_code == 302
    with urllib.request.urlopen(response["Location"], timeout=10) as fetched:
        assert fetched.read() == data
    assert PreservationEvent.objects.filter(event_type=EventType.ACCESS, outcome=EventOutcome.SUCCESS).count() == 1


@pytest.mark.parametrize("mode", MODES)
def test_storage_out_at_bag_export(mode, outage, transactional_db, staging_dir, monkeypatch, anon_client):
    model = AIModelFactory(file_access="public")
    files = {"config.json": b"{}", "model.bin": random_bytes(64 * 1024, seed=37)}
    preserve_now(model, staging_dir, files, monkeypatch)
    url = f"/api/v1/models/{model.repo_id}/snapshots/main/bag.tar"
    outage.begin(mode)
    assert_503(anon_client.get(url))
    failure = PreservationEvent.objects.get(event_type=EventType.ACCESS)
    assert failure.outcome == EventOutcome.FAILURE and failure.detail["via"] == "bag"

    outage.end()
    response = anon_client.get(url)
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert len(body) == int(response["Content-Length"])
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:") as tar:
        payload = {m.name.split("/data/", 1)[1]: tar.extractfile(m).read() for m in tar.getmembers() if "/data/" in m.name}
    assert payload == files


# --- the bound itself ---------------------------------------------------------------------------------------------


def test_deadline_stops_retries_against_a_stalled_server(outage, settings, db):
    """botocore alone would try CODA_S3_MAX_ATTEMPTS times, each waiting the read timeout; CODA_S3_DEADLINE
    stops retrying once it has passed: with 1 s reads and a 2 s deadline, two attempts instead of five."""
    from archive.exceptions import TransientStorageError

    settings.CODA_S3_MAX_ATTEMPTS = 5
    locations_sync()
    backend = S3Backend(StorageLocation.objects.get(name="s3"))
    attempts = []
    backend.client.meta.events.register("before-send.s3.HeadObject", lambda **kw: attempts.append(1), unique_id="count")
    outage.begin("stalled")
    try:
        with pytest.raises(TransientStorageError):
            backend.size_of("blobs/anything")
    finally:
        backend.client.meta.events.unregister("before-send.s3.HeadObject", unique_id="count")
    assert len(attempts) == 2


@pytest.mark.parametrize("mode", MODES)
def test_storage_out_at_seal(mode, outage, celery_worker, staging_dir):
    """Every file stored and proven, then the manifest cannot be written: the job fails (not left running),
    nothing is sealed, and a retry seals without storing the files again."""
    data = b"config bytes\n"
    make_tree(staging_dir / "m", {"config.json": data})
    model = AIModelFactory()
    locations_sync()
    outage.on_call("HeadObject", mode)  # the file's size check passed; the manifest PutObject comes next
    try:
        job = services.snapshot_ingest_start(model=model, source=str(staging_dir / "m"))
        failed = wait_job(job.pk, timeout=60)
    finally:
        outage.unregister()
    assert failed.state == IngestJob.State.FAILED and "seal failed" in failed.error
    assert failed.snapshot.state == "failed" and not failed.snapshot.revision
    assert PreservationEvent.objects.filter(event_type=EventType.INGESTION, outcome=EventOutcome.FAILURE,
                                            detail__sealed=False).count() == 1
    outage.end()
    again = wait_job(jobs.ingest_job_retry(job=failed).pk, timeout=60)
    assert again.state == IngestJob.State.SUCCEEDED, again.error
    again.snapshot.refresh_from_db()
    assert again.snapshot.state == "sealed"
    stored = PreservationEvent.objects.filter(event_type=EventType.INGESTION, outcome=EventOutcome.SUCCESS,
                                              snapshot_file__isnull=False)
    assert stored.count() == 1  # the file was not stored a second time
    assert f"archive/{again.snapshot.manifest_key}" in outage.objects()


@pytest.mark.parametrize("mode", MODES)
def test_storage_out_at_hub_resolve(mode, outage, transactional_db, staging_dir, monkeypatch, anon_client, settings):
    """`/hf/…/resolve/…` probes storage before its 302 to a presigned URL (or before streaming): 503 + Retry-After."""
    model = AIModelFactory(file_access="public")
    data = random_bytes(4096, seed=38)
    snapshot = preserve_now(model, staging_dir, {"model.bin": data}, monkeypatch)
    url = f"/hf/{model.repo_id}/resolve/{snapshot.revision}/model.bin"
    for redirect in (True, False):
        settings.CODA_HF_S3_REDIRECT = redirect
        outage.begin(mode)
        response = anon_client.get(url)
        assert response.status_code == 503 and response["Retry-After"]
        assert "127.0.0.1" not in response.content.decode()  # the technical cause goes to the event only
        outage.end()
    failures = PreservationEvent.objects.filter(event_type=EventType.ACCESS, outcome=EventOutcome.FAILURE)
    assert sorted(e.detail["via"] for e in failures) == ["hf", "hf-redirect"]

    settings.CODA_HF_S3_REDIRECT = True
    response = anon_client.get(url)
    assert response.status_code == 302
    with urllib.request.urlopen(response["Location"], timeout=10) as fetched:
        assert fetched.read() == data
