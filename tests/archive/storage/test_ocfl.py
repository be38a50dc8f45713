"""The OCFL 1.1 mirror: replication writes one OCFL object per sealed snapshot, checked by ocfl-py's validator
(ocfl-validate, written by others); damage is seen by that validator and by Coda's own audit; the root alone
rebuilds the catalogue's snapshots with the same revision ids."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from ocfl.layout_0003_hash_and_id_n_tuple import _id_to_path

from archive.assurance import fixity
from archive.assurance.replication import snapshot_replicate
from archive.delivery.downloads import iter_blob
from archive.ingest import services
from archive.models import Blob, PreservationEvent, Replica, Snapshot, SnapshotFile
from archive.sealing import description, policy
from archive.storage import ocfl
from archive.tasks import snapshot_file_ingest
from archive.tasks import snapshot_replicate as snapshot_replicate_task
from catalogue.models import AIModel, Retirement
from tests.archive.helpers import independent_revision, make_tree, random_bytes
from tests.factories import AIModelFactory, CuratorFactory, ProviderFactory

VALIDATE = [sys.executable, str(Path(sys.executable).parent / "ocfl-validate.py")]


def ocfl_validate(root: Path) -> tuple[bool, str]:
    """The storage root (structure and hierarchy), then each object in it (ocfl-validate reports an object
    VALID or INVALID with its errors; digests are checked, its default)."""
    objects = sorted(str(p.parent) for p in root.rglob("0=ocfl_object_1.1"))
    run = subprocess.run([*VALIDATE, str(root), *objects], capture_output=True, text=True, timeout=120)
    out = run.stdout + run.stderr
    return run.returncode == 0 and out.count("is VALID") == len(objects) > 0, out


@pytest.fixture
def mirror(settings, tmp_path):
    settings.CODA_STORAGE_LOCATIONS = settings.CODA_STORAGE_LOCATIONS + [
        {"name": "ocfl", "kind": "ocfl", "root": str(tmp_path / "ocfl")}
    ]
    return tmp_path / "ocfl"


def preserve(model, source, monkeypatch, *, curator=None) -> Snapshot:
    queued = {"ingest": [], "replicate": []}
    monkeypatch.setattr(snapshot_file_ingest, "delay", lambda file_id: queued["ingest"].append(file_id))
    monkeypatch.setattr(snapshot_replicate_task, "delay", lambda snapshot_id: queued["replicate"].append(snapshot_id))
    job = services.snapshot_ingest_start(model=model, source=str(source), requested_by=curator)
    for file_id in queued["ingest"]:
        services.snapshot_file_ingest(file_id=file_id)
    for snapshot_id in queued["replicate"]:
        snapshot_replicate(snapshot_id=snapshot_id, agent="worker:test")
    return Snapshot.objects.get(pk=job.snapshot_id)


FILES = {
    "config.json": b'{"model_type": "llama"}',
    "model.safetensors": random_bytes(300_000, seed=3),
    "copy/same-as-config.json": b'{"model_type": "llama"}',  # same bytes: one content file, two logical paths
    "tokenizer dir/tok\u00e9n.json": b'{"v": 1}',
}


@pytest.fixture
def mirrored(transactional_db, mirror, staging_dir, monkeypatch):
    curator = CuratorFactory(username="ada", email="ada@example.org")
    model = AIModelFactory(provider=ProviderFactory(slug="anthropic"), name="claude-2.1")
    Retirement.objects.create(model=model, reason_category="superseded", reason="superseded by a newer model")
    make_tree(staging_dir / "c21", FILES)
    snapshot = preserve(model, staging_dir / "c21", monkeypatch, curator=curator)
    assert snapshot.state == Snapshot.State.SEALED
    return snapshot


def test_mirror_is_a_valid_ocfl_root_with_fixity_message_and_user(mirrored, mirror):
    valid, out = ocfl_validate(mirror)
    assert valid, out
    identifier = f"coda:anthropic/claude-2.1@{mirrored.revision}"
    # The object sits where ocfl-py's own implementation of extension 0003 puts it.
    assert ocfl.object_root(identifier) == _id_to_path(identifier, "sha256", 3, 3)
    inventory = json.loads((mirror / ocfl.object_root(identifier) / "inventory.json").read_text())
    assert inventory["id"] == identifier and inventory["digestAlgorithm"] == "sha256"
    object_root = mirror / ocfl.object_root(identifier)
    assert_inventory_holds(inventory, mirrored, FILES, lambda path: (object_root / path).read_bytes())
    # The duplicate is stored once (and encryption.json is one more content file when the files are sealed).
    assert len(inventory["manifest"]) == 3 + is_sealed(mirrored)
    version = inventory["versions"]["v1"]
    assert mirrored.revision in version["message"] and "superseded by a newer model" in version["message"]
    assert version["user"] == {"name": "ada", "address": "mailto:ada@example.org"}
    # The mirror counts as a verified copy, audited like any other.
    assert set(Replica.objects.filter(location__name="ocfl").values_list("state", flat=True)) == {"verified"}
    # Replication again leaves the object alone (idempotent), and the mirror holds no Coda-only files.
    before = sorted(p.relative_to(mirror).as_posix() for p in mirror.rglob("*"))
    snapshot_replicate(snapshot_id=mirrored.pk, agent="worker:test")
    assert sorted(p.relative_to(mirror).as_posix() for p in mirror.rglob("*")) == before
    assert not (mirror / "manifests").exists() and not (mirror / "blobs").exists()


def test_flipped_byte_is_invalid_for_ocfl_validate_and_corrupt_for_coda_audit_then_repaired(mirrored, mirror):
    identifier = f"coda:anthropic/claude-2.1@{mirrored.revision}"
    stored_path = content_path(mirrored, "model.safetensors")  # `model.safetensors.age` when sealed
    target = mirror / ocfl.content_key(identifier, stored_path)
    data = bytearray(target.read_bytes())
    data[1234] ^= 0x01
    target.write_bytes(bytes(data))
    valid, out = ocfl_validate(mirror)
    assert not valid and "INVALID" in out, out
    replica = Replica.objects.get(location__name="ocfl", blob__sha256=hashlib.sha256(FILES["model.safetensors"]).hexdigest())
    assert replica.key == ocfl.content_key(identifier, stored_path)
    report = fixity.audit_replicas(Replica.objects.filter(location__name="ocfl"), agent="test")
    assert report.corrupt == 1 and report.repaired == 1
    assert PreservationEvent.objects.filter(event_type="fixity check", outcome="failure", location__name="ocfl").exists()
    valid, out = ocfl_validate(mirror)  # the repair rewrote the content file in place
    assert valid, out
    assert b"".join(iter_blob(Replica.objects.get(pk=replica.pk))) == FILES["model.safetensors"]


def test_edited_inventory_is_invalid_for_ocfl_validate_and_flagged_by_coda_audit(mirrored, mirror):
    identifier = f"coda:anthropic/claude-2.1@{mirrored.revision}"
    path = mirror / ocfl.object_root(identifier) / "inventory.json"
    path.write_text(path.read_text().replace("superseded", "replaced"))
    valid, out = ocfl_validate(mirror)
    assert not valid and "INVALID" in out, out
    assert_audit_flags_object(identifier, mirrored)


def test_rebuild_from_the_ocfl_root_alone_restores_every_snapshot(mirrored, mirror, staging_dir, monkeypatch):
    assert_rebuild_restores_every_snapshot(mirrored, FILES, staging_dir, monkeypatch)


def test_embedded_default_mirrors_to_an_ocfl_root_under_var():
    """`make run` with no environment: the primary store and an OCFL mirror beside it, under var/."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODA_", "DATABASE_URL", "CELERY_"))}
    code = ("import json, django; django.setup(); from django.conf import settings; "
            "print(json.dumps(settings.CODA_STORAGE_LOCATIONS))")
    run = subprocess.run([sys.executable, "-c", code], env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
                         capture_output=True, text=True, timeout=60, cwd=django_settings.BASE_DIR)
    locations = {entry["name"]: entry for entry in json.loads(run.stdout.strip().splitlines()[-1])}
    assert locations["local"]["primary"] and locations["ocfl"]["kind"] == "ocfl"
    assert Path(locations["ocfl"]["root"]).parent == Path(locations["local"]["root"]).parent


