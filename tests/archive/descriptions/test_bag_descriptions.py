"""The BagIt export carries the snapshot's descriptions as tag files: the bag validates with the Library of
Congress `bagit` package (tag manifest included), its ro-crate-metadata.json (the bag as crate root, files under
data/) passes rocrate-validator, and its model.sig verifies the extracted data/ with `model_signing verify key`."""

import subprocess
import sys
from pathlib import Path

import bagit

from archive.models import SigningKey
from tests.archive.bags.test_bags import download, extract
from tests.archive.descriptions.test_rocrate import needs_validator, validate
from tests.archive.synthetic_model import build_and_preserve
from tests.factories import AIModelFactory

MODEL_SIGNING = str(Path(sys.executable).parent / "model_signing")


@needs_validator
def test_bag_has_signature_and_crate_as_tag_files(described, anon_client, tmp_path):
    model, snapshot, files = described
    response, body = download(anon_client, model, snapshot.revision)
    assert response.status_code == 200 and int(response["Content-Length"]) == len(body)
    root = extract(body, tmp_path / "bag")

    bag = bagit.Bag(str(root))
    bag.validate()  # payload and every tag file's digest
    tagged = {line.split("  ", 1)[1] for line in (root / "tagmanifest-sha256.txt").read_text().splitlines()}
    assert {"model.sig", "ro-crate-metadata.json"} <= tagged
    assert (root / "model.sig").read_text() == snapshot.signature

    passed, report = validate(root, tmp_path)
    assert passed, str(report)[:3000]
    assert '"@id": "data/config.json"' in (root / "ro-crate-metadata.json").read_text()

    (tmp_path / "key.pem").write_text(SigningKey.objects.get(pk=snapshot.signing_key_id).public_key_pem)
    done = subprocess.run([MODEL_SIGNING, "verify", "key", str(root / "data"), "--signature", str(root / "model.sig"),
                           "--public_key", str(tmp_path / "key.pem")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert {p.relative_to(root / "data").as_posix() for p in (root / "data").rglob("*") if p.is_file()} == set(files)


def test_unsigned_bag_has_no_signature_and_stays_valid(transactional_db, staging_dir, monkeypatch, anon_client, tmp_path):
    model = AIModelFactory(name="unsigned-bag", file_access="public")
    snapshot, _ = build_and_preserve(model=model, staging_dir=staging_dir, monkeypatch=monkeypatch,
                                     files={"config.json": b"{}"})
    _, body = download(anon_client, model, snapshot.revision)
    root = extract(body, tmp_path)
    bagit.Bag(str(root)).validate()
    assert not (root / "model.sig").exists() and (root / "ro-crate-metadata.json").exists()
