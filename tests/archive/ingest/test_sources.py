"""Bad input is refused with a clear 4xx / non-zero exit naming the problem; nothing is half-written."""

import os

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from archive.models import IngestJob, Snapshot, SnapshotFile
from archive.storage.s3_multipart import MAX_PARTS, part_size_for
from archive.ingest.sources import classify, validate_snapshot_path
from archive.exceptions import InvalidSnapshotPath
from tests.archive.helpers import make_tree
from tests.factories import AIModelFactory, ProviderFactory

URL = "/api/v1/models/anthropic/opus/snapshots/"


@pytest.fixture
def opus(db):
    return AIModelFactory(provider=ProviderFactory(slug="anthropic"), name="opus")


def post(client, source):
    return client.post(URL, {"source": str(source)}, format="json")


def assert_refused(response, code, *words):
    assert 400 <= response.status_code < 500, response.content
    body = response.json()
    assert body["code"] == code, body
    for word in words:
        assert word in body["detail"], body["detail"]
    assert not Snapshot.objects.exists() and not IngestJob.objects.exists() and not SnapshotFile.objects.exists()


def test_traversal_outside_staging_roots_is_refused(curator_client, opus, staging_dir, tmp_path):
    outside = tmp_path / "outside"
    make_tree(outside, {"w.bin": b"x"})
    assert_refused(post(curator_client, staging_dir / ".." / "outside"), "path_outside_staging_root", "outside the staging roots")
    assert_refused(post(curator_client, outside), "path_outside_staging_root")


def test_a_relative_path_is_refused_naming_the_roots(curator_client, opus, staging_dir, monkeypatch):
    """The server's working directory is not the caller's: a relative source is refused (issue 30 part 4), the
    message naming the staging roots and the variable that sets them."""
    make_tree(staging_dir / "rel", {"w.bin": b"x"})
    monkeypatch.chdir(staging_dir)
    response = post(curator_client, "rel")
    assert_refused(response, "invalid_source", "relative path", str(staging_dir), "CODA_STAGING_ROOTS")


def test_the_command_takes_a_relative_path_as_the_callers(opus, staging_dir, monkeypatch, capsys):
    make_tree(staging_dir / "here", {"w.bin": b"x"})
    monkeypatch.chdir(staging_dir)
    call_command("preserve", opus.repo_id, "here")
    assert SnapshotFile.objects.get().snapshot.source == str(staging_dir / "here")


def test_symlinked_directory_that_escapes_is_refused(curator_client, opus, staging_dir, tmp_path):
    make_tree(tmp_path / "secret", {"k.txt": b"secret"})
    (staging_dir / "link").symlink_to(tmp_path / "secret")
    assert_refused(post(curator_client, staging_dir / "link"), "path_outside_staging_root")


def test_symlinked_file_that_escapes_is_refused(curator_client, opus, staging_dir, tmp_path):
    make_tree(staging_dir / "m", {"ok.bin": b"ok"})
    (tmp_path / "passwd").write_text("root:x:0:0")
    (staging_dir / "m" / "evil.bin").symlink_to(tmp_path / "passwd")
    assert_refused(post(curator_client, staging_dir / "m"), "path_outside_staging_root", "leaves the source directory")


def test_empty_directory_is_refused(curator_client, opus, staging_dir):
    (staging_dir / "empty" / "sub").mkdir(parents=True)
    assert_refused(post(curator_client, staging_dir / "empty"), "empty_source", "holds no files")


def test_unreadable_file_is_refused(curator_client, opus, staging_dir):
    make_tree(staging_dir / "m", {"ok.bin": b"ok"})
    (staging_dir / "m" / "gone.bin").symlink_to(staging_dir / "m" / "missing-target")
    assert_refused(post(curator_client, staging_dir / "m"), "unreadable_file", "Cannot read")


def test_missing_directory_and_bad_s3_url_are_refused(curator_client, opus, staging_dir):
    assert_refused(post(curator_client, staging_dir / "nope"), "invalid_source", "does not exist")
    assert_refused(post(curator_client, "s3://Bad_Bucket/x"), "invalid_source", "s3://bucket/prefix")


def test_unknown_model_is_404(curator_client, db, staging_dir):
    make_tree(staging_dir / "m", {"a": b"a"})
    response = curator_client.post("/api/v1/models/nobody/nothing/snapshots/", {"source": str(staging_dir / "m")}, format="json")
    assert response.status_code == 404 and response.json()["code"] == "model_not_found"


def test_only_curators_preserve(anon_client, researcher_client, opus, staging_dir):
    make_tree(staging_dir / "m", {"a": b"a"})
    assert post(anon_client, staging_dir / "m").status_code == 401
    assert post(researcher_client, staging_dir / "m").status_code == 403


@pytest.mark.parametrize(
    "path", ["../x", "/abs", "a//b", "a/./b", "tab\tname", "cafe\u0301.txt", "a\\b", ""],
)
def test_snapshot_paths_are_validated(path):
    with pytest.raises(InvalidSnapshotPath):
        validate_snapshot_path(path)