# --- shared with the S3-prefix mirror's tests (test_ocfl_s3.py) ---------------------------------------------------


def is_sealed(snapshot) -> bool:
    """Whether the snapshot's files are stored sealed (CODA_ENCRYPT_AT_REST and its effective file access)."""
    return policy.sealing_required(snapshot.model, snapshot)


def content_path(snapshot, path: str) -> str:
    """The logical path in the OCFL object of the snapshot's file `path`: `<path>.age` when its files are sealed."""
    return description.sealed_path(path) if is_sealed(snapshot) else path


def assert_inventory_holds(inventory: dict, snapshot, files: dict, read) -> None:
    """The inventory's v1 state names every file (as `<path>.age` when sealed, with encryption.json), each with the
    digest of the bytes the object holds (`read(content path)`: the bytes at a manifest path, under the object root):
    the plaintext's, or for a sealed file a ciphertext that is the stored copy's and opens to the plaintext; MD5
    fixity for plaintext files."""
    state = {p: d for d, paths in inventory["versions"]["v1"]["state"].items() for p in paths}

    def content(logical: str) -> bytes:
        return read(inventory["manifest"][state[logical]][0])

    plaintext = {p: hashlib.sha256(b).hexdigest() for p, b in files.items()}
    if not is_sealed(snapshot):
        assert state == plaintext
        assert set(inventory["fixity"]["md5"]) == {hashlib.md5(b).hexdigest() for b in files.values()}
        return
    assert set(state) == {description.sealed_path(p) for p in files} | {description.NAME}
    for path, data in files.items():
        stored = content(description.sealed_path(path))
        assert state[description.sealed_path(path)] == hashlib.sha256(stored).hexdigest() != plaintext[path]
        copy = Replica.objects.get(location__name="ocfl", blob__sha256=plaintext[path])
        assert copy.is_sealed and copy.stored_sha256 == state[description.sealed_path(path)]
        assert copy.stored_size == len(stored) and b"".join(iter_blob(copy)) == data
    sealed_files = description.encryption_parse(content(description.NAME))["files"]
    assert state[description.NAME] == hashlib.sha256(content(description.NAME)).hexdigest()
    assert {f["path"]: (f["sealed_path"], f["sha256"], f["ciphertext_sha256"]) for f in sealed_files} == {
        p: (description.sealed_path(p), plaintext[p], state[description.sealed_path(p)]) for p in files}
    assert not inventory.get("fixity", {}).get("md5")  # no plaintext file in the object


