"""Sealed holdings end to end (issue 27 parts 1, 3, 4), on real moto S3 and KMS over HTTP: a gated model's files
are stored as age ciphertext in the one streamed pass (the manifest's SHA-256 stays the plaintext's), Debian's
`age` opens the object fetched straight from S3 with a custodian's identity, the raw object holds none of the
plaintext, a keyless audit checks the ciphertext and repair heals a flipped byte from the other copy, deliveries
decrypt on the fly (never a presigned URL to ciphertext; ranges read their own chunks), and a KMS that does not
answer fails the ingest before a byte is written, with a retry completing once it is back."""

import hashlib
import shutil
import subprocess

import boto3
import pytest
from django.core.management import call_command

from archive.ingest import services
from archive.models import EventType, IngestJob, PreservationEvent, Replica, Snapshot
from archive.sealing import age, keys
from tests.archive.assurance.test_assurance import preserve, sync_tasks, two_locations  # noqa: F401 (fixtures)
from tests.archive.helpers import independent_revision, make_tree, random_bytes
from tests.factories import AIModelFactory, CuratorFactory, ProviderFactory, api_client

MIB = 1024 * 1024
PATTERN = b"CODA-PLAINTEXT-MARKER-" * 100
AGE = shutil.which("age")


@pytest.fixture
def sealing(settings, s3_server, tmp_path):
    """Encryption at rest for gated and restricted files, the archive key wrapped by moto's KMS, one custodian."""
    kms = boto3.client("kms", endpoint_url=s3_server.url, region_name="us-east-1")
    settings.CODA_ENCRYPT_AT_REST = "gated"
    settings.CODA_KMS_KEY_ID = kms.create_key(Description="coda sealing")["KeyMetadata"]["KeyId"]
    settings.CODA_KMS_ENDPOINT_URL = s3_server.url
    settings.CODA_S3_CONNECT_TIMEOUT = settings.CODA_S3_READ_TIMEOUT = 2
    custodian = age.Identity.generate()
    settings.CODA_ESCROW_RECIPIENTS = [str(custodian.recipient)]
    return custodian


@pytest.fixture
def sealed(transactional_db, sealing, two_locations, sync_tasks, staging_dir):  # noqa: F811
    keys.sealing_key_init()
    model = AIModelFactory(provider=ProviderFactory(slug="lab"), name="secret-weights", file_access="gated")
    files = {"config.json": b'{"a": 1}', "model.safetensors": PATTERN + random_bytes(6 * MIB, seed=3) + PATTERN}
    make_tree(staging_dir / "w", files)
    return model, preserve(model, staging_dir / "w", sync_tasks), files


def _object(client, replica) -> bytes:
    return client.get_object(Bucket=client.bucket, Key="archive/" + replica.key)["Body"].read()


@pytest.mark.skipif(AGE is None, reason="Debian's age tool is missing (.ci/run installs it)")
def test_stored_sealed_and_opened_by_age_alone(sealed, sealing, two_locations, tmp_path):  # noqa: F811
    model, snapshot, files = sealed
    assert snapshot.state == Snapshot.State.SEALED and snapshot.revision == independent_revision(files)
    (tmp_path / "custodian.txt").write_text(f"{sealing}\n")
    for path, data in files.items():
        digest = hashlib.sha256(data).hexdigest()
        replica = Replica.objects.get(blob__sha256=digest, location__name="s3main")
        assert replica.is_sealed and replica.blob.size == len(data)
        raw = _object(two_locations, replica)
        assert PATTERN[:40] not in raw and data[:64] not in raw
        assert hashlib.sha256(raw).hexdigest() == replica.ciphertext_sha256 and len(raw) == replica.ciphertext_size
        (tmp_path / "object.age").write_bytes(raw)
        opened = subprocess.run([AGE, "-d", "-i", tmp_path / "custodian.txt", tmp_path / "object.age"],
                                capture_output=True, timeout=120)
        assert opened.returncode == 0 and hashlib.sha256(opened.stdout).hexdigest() == digest
        archive_identity = keys.identity_load(replica.sealed_with)
        (tmp_path / "archive.txt").write_text(f"{archive_identity}\n")
        opened = subprocess.run([AGE, "-d", "-i", tmp_path / "archive.txt", tmp_path / "object.age"],
                                capture_output=True, timeout=120)
        assert opened.stdout == data
        (tmp_path / "stranger.txt").write_text(f"{age.Identity.generate()}\n")
        assert subprocess.run([AGE, "-d", "-i", tmp_path / "stranger.txt", tmp_path / "object.age"],
                              capture_output=True, timeout=60).returncode != 0
        # The replica at the other location holds the same ciphertext, copied without the key.
        vault = Replica.objects.get(blob__sha256=digest, location__name="vault")
        assert vault.is_sealed and vault.ciphertext_sha256 == replica.ciphertext_sha256
        ingestion = PreservationEvent.objects.get(event_type=EventType.INGESTION, snapshot_file__path=path)
        assert ingestion.detail["sealed"]["format"] == "age-encryption.org/v1"
        assert ingestion.detail["sealed"]["recipients"] == 2


