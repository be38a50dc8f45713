"""BagIt export (API and command) validated with the Library of Congress `bagit` package, corruption
detected, access rules and events, streaming from S3, and the export → import round trip."""

import hashlib
import io
import os
import tarfile
import tracemalloc
from datetime import date, timedelta
from pathlib import Path

import bagit
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from archive.bags import export as bags
from archive.ingest import services
from archive.models import EventType, PreservationEvent, Snapshot
from catalogue.models import AccessRequest, Retirement
from tests.archive.helpers import independent_revision, make_tree, random_bytes
from tests.archive.synthetic_model import build_and_preserve, sha256, synthetic_files
from tests.factories import AIModelFactory


def extract(tar_bytes: bytes, into: Path) -> Path:
    with tarfile.open(fileobj=io.BytesIO(tar_bytes), mode="r:") as tar:
        names = tar.getnames()
        tar.extractall(into, filter="data")
    (top,) = {name.split("/")[0] for name in names}
    return into / top


def download(client, model, revision) -> tuple:
    response = client.get(f"/api/v1/models/{model.repo_id}/snapshots/{revision}/bag.tar")
    if response.status_code != 200:
        return response, None
    return response, b"".join(response.streaming_content)


@pytest.fixture
def retired_repo(transactional_db, staging_dir, monkeypatch):
    successor = AIModelFactory(name="next-gen")
    model = AIModelFactory(
        name="tiny-gpt", file_access="public", deprecated_on=date(2025, 1, 10),
        retires_on=timezone.localdate() - timedelta(days=1), replacement=successor,
    )
    Retirement.objects.create(
        model=model, reason_category="superseded", reason="Replaced by\nnext-gen.", access_after_retirement="researchers_only",
        preservation_statement="Weights kept for the lifetime of the organisation.", preserved_for_lifetime=True,
    )
    files = synthetic_files() | {"odd name %41 ü.txt": b"percent and umlaut\n"}
    snapshot, files = build_and_preserve(model=model, staging_dir=staging_dir, monkeypatch=monkeypatch, files=files)
    return model, snapshot, files


def test_api_bag_is_valid_bagit(retired_repo, anon_client, tmp_path):
    model, snapshot, files = retired_repo
    response, body = download(anon_client, model, "main")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-tar"
    assert int(response["Content-Length"]) == len(body)  # exact size announced before streaming
    assert response["Content-Disposition"] == f'attachment; filename="{model.provider.slug}_tiny-gpt_{snapshot.revision}.tar"'
    root = extract(body, tmp_path)
    assert {p.relative_to(root / "data").as_posix(): sha256(p.read_bytes()) for p in (root / "data").rglob("*") if p.is_file()} == {
        path: sha256(data) for path, data in files.items()
    }
    manifest = (root / "manifest-sha256.txt").read_text()
    assert f"{sha256(files['model.safetensors'])}  data/model.safetensors\n" in manifest
    assert "  data/odd name %2541 ü.txt\n" in manifest  # RFC 8493 §2.1.3: '%' percent-encoded
    info = (root / "bag-info.txt").read_text()
    for line in (
        f"External-Identifier: {model.repo_id}@{snapshot.revision}",
        f"Bagging-Date: {timezone.localdate().isoformat()}",
        f"Payload-Oxum: {sum(map(len, files.values()))}.{len(files)}",
        "Coda-Lifecycle-Status: retired",
        "Coda-Retirement-Reason-Category: superseded",
        "Coda-Retirement-Reason: Replaced by next-gen.",
        f"Coda-Replacement: {model.replacement.repo_id}",
        "Coda-Preserved-For-Lifetime: yes",
    ):
        assert line + "\n" in info
    assert "Source-Organization: " in info and "Bag-Size: " in info
    assert (root / "bagit.txt").read_text() == "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"

    # The Library of Congress validator, minus the one file it cannot name (bagit-python does not decode %25).
    (root / "data" / "odd name %41 ü.txt").unlink()
    rewrite_manifest_without(root, "odd name")
    bag = bagit.Bag(str(root))
    bag.validate()  # structure, oxum (rewritten), every payload and tag digest
    assert bag.info["Coda-Revision"] == snapshot.revision

    events = PreservationEvent.objects.filter(event_type=EventType.ACCESS, snapshot=snapshot, detail__via="bag")
    assert events.count() == len(files)


