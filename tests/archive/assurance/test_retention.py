"""Storage-enforced retention end to end (issue 28 part 1), against the real moto_server over HTTP with Object Lock on
and a filesystem location beside it: ingested copies record their version and retention date; an overwrite by
someone else creates a version Coda never serves (presigned URLs, streams and ranges name Coda's version) and the
audit event names the stray version; the retention-extend service moves the date on storage; a withdrawal asking to
delete retained bytes is a 409 naming the date, recorded, with nothing withdrawn or marked deleted; legal holds through
the curators' API; a repair on a locked bucket records the new version; filesystem blobs are read-only and repaired
by renaming verified bytes over the corrupt copy; sealed copies are versioned and read back like plaintext ones."""

import hashlib
import io
import os
import urllib.request
from datetime import timedelta

import pytest
from django.utils import timezone

from archive.assurance import retention
from archive.assurance.fixity import audit_replicas, replica_check, replica_repair, replicas_of_model
from archive.assurance.replication import snapshot_replicate
from archive.delivery.downloads import iter_blob
from archive.ingest import services
from archive.models import EventType, PreservationEvent, Replica, Snapshot, StorageLocation
from archive.storage.locations import backend_for
from archive.storage.streaming import HashingReader
from archive.storage.object_lock import checked_forget
from archive.tasks import snapshot_file_ingest
from archive.tasks import snapshot_replicate as snapshot_replicate_task
from tests.archive.helpers import make_tree, random_bytes
from tests.factories import AIModelFactory, ProviderFactory, api_client

MIB = 1024 * 1024
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def locked(s3_location, settings, tmp_path, request):
    """Object Lock (compliance, 10 days) on a bucket Coda creates, and a filesystem vault as the second location."""
    checked_forget()
    settings.CODA_S3_OBJECT_LOCK = "compliance"
    settings.CODA_RETENTION_DAYS = 10
    settings.CODA_RETENTION_EXTEND_DAYS = 5
    settings.CODA_PART_SIZE = 5 * MIB
    bucket = f"held-{abs(hash(request.node.nodeid)) % 10**10}"
    settings.CODA_STORAGE_LOCATIONS = [
        {**settings.CODA_STORAGE_LOCATIONS[0], "bucket": bucket},
        {"name": "vault", "kind": "filesystem", "root": str(tmp_path / "vault")},
    ]
    s3_location.bucket = bucket
    yield s3_location
    checked_forget()


@pytest.fixture
def preserve(monkeypatch, staging_dir):
    queued = {"ingest": [], "replicate": []}
    monkeypatch.setattr(snapshot_file_ingest, "delay", lambda file_id: queued["ingest"].append(file_id))
    monkeypatch.setattr(snapshot_replicate_task, "delay", lambda snapshot_id: queued["replicate"].append(snapshot_id))

    def run(model, files: dict[str, bytes], name: str = "src") -> Snapshot:
        make_tree(staging_dir / name, files)
        job = services.snapshot_ingest_start(model=model, source=str(staging_dir / name))
        for file_id in queued["ingest"]:
            services.snapshot_file_ingest(file_id=file_id)
        queued["ingest"].clear()
        for snapshot_id in queued["replicate"]:
            snapshot_replicate(snapshot_id=snapshot_id, agent="worker:test")
        queued["replicate"].clear()
        return Snapshot.objects.get(pk=job.snapshot_id)

    return run


FILES = {"config.json": b'{"model_type": "held"}', "weights/model.safetensors": random_bytes(12 * MIB, seed=28)}


@pytest.fixture
def held(locked, preserve):
    model = AIModelFactory(provider=ProviderFactory(slug="lab"), name="held-model", file_access="public")
    snapshot = preserve(model, FILES)
    assert snapshot.state == Snapshot.State.SEALED
    return model, snapshot


def s3_replica(data: bytes) -> Replica:
    return Replica.objects.select_related("blob", "location").get(
        blob__sha256=hashlib.sha256(data).hexdigest(), location__name="s3main")


def head(client, replica: Replica) -> dict:
    return client.head_object(Bucket=client.bucket, Key=f"archive/{replica.key}", VersionId=replica.version_id)


