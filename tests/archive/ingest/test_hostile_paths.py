"""Path traversal and symlink escapes: file downloads, the Hub resolve route, bag import and ingest sources.

Each is refused (4xx, or a non-zero exit for the CLI) without reading outside the archive or writing a row.
Symlinks out of CODA_STAGING_ROOTS through the ingest API are also covered in tests/archive/ingest/test_sources.py.
"""

import hashlib

import bagit
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from archive.models import PreservationEvent, Snapshot
from tests.archive.helpers import make_tree, preserve_now
from tests.core.test_hostile_input import assert_error, row_counts
from tests.factories import AIModelFactory, ProviderFactory, api_client

SECRET = b"root:x:0:0:secret"
FILES = {"config.json": b'{"a": 1}', "weights/model.safetensors": b"w" * 64}


@pytest.fixture
def sealed(transactional_db, staging_dir, monkeypatch, tmp_path):
    (tmp_path / "passwd").write_bytes(SECRET)
    model = AIModelFactory(provider=ProviderFactory(slug="lab"), name="open", file_access="public")
    return preserve_now(model, staging_dir, FILES, monkeypatch)


TRAVERSALS = [
    "../config.json",
    "weights/../config.json",
    "weights/../../passwd",
    "%2e%2e/%2e%2e/passwd",
    "..%2fpasswd",
    "/etc/passwd",
    "weights//model.safetensors/..",
    "./config.json",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_file_download_traversal_is_404(sealed, path, curator):
    clients = (api_client(), api_client(curator))
    counts = row_counts()
    base = f"/api/v1/models/lab/open/snapshots/{sealed.revision}/files/"
    for client in clients:
        response = client.get(base + path)
        assert_error(response, 404)
        assert SECRET not in b"".join(response) if hasattr(response, "streaming_content") else SECRET not in response.content
    assert row_counts() == counts  # no access event for a file that was not delivered


@pytest.mark.parametrize("path", TRAVERSALS)
def test_hub_resolve_traversal_is_404(sealed, path):
    counts = row_counts()
    response = api_client().get(f"/hf/lab/open/resolve/main/{path}")
    assert 400 <= response.status_code < 500 and response.status_code != 403, response.status_code
    assert response["Content-Type"].startswith("application/json")
    assert response.get("X-Error-Code") or response.json()["detail"]
    assert SECRET not in response.content
    assert row_counts() == counts


def test_download_of_a_real_file_still_works(sealed):
    response = api_client().get(f"/api/v1/models/lab/open/snapshots/{sealed.revision}/files/config.json")
    assert response.status_code == 200 and b"".join(response.streaming_content) == FILES["config.json"]


def _bag(directory, files):
    make_tree(directory, files)
    bagit.make_bag(str(directory), checksums=["sha256"])
    return directory


def test_bag_import_with_traversal_in_manifest_is_refused(transactional_db, staging_dir, tmp_path):
    model = AIModelFactory(name="target")
    (tmp_path / "passwd").write_bytes(SECRET)
    bag = _bag(staging_dir / "bag", {"a.txt": b"a"})
    manifest = bag / "manifest-sha256.txt"
    manifest.write_text(manifest.read_text() + "0" * 64 + "  data/../../../passwd\n")
    counts = row_counts()
    with pytest.raises(CommandError):
        call_command("import_bag", str(bag), model.repo_id)
    assert row_counts() == counts


def test_bag_import_with_symlink_out_of_staging_is_refused(transactional_db, staging_dir, tmp_path):
    model = AIModelFactory(name="target")
    (tmp_path / "passwd").write_bytes(SECRET)
    bag = _bag(staging_dir / "bag", {"a.txt": b"a"})
    (bag / "data" / "evil.txt").symlink_to(tmp_path / "passwd")
    manifest = bag / "manifest-sha256.txt"  # the manifest even vouches for the escaping file
    manifest.write_text(manifest.read_text() + hashlib.sha256(SECRET).hexdigest() + "  data/evil.txt\n")
    counts = row_counts()
    with pytest.raises(CommandError, match="not a valid bag|staging|leaves"):
        call_command("import_bag", str(bag), model.repo_id)
    assert row_counts() == counts
    assert not Snapshot.objects.filter(model=model).exists()


def test_bag_import_through_a_symlinked_directory_out_of_staging_is_refused(transactional_db, staging_dir, tmp_path):
    model = AIModelFactory(name="target")
    _bag(tmp_path / "outside-bag", {"a.txt": b"a"})
    (staging_dir / "link").symlink_to(tmp_path / "outside-bag")
    counts = row_counts()
    with pytest.raises(CommandError, match="outside the staging roots"):
        call_command("import_bag", str(staging_dir / "link"), model.repo_id)
    assert row_counts() == counts


@pytest.mark.parametrize("source", ["{staging}/a\x00b", "{staging}/../../etc", "{staging}/link/../../x", "", "  "])
def test_ingest_source_refused(db, curator, staging_dir, tmp_path, source):
    AIModelFactory(provider=ProviderFactory(slug="lab"), name="m")
    (staging_dir / "link").symlink_to(tmp_path)
    client = api_client(curator)
    counts = row_counts()
    response = client.post(
        "/api/v1/models/lab/m/snapshots/", {"source": source.format(staging=staging_dir)}, format="json"
    )
    assert_error(response, 400)
    assert row_counts() == counts
    assert not PreservationEvent.objects.exists()