def rewrite_manifest_without(root: Path, fragment: str) -> None:
    """Drop manifest lines containing `fragment`; fix Payload-Oxum and the tag manifest to match."""
    lines = [l for l in (root / "manifest-sha256.txt").read_text().splitlines(keepends=True) if fragment not in l]
    (root / "manifest-sha256.txt").write_text("".join(lines))
    payload = [p for p in (root / "data").rglob("*") if p.is_file()]
    info = (root / "bag-info.txt").read_text().splitlines(keepends=True)
    info = [f"Payload-Oxum: {sum(p.stat().st_size for p in payload)}.{len(payload)}\n" if l.startswith("Payload-Oxum") else l
            for l in info]
    (root / "bag-info.txt").write_text("".join(info))
    tags = ["bagit.txt", "bag-info.txt", "manifest-sha256.txt"]
    (root / "tagmanifest-sha256.txt").write_text(
        "".join(f"{hashlib.sha256((root / t).read_bytes()).hexdigest()}  {t}\n" for t in tags)
    )


@pytest.fixture
def plain_repo(transactional_db, staging_dir, monkeypatch):
    model = AIModelFactory(name="plain", file_access="public")
    snapshot, files = build_and_preserve(model=model, staging_dir=staging_dir, monkeypatch=monkeypatch)
    return model, snapshot, files


def test_corrupted_file_fails_validation(plain_repo, anon_client, tmp_path):
    model, snapshot, _ = plain_repo
    _, body = download(anon_client, model, snapshot.revision)
    root = extract(body, tmp_path)
    bagit.Bag(str(root)).validate()
    target = root / "data" / "model.safetensors"
    data = bytearray(target.read_bytes())
    data[100] ^= 0x01  # one bit, same size: only the digest can tell
    target.write_bytes(bytes(data))
    with pytest.raises(bagit.BagValidationError) as error:
        bagit.Bag(str(root)).validate()
    assert "model.safetensors" in str(error.value)


def test_access_rules_as_downloads(transactional_db, staging_dir, monkeypatch, anon_client, researcher_client):
    model = AIModelFactory(name="gated", file_access="gated")
    snapshot, _ = build_and_preserve(model=model, staging_dir=staging_dir, monkeypatch=monkeypatch)
    response, _ = download(anon_client, model, "main")
    assert response.status_code in (401, 403)
    response, _ = download(researcher_client, model, "main")
    assert response.status_code == 403 and "request access" in response.json()["detail"]
    AccessRequest.objects.create(user=researcher_client.user, model=model, purpose="p", affiliation="a",
                                 accepted_terms=True, status="approved")
    response, body = download(researcher_client, model, "main")
    assert response.status_code == 200 and len(body) == int(response["Content-Length"])
    assert PreservationEvent.objects.filter(event_type=EventType.ACCESS, agent="user:researcher").count() == len(
        snapshot.files.all()
    )
    missing, _ = download(anon_client, model, "0" * 40)
    assert missing.status_code == 404


def test_export_from_s3_streams_and_checks(s3_location, transactional_db, staging_dir, monkeypatch, anon_client, tmp_path):
    model = AIModelFactory(name="s3-bag", file_access="public")
    snapshot, files = build_and_preserve(model=model, staging_dir=staging_dir, monkeypatch=monkeypatch)
    response, body = download(anon_client, model, "main")
    assert len(body) == int(response["Content-Length"])
    bagit.Bag(str(extract(body, tmp_path))).validate()