def test_ingested_copies_record_their_version_and_retention(held, locked):
    for path, data in FILES.items():  # one single PUT, one multipart upload
        replica = s3_replica(data)
        assert replica.version_id and replica.retain_until is not None
        assert timedelta(days=9) < replica.retain_until - timezone.now() <= timedelta(days=10)
        stored = head(locked, replica)
        assert stored["ObjectLockMode"] == "COMPLIANCE"
        assert abs((stored["ObjectLockRetainUntilDate"] - replica.retain_until).total_seconds()) < 1
        ingestion = PreservationEvent.objects.get(event_type=EventType.INGESTION, snapshot_file__path=path)
        assert ingestion.detail["version_id"] == replica.version_id
        assert ingestion.detail["retain_until"] == replica.retain_until.isoformat()
        vault = Replica.objects.get(blob=replica.blob, location__name="vault")
        assert vault.version_id == "" and vault.retain_until is None  # a filesystem copy: no storage lock


def test_an_overwrite_is_never_served_and_the_audit_names_the_stray_version(held, locked, curator, settings):
    model, snapshot = held
    data = FILES["config.json"]
    replica = s3_replica(data)
    stray = locked.put_object(Bucket=locked.bucket, Key=f"archive/{replica.key}", Body=b'{"model_type": "tampered"}')
    assert stray["VersionId"] != replica.version_id
    # the audit reads Coda's version: the copy is intact, and the event names the stray version
    assert replica_check(replica, agent="worker:test") == "ok"
    event = PreservationEvent.objects.filter(event_type=EventType.FIXITY, location=replica.location,
                                             blob=replica.blob).latest("pk")
    assert event.outcome == "success" and event.detail["stray_version"] == stray["VersionId"]
    assert event.detail["version_id"] == replica.version_id
    report = audit_replicas(replicas_of_model(model), agent="worker:test")
    assert report.ok == report.checked and report.stray_versions == [{
        "sha256": replica.blob.sha256, "location": "s3main", "key": replica.key, "version_id": replica.version_id,
        "stray_version": stray["VersionId"]}]
    # delivery: the presigned URL names Coda's version and gives Coda's bytes
    url = f"/api/v1/models/{model.repo_id}/snapshots/{snapshot.revision}/files/config.json"
    redirect = api_client(curator).get(url)
    assert redirect.status_code == 302 and f"versionId={replica.version_id}" in redirect["Location"]
    with urllib.request.urlopen(redirect["Location"]) as answer:
        assert answer.read() == data
    # streamed, whole and ranged
    settings.CODA_DOWNLOAD_S3_REDIRECT = False
    assert b"".join(api_client(curator).get(url).streaming_content) == data
    ranged = api_client(curator).get(url, HTTP_RANGE="bytes=2-11")
    assert ranged.status_code == 206 and b"".join(ranged.streaming_content) == data[2:12]
    assert b"".join(iter_blob(replica)) == data


def test_retention_extension_moves_the_date_on_storage(held, locked, settings):
    big = s3_replica(FILES["weights/model.safetensors"])
    before = big.retain_until
    settings.CODA_RETENTION_DAYS = 60
    settings.CODA_RETENTION_EXTEND_DAYS = 20  # every copy (10 days left) is now within the window
    report = retention.retention_extend(agent="worker:test")
    assert report["extended"] == 2 and report["unreachable"] == 0
    big.refresh_from_db()
    assert timedelta(days=59) < big.retain_until - timezone.now() <= timedelta(days=60) and big.retain_until > before
    stored = head(locked, big)
    assert abs((stored["ObjectLockRetainUntilDate"] - big.retain_until).total_seconds()) < 1
    event = PreservationEvent.objects.filter(event_type=EventType.POLICY, blob=big.blob).latest("pk")
    assert event.detail["retention"] == "extended" and event.detail["from"] == before.isoformat()
    assert event.detail["until"] == big.retain_until.isoformat() and event.detail["version_id"] == big.version_id
    # nothing is near its end any more: a second run extends nothing
    assert retention.retention_extend(agent="worker:test")["extended"] == 0
    settings.CODA_S3_OBJECT_LOCK = "off"
    assert retention.retention_extend(agent="worker:test")["skipped"] == "CODA_S3_OBJECT_LOCK=off"