def test_public_files_stay_plaintext(transactional_db, sealing, two_locations, sync_tasks, staging_dir):  # noqa: F811
    keys.sealing_key_init()
    model = AIModelFactory(provider=ProviderFactory(slug="lab"), name="open", file_access="public")
    make_tree(staging_dir / "o", {"a.bin": PATTERN})
    preserve(model, staging_dir / "o", sync_tasks)
    replica = Replica.objects.get(location__name="s3main")
    assert not replica.is_sealed and _object(two_locations, replica) == PATTERN


def test_keyless_audit_flags_a_flipped_ciphertext_byte_and_repair_heals(sealed, two_locations, settings):  # noqa: F811
    settings.CODA_KMS_ENDPOINT_URL = "http://127.0.0.1:9"  # the auditor holds no key: nothing may need one
    model, snapshot, files = sealed
    digest = hashlib.sha256(files["model.safetensors"]).hexdigest()
    replica = Replica.objects.get(blob__sha256=digest, location__name="s3main")
    good = _object(two_locations, replica)
    evil = bytearray(good)
    evil[len(evil) // 2] ^= 0x01
    two_locations.put_object(Bucket=two_locations.bucket, Key="archive/" + replica.key, Body=bytes(evil))
    call_command("audit", model.repo_id)
    assert _object(two_locations, replica) == good
    replica.refresh_from_db()
    assert replica.state == Replica.State.VERIFIED
    found = PreservationEvent.objects.filter(event_type=EventType.FIXITY, outcome="failure", blob__sha256=digest).get()
    assert found.detail["audit"] == "ciphertext (no key)" and found.detail["expected"] == replica.ciphertext_sha256
    assert PreservationEvent.objects.filter(event_type=EventType.REPAIR, outcome="success", blob__sha256=digest).exists()


def test_downloads_decrypt_on_the_fly_with_ranges(sealed):
    model, snapshot, files = sealed
    data = files["model.safetensors"]
    client = api_client(CuratorFactory())
    url = f"/api/v1/models/{model.repo_id}/snapshots/{snapshot.revision}/files/model.safetensors"
    response = client.get(url)
    assert response.status_code == 200  # streamed: never a presigned URL to ciphertext
    assert b"".join(response.streaming_content) == data
    for first, last in [(0, 9), (70_000, 200_000), (len(data) - 5, len(data) - 1)]:
        ranged = client.get(url, HTTP_RANGE=f"bytes={first}-{last}")
        assert ranged.status_code == 206 and b"".join(ranged.streaming_content) == data[first:last + 1]
    access = PreservationEvent.objects.filter(event_type=EventType.ACCESS, snapshot_file__path="model.safetensors")
    assert access.count() == 4 and all(e.detail["decrypted"]["why"] == "delivery" for e in access)


def test_key_service_down_fails_the_ingest_before_a_byte_is_written(transactional_db, sealing, s3_server,  # noqa: F811
                                                                      two_locations, sync_tasks, staging_dir):
    keys.sealing_key_init()
    model = AIModelFactory(provider=ProviderFactory(slug="lab"), name="later", file_access="restricted")
    make_tree(staging_dir / "l", {"w.bin": PATTERN})
    job = services.snapshot_ingest_start(model=model, source=str(staging_dir / "l"))
    from archive.tasks import snapshot_file_ingest

    s3_server.freeze()
    try:
        for file_id in sync_tasks["ingest"]:
            snapshot_file_ingest.run(file_id)
    finally:
        s3_server.thaw()
    sync_tasks["ingest"].clear()
    job.refresh_from_db()
    assert job.state == IngestJob.State.FAILED
    assert "encryption key service is unavailable" in job.snapshot.files.get().error
    assert two_locations.list_objects_v2(Bucket=two_locations.bucket).get("KeyCount", 0) == 0
    retried = preserve(model, staging_dir / "l", sync_tasks)
    assert retried.state == Snapshot.State.SEALED and retried.pk == job.snapshot_id
    assert Replica.objects.get(location__name="s3main").is_sealed


def test_deep_audit_decrypts_checks_the_plaintext_and_heals(sealed, two_locations):  # noqa: F811
    from archive.assurance.deep_audit import deep_audit_due, replicas_deep_due

    model, snapshot, files = sealed
    assert replicas_deep_due().count() == 4  # two files, two sealed copies each
    report = deep_audit_due(agent="worker:test")
    assert report["checked"] == 4 and report["ok"] == 4 and not replicas_deep_due().exists()
    event = PreservationEvent.objects.filter(event_type=EventType.FIXITY, detail__audit="deep (decrypted)").first()
    assert event.outcome == "success" and event.detail["decrypted"]["why"] == "deep audit"
    # A flipped byte: age's chunk authentication refuses it; the copy is repaired from the other location.
    digest = hashlib.sha256(files["model.safetensors"]).hexdigest()
    replica = Replica.objects.get(blob__sha256=digest, location__name="s3main")
    good = _object(two_locations, replica)
    evil = bytearray(good)
    evil[-100] ^= 0x80
    two_locations.put_object(Bucket=two_locations.bucket, Key="archive/" + replica.key, Body=bytes(evil))
    Replica.objects.filter(pk=replica.pk).update(deep_verified_at=None)
    report = deep_audit_due(agent="worker:test")
    assert report == {"checked": 1, "ok": 0, "corrupt": 1, "missing": 0, "unavailable": 0, "repaired": 1}
    assert _object(two_locations, replica) == good
    failure = PreservationEvent.objects.get(event_type=EventType.FIXITY, outcome="failure", blob__sha256=digest)
    assert "corrupt or was altered" in failure.detail["error"]


def test_a_worker_without_key_access_audits_but_never_decrypts(sealed, settings):
    settings.CODA_KEY_ACCESS = False
    model, snapshot, files = sealed
    call_command("audit", model.repo_id)
    assert not PreservationEvent.objects.filter(event_type=EventType.FIXITY, outcome="failure").exists()
    assert Replica.objects.filter(state=Replica.State.VERIFIED).count() == 4
    url = f"/api/v1/models/{model.repo_id}/snapshots/{snapshot.revision}/files/model.safetensors"
    response = api_client(CuratorFactory()).get(url)
    assert response.status_code == 503 and response.json()["code"] == "key_unavailable"
    with pytest.raises(Exception, match="CODA_KEY_ACCESS"):
        keys.identity_load(Replica.objects.filter(sealed_with__isnull=False).first().sealed_with)


@pytest.mark.skipif(AGE is None, reason="Debian's age tool is missing (.ci/run installs it)")
def test_a_more_restrictive_access_reseals_every_plaintext_copy(transactional_db, sealing, two_locations,  # noqa: F811
                                                                  sync_tasks, staging_dir, tmp_path):
    from archive.sealing.reseal import reseal_pending
    from archive.snapshots import snapshot_access_set

    keys.sealing_key_init()
    model = AIModelFactory(provider=ProviderFactory(slug="lab"), name="was-open", file_access="public")
    data = PATTERN + random_bytes(2 * MIB, seed=5)
    make_tree(staging_dir / "p", {"w.bin": data})
    snapshot = preserve(model, staging_dir / "p", sync_tasks)
    plain = {r.location.name: r.key for r in Replica.objects.all()}
    assert len(plain) == 2 and not Replica.objects.filter(sealed_with__isnull=False).exists()
    assert reseal_pending(agent="worker:test") == {"pending": 0, "resealed": 0, "failed": 0}

    snapshot_access_set(snapshot=snapshot, file_access="restricted", changed_by=CuratorFactory())
    assert reseal_pending(agent="worker:test") == {"pending": 2, "resealed": 2, "failed": 0}
    s3 = Replica.objects.get(location__name="s3main")
    assert s3.is_sealed and s3.key != plain["s3main"]
    raw = _object(two_locations, s3)
    assert PATTERN[:40] not in raw and hashlib.sha256(raw).hexdigest() == s3.ciphertext_sha256
    listed = {o["Key"] for o in two_locations.list_objects_v2(Bucket=two_locations.bucket)["Contents"]}
    assert "archive/" + plain["s3main"] not in listed  # the plaintext object is gone
    (tmp_path / "c.txt").write_text(f"{sealing}\n")
    (tmp_path / "o.age").write_bytes(raw)
    opened = subprocess.run([AGE, "-d", "-i", tmp_path / "c.txt", tmp_path / "o.age"], capture_output=True, timeout=60)
    assert opened.stdout == data
    kinds = sorted((e.event_type, e.outcome) for e in PreservationEvent.objects.filter(
        event_type__in=[EventType.ENCRYPTION, EventType.DELETION]))
    assert kinds == [(EventType.DELETION, "success")] * 2 + [(EventType.ENCRYPTION, "success")] * 2
    call_command("audit", model.repo_id)
    assert Replica.objects.filter(state=Replica.State.VERIFIED, sealed_with__isnull=False).count() == 2
    response = api_client(CuratorFactory(username="c2")).get(
        f"/api/v1/models/{model.repo_id}/snapshots/{snapshot.revision}/files/w.bin")
    assert response.status_code == 200 and b"".join(response.streaming_content) == data


def test_hub_resolve_streams_sealed_files_decrypted(sealed, settings):
    settings.CODA_HF_S3_REDIRECT = True  # plaintext S3 copies would redirect; sealed ones never do
    model, snapshot, files = sealed
    data = files["model.safetensors"]
    client = api_client(CuratorFactory())
    url = f"/hf/{model.repo_id}/resolve/{snapshot.revision}/model.safetensors"
    response = client.get(url)
    assert response.status_code == 200 and "Location" not in response
    assert b"".join(response.streaming_content) == data
    assert response["X-Linked-Etag"].strip('"') == hashlib.sha256(data).hexdigest()
    ranged = client.get(url, HTTP_RANGE="bytes=65530-131080")
    assert ranged.status_code == 206 and b"".join(ranged.streaming_content) == data[65530:131081]


@pytest.mark.parametrize("location", ["s3main", "vault"])
def test_rebuild_from_one_location_restores_sealed_copies(sealed, location):
    from archive.models import Blob, SnapshotFile
    from catalogue.models import AIModel

    model, snapshot, files = sealed
    revision = snapshot.revision
    PreservationEvent.objects.all()._raw_delete(PreservationEvent.objects.db)
    for manager in (Replica.objects, SnapshotFile.objects, Blob.objects):
        manager.all().delete()
    Snapshot.objects.all().delete()
    AIModel.objects.all().delete()
    call_command("rebuild_catalogue", "--from-location", location)
    rebuilt = Snapshot.objects.get()
    assert rebuilt.revision == revision and {f.path for f in rebuilt.files.all()} == set(files)
    replicas = list(Replica.objects.all())
    assert len(replicas) == 2 and all(r.is_sealed for r in replicas)
    call_command("audit", rebuilt.model.repo_id)
    assert Replica.objects.filter(state=Replica.State.VERIFIED).count() == 2
    assert not PreservationEvent.objects.filter(event_type=EventType.FIXITY, outcome="failure").exists()


@pytest.mark.parametrize("location", ["s3main", "vault"])
def test_rebuild_restores_the_archive_keys_when_the_database_lost_them(sealed, location):
    """The key rows went with the database: each location holds the archive key's public record
    (keys/sealing/<key_id>.json, the KMS-wrapped identity and no secret in the clear); the rebuild recreates the
    row (retired) and the rebuilt sealed copies open with the archive key through the KMS again."""
    from archive.delivery import downloads
    from archive.models import Blob, SealingKey, SnapshotFile
    from archive.storage.locations import backend_for
    from catalogue.models import AIModel

    model, snapshot, files = sealed
    original = SealingKey.objects.get()
    record = backend_for(Replica.objects.filter(location__name=location).first().location).open(
        keys.key_record_key(original.key_id)).read()
    assert b"AGE-SECRET-KEY" not in record and original.wrapped_identity.encode() in record
    PreservationEvent.objects.all()._raw_delete(PreservationEvent.objects.db)
    for manager in (Replica.objects, SnapshotFile.objects, Blob.objects):
        manager.all().delete()
    Snapshot.objects.all().delete()
    AIModel.objects.all().delete()
    SealingKey.objects.all().delete()
    call_command("rebuild_catalogue", "--from-location", location)
    restored = SealingKey.objects.get()
    assert (restored.key_id, restored.recipient, restored.wrapped_identity) == (
        original.key_id, original.recipient, original.wrapped_identity)
    assert restored.retired_at is not None  # a new identity is made for new objects
    replica = Replica.objects.select_related("blob", "location", "sealed_with").get(
        blob__sha256=hashlib.sha256(files["model.safetensors"]).hexdigest())
    assert replica.sealed_with == restored
    assert b"".join(downloads.iter_blob(replica)) == files["model.safetensors"]