def test_stored_copy_that_changed_aborts_the_bag(plain_repo, tmp_path, settings):
    """A stored copy that no longer matches its recorded digest must not produce a complete bag."""
    _, snapshot, _ = plain_repo
    plan = bags.bag_plan(snapshot)
    member = next(m for m in plan.members if m.row.path == "config.json")
    stored = Path(settings.CODA_STORAGE_LOCATIONS[0]["root"]) / member.replica.key
    data = bytearray(stored.read_bytes())
    data[0] ^= 0x20
    os.chmod(stored, 0o644)  # stored blobs are read-only (0444)
    stored.write_bytes(bytes(data))
    with pytest.raises(Exception) as error:
        b"".join(bags.bag_stream(plan))
    assert "config.json" in str(error.value) and "does not match" in str(error.value)


def test_stream_memory_is_bounded(transactional_db, staging_dir, monkeypatch, settings):
    settings.CODA_CHUNK_SIZE = 256 * 1024
    model = AIModelFactory(name="big", file_access="public")
    size = 40 * 1024 * 1024
    snapshot, _ = build_and_preserve(model=model, staging_dir=staging_dir, monkeypatch=monkeypatch,
                                     files={"weights.bin": random_bytes(size, seed=5)})
    plan = bags.bag_plan(snapshot)
    digest, total, largest = hashlib.sha256(), 0, 0
    tracemalloc.start()
    try:
        for chunk in bags.bag_stream(plan):
            digest.update(chunk)
            total += len(chunk)
            largest = max(largest, len(chunk))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == plan.tar_size
    assert largest <= settings.CODA_CHUNK_SIZE
    assert peak < 8 * 1024 * 1024, f"peak {peak} bytes while streaming a {size}-byte bag"


def test_command_round_trip_gives_the_same_revision(plain_repo, staging_dir, monkeypatch, capsys):
    from archive.tasks import snapshot_file_ingest

    model, snapshot, files = plain_repo
    out = staging_dir / "exports"
    out.mkdir()
    call_command("export_bag", model.repo_id, snapshot.revision, str(out))
    (tar_path,) = out.glob("*.tar")
    with tarfile.open(tar_path) as tar:
        tar.extractall(staging_dir / "unpacked", filter="data")
    bag_dir = staging_dir / "unpacked" / tar_path.stem
    bagit.Bag(str(bag_dir)).validate()
    assert PreservationEvent.objects.filter(event_type=EventType.ACCESS, agent="system", detail__via="bag").count() == len(files)

    mirror = AIModelFactory(name="mirror")
    monkeypatch.setattr(snapshot_file_ingest, "delay", lambda file_id: services.snapshot_file_ingest(file_id=file_id))
    call_command("import_bag", str(bag_dir), mirror.repo_id, "--wait", "--timeout", "60")
    imported = Snapshot.objects.get(model=mirror)
    assert imported.revision == snapshot.revision == independent_revision(files)
    output = capsys.readouterr().out
    assert f"sealed {mirror.repo_id} revision {snapshot.revision}" in output
    assert "revision matches the bag's Coda-Revision" in output

    with pytest.raises(CommandError, match="exists"):
        call_command("export_bag", model.repo_id, snapshot.revision, str(tar_path))


def test_import_refuses_invalid_bags(transactional_db, staging_dir, tmp_path):
    model = AIModelFactory(name="target")
    outside = tmp_path / "outside-bag"
    bagit.make_bag(str(make_dir(outside, {"a.txt": b"a"})), checksums=["sha256"])
    with pytest.raises(CommandError, match="outside the staging roots"):
        call_command("import_bag", str(outside), model.repo_id)

    bag_dir = make_dir(staging_dir / "bag", {"a.txt": b"a", "sub/b.txt": b"b"})
    bagit.make_bag(str(bag_dir), checksums=["sha256"])
    (bag_dir / "data" / "sub" / "b.txt").write_bytes(b"B")  # same size, other bytes
    with pytest.raises(CommandError, match="not a valid bag"):
        call_command("import_bag", str(bag_dir), model.repo_id)
    assert not Snapshot.objects.filter(model=model).exists()

    with pytest.raises(CommandError, match="not a valid bag"):
        call_command("import_bag", str(make_dir(staging_dir / "plain", {"x": b"x"})), model.repo_id)


def make_dir(path: Path, files: dict[str, bytes]) -> Path:
    make_tree(path, files)
    return path
