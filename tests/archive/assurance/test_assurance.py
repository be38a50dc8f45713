"""Preservation assurance: replication, fixity audits, repair, unrecoverable files, rebuild from storage,
leftovers, the event trail. Real S3 server over HTTP plus a filesystem location."""

import hashlib
import http.server
import json
import os
import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from archive.ingest import services
from archive.models import Blob, EventType, PreservationEvent, Replica, Snapshot, SnapshotFile, StorageLocation
from archive.assurance.replication import snapshot_replicate
from archive.tasks import snapshot_file_ingest
from archive.tasks import snapshot_replicate as snapshot_replicate_task
from tests.archive.helpers import independent_revision, make_tree, random_bytes
from tests.factories import AIModelFactory, ProviderFactory

MIB = 1024 * 1024


@pytest.fixture
def two_locations(s3_location, settings, tmp_path):
    settings.CODA_STORAGE_LOCATIONS = settings.CODA_STORAGE_LOCATIONS + [
        {"name": "vault", "kind": "filesystem", "root": str(tmp_path / "vault")}
    ]
    settings.CODA_PART_SIZE = 5 * MIB
    return s3_location


@pytest.fixture
def sync_tasks(monkeypatch):
    """Run ingest and replication in this process (service logic; the worker path is tested elsewhere)."""
    queued = {"ingest": [], "replicate": []}
    monkeypatch.setattr(snapshot_file_ingest, "delay", lambda file_id: queued["ingest"].append(file_id))
    monkeypatch.setattr(snapshot_replicate_task, "delay", lambda snapshot_id: queued["replicate"].append(snapshot_id))
    return queued


def preserve(model, source, queued) -> Snapshot:
    job = services.snapshot_ingest_start(model=model, source=str(source))
    for file_id in queued["ingest"]:
        services.snapshot_file_ingest(file_id=file_id)
    queued["ingest"].clear()
    for snapshot_id in queued["replicate"]:
        snapshot_replicate(snapshot_id=snapshot_id, agent="worker:test")
    queued["replicate"].clear()
    return Snapshot.objects.get(pk=job.snapshot_id)


@pytest.fixture
def preserved(transactional_db, two_locations, sync_tasks, staging_dir):
    # Public files: these tests read, overwrite and delete stored plaintext objects directly, whatever
    # CODA_ENCRYPT_AT_REST says; the same checks on sealed copies are in tests/archive/sealing.
    model = AIModelFactory(provider=ProviderFactory(slug="anthropic"), name="claude-3-opus-20240229",
                           file_access="public")
    files = {"config.json": b'{"a": 1}', "weights/model.safetensors": random_bytes(7 * MIB, seed=9)}
    make_tree(staging_dir / "opus", files)
    snapshot = preserve(model, staging_dir / "opus", sync_tasks)
    return model, snapshot, files


def s3_key(digest):
    """The object's key in the bucket, as its replica records it (large uploads keep their upload key)."""
    return "archive/" + Replica.objects.get(blob__sha256=digest, location__name="s3main").key


def test_sealed_snapshot_gets_minimum_verified_copies_everywhere(preserved, two_locations, tmp_path, anon_client):
    model, snapshot, files = preserved
    assert snapshot.state == Snapshot.State.SEALED
    for data in files.values():
        digest = hashlib.sha256(data).hexdigest()
        replicas = Replica.objects.filter(blob__sha256=digest)
        assert {r.location.name: r.state for r in replicas} == {"s3main": "verified", "vault": "verified"}
        assert (tmp_path / "vault" / "blobs" / "sha256" / digest[:2] / digest[2:4] / digest).read_bytes() == data
    assert PreservationEvent.objects.filter(event_type=EventType.REPLICATION, outcome="success").count() == 2
    # Both locations describe themselves: the manifest is next to the blobs in each.
    manifest = tmp_path / "vault" / "manifests" / "anthropic" / "claude-3-opus-20240229" / f"{snapshot.revision}.json"
    assert json.loads(manifest.read_text())["revision"] == snapshot.revision
    report = anon_client.get("/api/v1/models/anthropic/claude-3-opus-20240229/preservation/").json()
    assert report["status"] == "preserved" and report["min_copies"] == 2
    assert all(f["verified_copies"] == 2 for f in report["files"]) and report["problems"] == []
    listed = anon_client.get("/api/v1/models/?preservation=preserved").json()["results"]
    assert [m["id"] for m in listed] == ["anthropic/claude-3-opus-20240229"]