def test_nfc_and_nested_paths_are_accepted():
    assert validate_snapshot_path("dir/caf\u00e9.txt") == "dir/caf\u00e9.txt"


def test_part_size_keeps_every_file_within_10000_parts(settings):
    settings.CODA_PART_SIZE = 16 * 1024 * 1024
    assert part_size_for(1024**3) == 16 * 1024 * 1024
    for size in (200 * 1024**3, 5 * 1024**4):
        part = part_size_for(size)
        assert -(-size // part) <= MAX_PARTS and part % (1024 * 1024) == 0


@pytest.mark.parametrize(
    "path,kind,fmt",
    [
        ("model-00001-of-00002.safetensors", "weights", "safetensors"),
        ("model.safetensors.index.json", "weights", "json"),
        ("q4.gguf", "weights", "gguf"),
        ("pytorch_model.bin", "weights", "pytorch"),
        ("tokenizer.json", "tokenizer", "json"),
        ("config.json", "config", "json"),
        ("README.md", "model_card", "text"),
        ("interviews/2025-exit.md", "interview", "text"),
    ],
)
def test_classification(path, kind, fmt):
    assert classify(path) == (kind, fmt)


# --- the CLI door ------------------------------------------------------------------------------


def test_preserve_command_waits_and_prints_revision_and_manifest(celery_worker, staging_dir, capsys):
    from tests.archive.helpers import independent_revision

    files = {"config.json": b"{}", "w/model.safetensors": os.urandom(4096)}
    make_tree(staging_dir / "cli", files)
    call_command("preserve", "acme/new-model", str(staging_dir / "cli"), "--wait", "--create", "--timeout", "60")
    out = capsys.readouterr().out
    revision = independent_revision(files)
    assert "registered acme/new-model" in out
    assert f"revision {revision}" in out
    assert "2/2 files" in out
    import hashlib

    assert f"{hashlib.sha256(files['w/model.safetensors']).hexdigest()}  w/model.safetensors" in out


def test_preserve_command_errors_exit_nonzero(db, staging_dir):
    make_tree(staging_dir / "cli", {"a": b"a"})
    with pytest.raises(CommandError, match="not in the catalogue"):
        call_command("preserve", "acme/unknown", str(staging_dir / "cli"))
    AIModelFactory(provider=ProviderFactory(slug="acme"), name="m")
    with pytest.raises(CommandError, match="outside the staging roots"):
        call_command("preserve", "acme/m", "/etc")


def test_preserve_command_reports_failure(transactional_db, staging_dir, monkeypatch):
    from archive.tasks import snapshot_file_ingest

    AIModelFactory(provider=ProviderFactory(slug="acme"), name="m")
    make_tree(staging_dir / "cli", {"a.bin": b"a"})

    def run_now(file_id):
        (staging_dir / "cli" / "a.bin").unlink()  # vanishes before the worker reads it
        snapshot_file_ingest.apply(args=[file_id])

    monkeypatch.setattr(snapshot_file_ingest, "delay", run_now)
    with pytest.raises(CommandError, match="Ingest failed: 1 file"):
        call_command("preserve", "acme/m", str(staging_dir / "cli"), "--wait", "--timeout", "30")


def test_retry_of_a_sealed_snapshot_is_refused_and_a_failed_one_resumes(curator_client, researcher_client, transactional_db, staging_dir, monkeypatch):
    from archive.ingest import services
    from archive.tasks import snapshot_file_ingest

    sent = []
    monkeypatch.setattr(snapshot_file_ingest, "delay", lambda file_id: sent.append(file_id))
    AIModelFactory(provider=ProviderFactory(slug="anthropic"), name="opus")
    make_tree(staging_dir / "r", {"a.bin": b"a", "b.bin": b"b"})
    job = IngestJob.objects.get(pk=post(curator_client, staging_dir / "r").json()["id"])
    (staging_dir / "r" / "b.bin").rename(staging_dir / "b.bak")
    for file_id in sent:
        snapshot_file_ingest.apply(args=[file_id])
    job.refresh_from_db()
    assert job.state == IngestJob.State.FAILED
    assert researcher_client.post(f"/api/v1/ingest-jobs/{job.pk}/retry/").status_code == 403
    (staging_dir / "b.bak").rename(staging_dir / "r" / "b.bin")
    sent.clear()
    response = curator_client.post(f"/api/v1/ingest-jobs/{job.pk}/retry/")
    assert response.status_code == 202, response.json()
    assert len(sent) == 1  # only the failed file is read again
    services.snapshot_file_ingest(file_id=sent[0])
    assert Snapshot.objects.get().state == Snapshot.State.SEALED
    refused = curator_client.post(f"/api/v1/ingest-jobs/{job.pk}/retry/")
    assert refused.status_code == 409 and refused.json()["code"] == "snapshot_sealed"
    assert "sealed and never changes" in refused.json()["detail"]