def test_withdrawal_deleting_retained_bytes_is_a_409_naming_the_date(held, locked, curator):
    model, snapshot = held
    until = max(Replica.objects.filter(location__name="s3main").values_list("retain_until", flat=True))
    # Coda's record lost the dates: storage's own answer still refuses
    Replica.objects.update(retain_until=None)
    url = f"/api/v1/models/{model.repo_id}/snapshots/{snapshot.revision}/withdraw/"
    answer = api_client(curator).post(url, {"reason": "Licence withdrawn", "bytes": "delete"}, format="json")
    assert answer.status_code == 409, answer.content
    body = answer.json()
    assert body["code"] == "retention" and f"{until:%Y-%m-%d}" in body["detail"]
    refused = PreservationEvent.objects.get(event_type=EventType.DELETION, snapshot=snapshot)
    assert refused.outcome == "failure" and refused.detail["refused"] == "retention"
    assert refused.detail["retain_until"] == until.isoformat()
    snapshot.refresh_from_db()
    assert snapshot.withdrawn_at is None and snapshot.bytes_deleted_at is None  # nothing changed
    assert Replica.objects.filter(blob__snapshot_files__snapshot=snapshot).count() == 4
    for data in FILES.values():
        replica = s3_replica(data)
        body = locked.get_object(Bucket=locked.bucket, Key=f"archive/{replica.key}", VersionId=replica.version_id)
        assert body["Body"].read() == data
    # keeping the bytes is allowed
    kept = api_client(curator).post(url, {"reason": "Licence withdrawn", "bytes": "keep"}, format="json")
    assert kept.status_code == 200


def test_legal_hold_through_the_curators_api(held, locked, curator, researcher, client):
    model, snapshot = held
    url = f"/api/v1/models/{model.repo_id}/snapshots/{snapshot.revision}/legal-hold/"
    assert api_client(researcher).post(url, {"reason": "x"}, format="json").status_code == 403
    missing = api_client(curator).post(url, {}, format="json")
    assert missing.status_code == 400 and "reason" in missing.content.decode()
    put = api_client(curator).post(url, {"reason": "Litigation hold 2026-17"}, format="json")
    assert put.status_code == 200 and put.json()["legal_hold"] is True
    assert {c["legal_hold"] for c in put.json()["copies"]} == {True} and len(put.json()["copies"]) == 4
    for data in FILES.values():
        replica = s3_replica(data)
        hold = locked.get_object_legal_hold(Bucket=locked.bucket, Key=f"archive/{replica.key}",
                                            VersionId=replica.version_id)
        assert hold["LegalHold"]["Status"] == "ON"
    events = PreservationEvent.objects.filter(event_type=EventType.POLICY, detail__legal_hold="set")
    assert events.count() == 5  # the snapshot's, and one per copy (two enforced by storage)
    assert events.filter(detail__enforced_by="storage").count() == 2
    # the model page tells curators, and nobody else
    client.force_login(curator)
    page = client.get(f"/models/{model.repo_id}/").content.decode()
    assert 'id="retention"' in page and "Litigation hold 2026-17" in page
    client.force_login(researcher)
    assert 'id="retention"' not in client.get(f"/models/{model.repo_id}/").content.decode()
    # a withdrawal deleting held bytes is refused and names the hold
    refused = api_client(curator).post(f"/api/v1/models/{model.repo_id}/withdraw/",
                                       {"reason": "Legal request", "bytes": "delete"}, format="json")
    assert refused.status_code == 409 and "legal hold" in refused.json()["detail"]
    released = api_client(curator).delete(url)
    assert released.status_code == 200 and released.json()["legal_hold"] is False
    replica = s3_replica(FILES["config.json"])
    hold = locked.get_object_legal_hold(Bucket=locked.bucket, Key=f"archive/{replica.key}", VersionId=replica.version_id)
    assert hold["LegalHold"]["Status"] == "OFF" and not Replica.objects.filter(legal_hold=True).exists()


def test_a_legal_hold_without_object_lock_is_kept_by_coda(s3_location, preserve, curator, settings):
    checked_forget()
    settings.CODA_S3_OBJECT_LOCK = "off"  # an ordinary bucket: storage cannot hold, Coda refuses the deletion itself
    model = AIModelFactory(file_access="public")
    snapshot = preserve(model, {"a.json": b"{}"})
    url = f"/api/v1/models/{model.repo_id}/snapshots/{snapshot.revision}/legal-hold/"
    assert api_client(curator).post(url, {"reason": "Court order"}, format="json").status_code == 200
    event = PreservationEvent.objects.get(event_type=EventType.POLICY, blob__isnull=False)
    assert event.detail["enforced_by"] == "coda"
    refused = api_client(curator).post(f"/api/v1/models/{model.repo_id}/snapshots/{snapshot.revision}/withdraw/",
                                       {"reason": "Error", "bytes": "delete"}, format="json")
    assert refused.status_code == 409 and "legal hold" in refused.json()["detail"]
    assert Replica.objects.filter(legal_hold=True).count() == 1


