"""Sealed files in the OCFL mirror (issue 27 part 5): kept sealed as `<path>.age`, described by encryption.json,
the object valid for ocfl-validate (digests checked), each sealed file opened by Debian's `age` with a
custodian's identity to the plaintext SHA-256 encryption.json names; Coda's audit accepts the object and flags
a flipped ciphertext byte; the catalogue rebuilds from the OCFL root alone with the plaintext revision."""

import hashlib
import json
import os
import shutil
import subprocess

import pytest
from django.core.management import call_command

from archive.assurance import fixity
from archive.models import Blob, PreservationEvent, Replica, Snapshot, SnapshotFile
from archive.sealing import keys
from archive.storage import ocfl
from catalogue.models import AIModel
from tests.archive.helpers import independent_revision, make_tree
from tests.archive.sealing.test_sealed_holdings import PATTERN, sealing  # noqa: F401 (fixture)
from tests.archive.storage.test_ocfl import FILES, mirror, ocfl_validate, preserve  # noqa: F401 (fixture)
from tests.factories import AIModelFactory, ProviderFactory

AGE = shutil.which("age")
SEALED_FILES = {**FILES, "model.safetensors": PATTERN + FILES["model.safetensors"]}


@pytest.fixture
def sealed_mirror(transactional_db, sealing, mirror, staging_dir, monkeypatch, settings):  # noqa: F811
    settings.CODA_SEALING_KEY_DIR = str(staging_dir.parent / "keys")
    settings.CODA_KMS_KEY_ID = ""
    keys.sealing_key_init()
    model = AIModelFactory(provider=ProviderFactory(slug="anthropic"), name="claude-2.1", file_access="gated")
    make_tree(staging_dir / "c21", SEALED_FILES)
    snapshot = preserve(model, staging_dir / "c21", monkeypatch)
    assert snapshot.state == Snapshot.State.SEALED
    return snapshot


def _object_dir(mirror, snapshot):
    return mirror / ocfl.object_root(ocfl.object_id(snapshot.model.repo_id, snapshot.revision))


@pytest.mark.skipif(AGE is None, reason="Debian's age tool is missing (.ci/run installs it)")
def test_sealed_files_stay_sealed_in_a_valid_ocfl_object(sealed_mirror, mirror, sealing, tmp_path):  # noqa: F811
    valid, out = ocfl_validate(mirror)
    assert valid, out
    root = _object_dir(mirror, sealed_mirror)
    inventory = json.loads((root / "inventory.json").read_text())
    state = {path for paths in inventory["versions"]["v1"]["state"].values() for path in paths}
    assert state == {f"{path}.age" for path in SEALED_FILES} | {"encryption.json"}
    described = json.loads((root / "v1" / "content" / "encryption.json").read_text())
    assert {r["role"] for r in described["recipients"]} == {"archive", "custodian"}
    (tmp_path / "custodian.txt").write_text(f"{sealing}\n")
    for entry in described["files"]:
        content = root / "v1" / "content" / entry["sealed_path"]
        if not content.exists():
            continue  # same bytes as another path: one content file (the inventory maps both)
        assert PATTERN[:40] not in content.read_bytes()
        opened = subprocess.run([AGE, "-d", "-i", tmp_path / "custodian.txt", content], capture_output=True, timeout=60)
        assert opened.returncode == 0 and hashlib.sha256(opened.stdout).hexdigest() == entry["sha256"]
        assert entry["sha256"] == hashlib.sha256(SEALED_FILES[entry["path"]]).hexdigest()
    assert fixity.ocfl_objects_audit(agent="test") == []


def test_a_flipped_ciphertext_byte_in_the_mirror_is_found_and_repaired(sealed_mirror, mirror):
    root = _object_dir(mirror, sealed_mirror)
    content = root / "v1" / "content" / "model.safetensors.age"
    good = content.read_bytes()
    os.chmod(content, 0o644)  # stored files are read-only (0444)
    content.write_bytes(good[:500] + bytes([good[500] ^ 1]) + good[501:])
    assert not ocfl_validate(mirror)[0]
    call_command("audit", sealed_mirror.model.repo_id)
    assert content.read_bytes() == good and ocfl_validate(mirror)[0]
    assert PreservationEvent.objects.filter(event_type="repair", outcome="success", location__name="ocfl").exists()


def test_rebuild_from_the_ocfl_root_restores_the_plaintext_record(sealed_mirror, mirror):
    revision = sealed_mirror.revision
    assert revision == independent_revision(SEALED_FILES)
    PreservationEvent.objects.all()._raw_delete(PreservationEvent.objects.db)
    for manager in (Replica.objects, SnapshotFile.objects, Blob.objects):
        manager.all().delete()
    Snapshot.objects.all().delete()
    AIModel.objects.all().delete()
    call_command("rebuild_catalogue", "--from-location", "ocfl")
    rebuilt = Snapshot.objects.get()
    assert rebuilt.revision == revision and {f.path for f in rebuilt.files.all()} == set(SEALED_FILES)
    assert all(r.is_sealed for r in Replica.objects.all()) and Replica.objects.count() == 3