def test_single_location_warns_and_needs_one_copy(transactional_db, sync_tasks, staging_dir, anon_client):
    model = AIModelFactory(provider=ProviderFactory(slug="acme"), name="one")
    make_tree(staging_dir / "one", {"a.txt": b"a"})
    preserve(model, staging_dir / "one", sync_tasks)
    report = anon_client.get("/api/v1/models/acme/one/preservation/").json()
    assert report["min_copies"] == 1 and report["status"] == "preserved"
    assert "single copy" in report["warnings"][0]


def test_overwritten_object_is_detected_and_repaired(preserved, two_locations):
    model, snapshot, files = preserved
    data = files["weights/model.safetensors"]
    digest = hashlib.sha256(data).hexdigest()
    evil = bytearray(data)
    evil[1234] ^= 0xFF  # same size, different bytes
    two_locations.put_object(Bucket=two_locations.bucket, Key=s3_key(digest), Body=bytes(evil))
    call_command("audit", "anthropic/claude-3-opus-20240229")
    stored = two_locations.get_object(Bucket=two_locations.bucket, Key=s3_key(digest))["Body"].read()
    assert stored == data
    s3_replica = Replica.objects.get(blob__sha256=digest, location__name="s3main")
    assert s3_replica.state == Replica.State.VERIFIED
    events = list(PreservationEvent.objects.filter(blob__sha256=digest, location__name="s3main").order_by("id"))
    kinds = [(e.event_type, e.outcome) for e in events if e.event_type in (EventType.FIXITY, EventType.REPAIR)]
    assert kinds == [(EventType.FIXITY, "failure"), (EventType.REPAIR, "success"), (EventType.FIXITY, "success")]
    failure = next(e for e in events if e.event_type == EventType.FIXITY and e.outcome == "failure")
    assert failure.detail["expected"] == digest and failure.detail["found"] == hashlib.sha256(evil).hexdigest()
    repair = next(e for e in events if e.event_type == EventType.REPAIR)
    assert repair.detail["from"] == "vault"
    model.refresh_from_db()
    assert model.preservation_status == "preserved"


def test_deleted_object_is_detected_as_missing_and_restored(preserved, tmp_path):
    model, snapshot, files = preserved
    digest = hashlib.sha256(files["config.json"]).hexdigest()
    path = tmp_path / "vault" / "blobs" / "sha256" / digest[:2] / digest[2:4] / digest
    path.unlink()
    call_command("audit", "--all")
    assert path.read_bytes() == files["config.json"]
    failure = PreservationEvent.objects.get(event_type=EventType.FIXITY, outcome="failure", blob__sha256=digest)
    assert failure.detail["result"] == "missing" and failure.detail["found"] is None
    assert PreservationEvent.objects.filter(event_type=EventType.REPAIR, outcome="success", blob__sha256=digest).count() == 1