def test_the_health_page_lists_copies_whose_retention_ends_soon(held, curator, client):
    client.force_login(curator)
    page = client.get("/preservation/").content.decode()
    assert 'id="retention-expiring"' in page and "2 copies whose retention ends within 30 days" in page


def test_a_repair_on_a_locked_bucket_records_the_new_version(held, locked):
    replica = s3_replica(FILES["config.json"])
    old = replica.version_id
    Replica.objects.filter(pk=replica.pk).update(state=Replica.State.CORRUPT)  # as an audit that found it bad
    assert replica_repair(replica, agent="worker:test")
    replica.refresh_from_db()
    assert replica.version_id and replica.version_id != old and replica.state == Replica.State.VERIFIED
    assert head(locked, replica)["ObjectLockMode"] == "COMPLIANCE"
    versions = locked.list_object_versions(Bucket=locked.bucket, Prefix=f"archive/{replica.key}")["Versions"]
    assert {v["VersionId"] for v in versions} == {old, replica.version_id}  # the old one is still held by storage
    repair = PreservationEvent.objects.filter(event_type=EventType.REPAIR, outcome="success").latest("pk")
    assert repair.detail["version_id"] == replica.version_id


def test_filesystem_blobs_are_read_only_and_repaired_by_rename(held, tmp_path):
    model, _ = held
    data = FILES["weights/model.safetensors"]
    digest = hashlib.sha256(data).hexdigest()
    path = tmp_path / "vault" / "blobs" / "sha256" / digest[:2] / digest[2:4] / digest
    assert path.stat().st_mode & 0o777 == 0o444
    inode = path.stat().st_ino
    os.chmod(path, 0o644)  # bit rot, or a hand that made it writable
    with open(path, "r+b") as handle:
        handle.seek(4 * MIB)
        handle.write(b"\xff")
    os.chmod(path, 0o444)
    report = audit_replicas(replicas_of_model(model), agent="worker:test")
    assert report.corrupt == 1 and report.repaired == 1
    assert path.stat().st_ino != inode and path.stat().st_mode & 0o777 == 0o444  # a new file renamed over it
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    repair = PreservationEvent.objects.filter(event_type=EventType.REPAIR, outcome="success").latest("pk")
    assert "repaired by rename over the corrupt copy" in repair.detail["verification"]
    assert list(path.parent.glob(".tmp-*")) == [] and list((tmp_path / "vault" / "blobs").glob(".tmp-*")) == []


def test_an_equal_filesystem_blob_is_never_replaced(locked, preserve, tmp_path):
    files = {"a.bin": random_bytes(300_000, seed=1)}
    preserve(AIModelFactory(file_access="public"), files, name="one")
    digest = hashlib.sha256(files["a.bin"]).hexdigest()
    path = tmp_path / "vault" / "blobs" / "sha256" / digest[:2] / digest[2:4] / digest
    Replica.objects.filter(location__name="vault").delete()  # Coda forgot the copy; the file is still there
    inode = path.stat().st_ino
    backend = backend_for(StorageLocation.objects.get(name="vault"))
    result = backend.store(HashingReader(io.BytesIO(files["a.bin"])), size=300_000, is_stored=lambda sha256: None)
    assert result.verification == "already stored here (hashed equal)" and path.stat().st_ino == inode


def test_sealed_copies_are_versioned_and_read_back(locked, preserve, settings):
    settings.CODA_ENCRYPT_AT_REST = "gated"
    model = AIModelFactory(file_access="gated")
    files = {"weights.bin": random_bytes(2 * MIB, seed=5)}
    preserve(model, files)
    replica = s3_replica(files["weights.bin"])
    assert replica.is_sealed and replica.version_id and replica.retain_until is not None
    assert head(locked, replica)["ObjectLockMode"] == "COMPLIANCE"
    locked.put_object(Bucket=locked.bucket, Key=f"archive/{replica.key}", Body=b"not age")
    assert b"".join(iter_blob(replica)) == files["weights.bin"]  # Coda's version, decrypted
    assert replica_check(replica, agent="worker:test") == "ok"
