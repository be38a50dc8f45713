"""Bags for other archives keep sealed files sealed (issue 27 part 5): `manage.py export_bag` writes each sealed
file as its stored age ciphertext (`data/<path>.age`, read without any key) with `encryption.json` as a tag file;
the bag validates with the bagit library, Debian's `age` opens every file with a custodian's identity to the
plaintext SHA-256 that encryption.json names, and no plaintext is in the tar. `--decrypt` gives the plaintext bag,
each decryption recorded; the REST bag for an entitled user stays plaintext."""

import hashlib
import json
import shutil
import subprocess
import tarfile

import bagit
import pytest
from django.core.management import call_command

from archive.models import EventType, PreservationEvent
from archive.sealing import description
from tests.archive.assurance.test_assurance import sync_tasks, two_locations  # noqa: F401 (fixtures)
from tests.archive.sealing.test_sealed_holdings import PATTERN, sealed, sealing  # noqa: F401 (fixtures)

AGE = shutil.which("age")


def _export(model, snapshot, out_dir, *options):
    out_dir.mkdir()
    call_command("export_bag", model.repo_id, snapshot.revision, str(out_dir), *options)
    (tar_path,) = out_dir.glob("*.tar")
    with tarfile.open(tar_path) as tar:
        tar.extractall(out_dir / "unpacked", filter="data")
    return tar_path, out_dir / "unpacked" / tar_path.stem


def _bag_events():
    return PreservationEvent.objects.filter(event_type=EventType.ACCESS, detail__via="bag")


@pytest.mark.skipif(AGE is None, reason="Debian's age tool is missing (.ci/run installs it)")
def test_export_keeps_sealed_files_sealed_and_age_opens_them(sealed, sealing, tmp_path):  # noqa: F811
    model, snapshot, files = sealed
    tar_path, bag_dir = _export(model, snapshot, tmp_path / "out")
    bagit.Bag(str(bag_dir)).validate()  # the manifests list the ciphertext the bag holds
    assert PATTERN[:40] not in tar_path.read_bytes()
    payload = {p.relative_to(bag_dir / "data").as_posix() for p in (bag_dir / "data").rglob("*") if p.is_file()}
    assert payload == {f"{path}.age" for path in files}

    document = description.encryption_parse((bag_dir / "encryption.json").read_bytes())
    assert {r["role"] for r in document["recipients"]} == {"archive", "custodian"}
    assert "encryption.json" in (bag_dir / "tagmanifest-sha256.txt").read_text()
    (tmp_path / "custodian.txt").write_text(f"{sealing}\n")
    for entry in document["files"]:
        sealed_file = bag_dir / "data" / entry["sealed_path"]
        assert hashlib.sha256(sealed_file.read_bytes()).hexdigest() == entry["ciphertext_sha256"]
        opened = subprocess.run([AGE, "-d", "-i", tmp_path / "custodian.txt", sealed_file], capture_output=True,
                                timeout=60)
        assert opened.returncode == 0, opened.stderr
        assert hashlib.sha256(opened.stdout).hexdigest() == entry["sha256"] == hashlib.sha256(files[entry["path"]]).hexdigest()
    # the RO-Crate and the manifest's plaintext digests describe the files once decrypted
    crate = json.loads((bag_dir / "ro-crate-metadata.json").read_text())
    assert {f"data/{path}" for path in files} <= {e["@id"] for e in crate["@graph"]}

    events = list(_bag_events())
    assert len(events) == len(files)
    assert all(e.detail.get("sealed") is True and "decrypted" not in e.detail for e in events)


def test_export_decrypt_writes_plaintext_and_records_each_decryption(sealed, tmp_path):  # noqa: F811
    model, snapshot, files = sealed
    _, bag_dir = _export(model, snapshot, tmp_path / "out", "--decrypt")
    bagit.Bag(str(bag_dir)).validate()
    assert not (bag_dir / "encryption.json").exists()
    for path, data in files.items():
        assert (bag_dir / "data" / path).read_bytes() == data
    events = list(_bag_events())
    assert len(events) == len(files)
    assert all(e.detail["decrypted"]["why"] == "delivery" and "sealed" not in e.detail for e in events)