class WebhookCatcher(http.server.BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        WebhookCatcher.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_corrupting_the_only_good_copy_is_unrecoverable_and_degraded(preserved, two_locations, tmp_path, settings, anon_client):
    server = http.server.HTTPServer(("127.0.0.1", 0), WebhookCatcher)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.CODA_ALERT_WEBHOOK_URL = f"http://127.0.0.1:{server.server_port}/alerts"
    WebhookCatcher.received = []
    model, snapshot, files = preserved
    data = files["weights/model.safetensors"]
    digest = hashlib.sha256(data).hexdigest()
    bad = b"\0" * len(data)
    two_locations.put_object(Bucket=two_locations.bucket, Key=s3_key(digest), Body=bad)
    vault_copy = tmp_path / "vault" / "blobs" / "sha256" / digest[:2] / digest[2:4] / digest
    os.chmod(vault_copy, 0o644)  # stored blobs are read-only (0444); make it writable as bit rot would not need to
    vault_copy.write_bytes(bad)
    with pytest.raises(CommandError, match="no verified copy"):
        call_command("audit", "anthropic/claude-3-opus-20240229")
    server.shutdown()
    assert set(Replica.objects.filter(blob__sha256=digest).values_list("state", flat=True)) == {"corrupt"}
    assert not PreservationEvent.objects.filter(event_type=EventType.REPAIR, outcome="success").exists()
    assert PreservationEvent.objects.filter(event_type=EventType.REPAIR, outcome="failure", blob__sha256=digest).exists()
    # The bad bytes were not spread: both copies are still the corrupted ones, nothing "repaired".
    assert two_locations.get_object(Bucket=two_locations.bucket, Key=s3_key(digest))["Body"].read() == bad
    model.refresh_from_db()
    assert model.preservation_status == "degraded"
    # The completeness check sees the loss too: the checkpoint is incomplete, the shard named.
    from archive.assurance.fixity import audit_replicas, replicas_of_model

    audit = audit_replicas(replicas_of_model(model), agent="t")
    completeness = audit.completeness[f"anthropic/claude-3-opus-20240229@{snapshot.revision}"]
    assert completeness["complete"] is False and completeness["missing"] == ["weights/model.safetensors"]
    report = anon_client.get("/api/v1/models/anthropic/claude-3-opus-20240229/preservation/").json()
    assert report["status"] == "degraded"
    assert any(p["problem"].startswith("unrecoverable") for p in report["problems"])
    assert report["completeness"][snapshot.revision]["complete"] is False
    kinds = {alert["kind"] for alert in WebhookCatcher.received}
    assert "replica corrupt" in kinds and "unrecoverable" in kinds
    assert all(alert["sha256"] == digest for alert in WebhookCatcher.received)


@pytest.mark.parametrize("location", ["vault", "s3main"])
def test_rebuild_catalogue_from_storage_alone(location, preserved, settings):
    from catalogue.models import AIModel, Retirement

    model, snapshot, files = preserved
    revision = snapshot.revision
    # The S3 location keeps its multipart object at its upload key: its manifest must say where.
    keys = dict(Replica.objects.filter(location__name=location).values_list("blob__sha256", "key"))
    if location == "s3main":
        assert any(key.startswith("blobs/uploads/") for key in keys.values())
    # Lose the database: every archive and catalogue row goes.
    PreservationEvent.objects.all()._raw_delete(PreservationEvent.objects.db)
    for manager in (Replica.objects, SnapshotFile.objects, Blob.objects):
        manager.all().delete()
    Snapshot.objects.all().delete()
    AIModel.objects.all().delete()
    assert not Snapshot.objects.exists()
    call_command("rebuild_catalogue", "--from-location", location)
    rebuilt = Snapshot.objects.get()
    assert rebuilt.model.repo_id == "anthropic/claude-3-opus-20240229"
    assert rebuilt.revision == revision == independent_revision(files)
    assert {f.path: f.blob.sha256 for f in rebuilt.files.select_related("blob")} == {
        p: hashlib.sha256(d).hexdigest() for p, d in files.items()
    }
    assert set(Replica.objects.values_list("location__name", "state")) == {(location, "verified")}
    assert dict(Replica.objects.values_list("blob__sha256", "key")) == keys
    call_command("rebuild_catalogue", "--from-location", location)  # idempotent
    assert Snapshot.objects.count() == 1
    with pytest.raises(CommandError, match="No storage location"):
        call_command("rebuild_catalogue", "--from-location", "nowhere")


def test_leftover_multipart_uploads_are_aborted_and_orphans_reported(preserved, two_locations):
    from archive.assurance import leftovers

    client = two_locations
    client.create_multipart_upload(Bucket=client.bucket, Key="archive/tmp/abandoned")
    # moto reports every upload as initiated in 2010, so "too young" is an upload younger than 30 years here.
    assert leftovers.multipart_uploads_abort(older_than=timedelta(days=365 * 30), agent="t") == 0
    assert leftovers.multipart_uploads_abort(older_than=timedelta(0), agent="t") == 1
    assert not client.list_multipart_uploads(Bucket=client.bucket).get("Uploads")
    client.put_object(Bucket=client.bucket, Key="archive/blobs/sha256/00/00/" + "0" * 64, Body=b"stray")
    location = StorageLocation.objects.get(name="s3main")
    # Just written: it may belong to a replica about to be recorded, so it is not reported yet.
    assert leftovers.orphans_find(location) == []
    orphans = leftovers.orphans_find(location, older_than=timedelta(0))
    assert orphans == ["blobs/sha256/00/00/" + "0" * 64]
    # A reported key that a replica refers to by the time of deletion is kept.
    referenced = Replica.objects.filter(location=location).first()
    assert leftovers.orphans_delete(location, [referenced.key], agent="t") == 0
    assert client.head_object(Bucket=client.bucket, Key="archive/" + referenced.key)["ContentLength"] > 0
    assert leftovers.orphans_delete(location, orphans, agent="t") == 1
    assert PreservationEvent.objects.filter(event_type=EventType.DELETION, detail__orphan_key=orphans[0]).exists()
    assert leftovers.orphans_find(location, older_than=timedelta(0)) == []


def test_stale_ingest_is_requeued(transactional_db, sync_tasks, staging_dir):
    from archive.assurance import leftovers

    model = AIModelFactory()
    make_tree(staging_dir / "s", {"a.bin": b"x" * 10})
    services.snapshot_ingest_start(model=model, source=str(staging_dir / "s"))
    row = SnapshotFile.objects.get()
    sync_tasks["ingest"].clear()
    long_ago = timezone.now() - timedelta(hours=2)
    SnapshotFile.objects.filter(pk=row.pk).update(claimed_at=long_ago, heartbeat_at=long_ago)
    assert leftovers.stale_ingests_resume() == 1
    assert sync_tasks["ingest"] == [row.pk]
    assert leftovers.stale_ingests_resume() == 0  # unclaimed again until a worker picks it up


def test_due_batch_is_oldest_first_and_sized_to_the_interval(preserved, settings):
    from archive.assurance.fixity import replicas_due

    settings.CODA_FIXITY_INTERVAL_DAYS = 1
    settings.CODA_FIXITY_BATCH_PERIOD_MINUTES = 6 * 60  # 4 batches a day
    replicas = list(Replica.objects.order_by("pk"))
    for age, replica in enumerate(replicas):
        Replica.objects.filter(pk=replica.pk).update(last_verified_at=timezone.now() - timedelta(minutes=age))
    due = list(replicas_due())
    assert len(due) == 1  # ceil(4 replicas / 4 batches)
    assert due[0].pk == replicas[-1].pk  # the oldest verification
    Replica.objects.update(last_verified_at=timezone.now() - timedelta(days=2))
    assert replicas_due().count() == 4  # everything overdue is included


def test_event_trail_api(preserved, anon_client, curator_client, researcher):
    from archive.delivery import downloads as delivery

    model, snapshot, files = preserved
    row = SnapshotFile.objects.filter(snapshot=snapshot).first()
    delivery.access_record(user=researcher, snapshot_file=row, replica=None, via="test")
    url = "/api/v1/events/?model=anthropic/claude-3-opus-20240229"
    everything = curator_client.get(url + "&page_size=100").json()["results"]
    assert {e["type"] for e in everything} >= {"ingestion", "message digest calculation", "replication", "access"}
    public = anon_client.get(url + "&page_size=100").json()["results"]
    assert "access" not in {e["type"] for e in public}
    replication = curator_client.get("/api/v1/events/?type=replication&outcome=success").json()["results"]
    assert len(replication) == 2 and all(e["location"] == "vault" for e in replication)
    # Blob-level events name no model (a blob may serve several): only curators see them (issue 14).
    assert anon_client.get("/api/v1/events/?type=replication&outcome=success").json()["results"] == []
    future = (timezone.now() + timedelta(days=1)).isoformat().replace("+00:00", "Z")
    assert anon_client.get("/api/v1/events/", {"since": future}).json()["results"] == []
    assert anon_client.get("/api/v1/events/?type=bogus").status_code == 400


def test_audit_api_action_is_for_curators(preserved, anon_client, researcher_client):
    url = "/api/v1/models/anthropic/claude-3-opus-20240229/audit/"
    assert anon_client.post(url).status_code == 401
    assert researcher_client.post(url).status_code == 403


def test_events_are_append_only(preserved):
    from archive.models import AppendOnlyError

    event = PreservationEvent.objects.first()
    event.outcome = "failure"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()


def test_filesystem_orphans_are_reported_only_once_old_enough(preserved, tmp_path):
    import os
    import time

    from archive.assurance import leftovers

    location = StorageLocation.objects.get(name="vault")
    stale = tmp_path / "vault" / "blobs" / "sha256" / "11" / "11" / ("1" * 64)
    fresh = tmp_path / "vault" / "blobs" / "sha256" / "22" / "22" / ("2" * 64)
    for path in (stale, fresh):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"stray")
    two_days_ago = time.time() - 2 * 86400
    os.utime(stale, (two_days_ago, two_days_ago))
    assert leftovers.orphans_find(location) == ["blobs/sha256/11/11/" + "1" * 64]
    assert sorted(leftovers.orphans_find(location, older_than=timedelta(0))) == [
        "blobs/sha256/11/11/" + "1" * 64, "blobs/sha256/22/22/" + "2" * 64,
    ]