def assert_audit_flags_object(identifier: str, snapshot) -> None:
    """Coda's own audit flags exactly the OCFL object `identifier`, with a failed fixity event on its snapshot."""
    problems = fixity.ocfl_objects_audit(agent="test")
    assert [p["object"] for p in problems] == [identifier]
    assert PreservationEvent.objects.filter(event_type="fixity check", outcome="failure", location__name="ocfl",
                                            snapshot=snapshot).exists()


def assert_rebuild_restores_every_snapshot(mirrored, files: dict, staging_dir, monkeypatch) -> None:
    """A second (dossier-only) snapshot is mirrored; then the catalogue is emptied and rebuilt from the OCFL root
    alone: both snapshots come back with the same revision ids, their files, and verified OCFL replicas."""
    second = {"README.md": b"dossier only"}
    make_tree(staging_dir / "dossier", second)
    other = preserve(mirrored.model, staging_dir / "dossier", monkeypatch)
    revisions = {mirrored.revision, other.revision}
    assert revisions == {independent_revision(files), independent_revision(second)}
    PreservationEvent.objects.all()._raw_delete(PreservationEvent.objects.db)
    for manager in (Replica.objects, SnapshotFile.objects, Blob.objects):
        manager.all().delete()
    Snapshot.objects.all().delete()
    AIModel.objects.all().delete()
    call_command("rebuild_catalogue", "--from-location", "ocfl")
    rebuilt = {s.revision: s for s in Snapshot.objects.all()}
    assert set(rebuilt) == revisions
    assert {f.path for f in rebuilt[mirrored.revision].files.all()} == set(files)
    assert rebuilt[other.revision].model.repo_id == "anthropic/claude-2.1"
    assert set(Replica.objects.values_list("location__name", "state")) == {("ocfl", "verified")}