def test_audit_opens_the_next_copy_while_hashing_the_current_one(preserved, monkeypatch):
    from archive.assurance import fixity

    trail = []
    real_open, real_check = fixity.replica_open, fixity.replica_check

    def recording_open(replica):
        trail.append(("open", replica.pk))
        return real_open(replica)

    def recording_check(replica, **kwargs):
        result = real_check(replica, **kwargs)
        trail.append(("checked", replica.pk))
        return result

    monkeypatch.setattr(fixity, "replica_open", recording_open)
    monkeypatch.setattr(fixity, "replica_check", recording_check)
    replicas = Replica.objects.order_by("pk")
    pks = list(replicas.values_list("pk", flat=True))
    assert len(pks) >= 4  # two files at two locations
    report = fixity.audit_replicas(replicas, agent="t")
    assert report.checked == report.ok == len(pks)
    for first, second in zip(pks, pks[1:]):
        assert trail.index(("open", second)) < trail.index(("checked", first)), trail
    assert [pk for step, pk in trail if step == "open"] == pks  # each opened once, none re-read


class DroppedConnection:
    def read(self, size=-1):
        raise ConnectionResetError("connection dropped mid-read")

    def close(self):
        pass


def test_a_copy_opened_ahead_is_opened_again_when_stale_or_dropped(preserved, monkeypatch):
    from archive.assurance import fixity

    replica = Replica.objects.select_related("blob", "location").filter(location__name="s3main").first()
    # Dropped while waiting: read again from a fresh request, no warning.
    assert fixity.replica_check(replica, agent="t", opened=fixity.Opened(stream=DroppedConnection())) == "ok"
    assert not PreservationEvent.objects.filter(event_type=EventType.FIXITY, outcome="warning").exists()
    # Waited too long (a repair ran in between): dropped and opened afresh by audit_replicas.
    monkeypatch.setattr(fixity, "OPEN_AHEAD_MAX_WAIT", 0.0)
    report = fixity.audit_replicas(Replica.objects.all(), agent="t")
    assert report.ok == report.checked == Replica.objects.count()
    # A read that fails on the fresh request too is "unreachable", with a warning naming the error.
    monkeypatch.setattr(fixity, "replica_open", lambda r: fixity.Opened(stream=DroppedConnection()))
    assert fixity.replica_check(replica, agent="t", opened=fixity.Opened(stream=DroppedConnection())) == "unreachable"
    warning = PreservationEvent.objects.get(event_type=EventType.FIXITY, outcome="warning")
    assert "connection dropped mid-read" in warning.detail["error"]
    replica.refresh_from_db()
    assert replica.state == Replica.State.VERIFIED  # an interrupted read says nothing about the bytes
