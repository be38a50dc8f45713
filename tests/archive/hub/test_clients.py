"""The official clients, unchanged, against a live Coda: huggingface_hub 2.x (this environment) with
transformers 5, and huggingface_hub 0.36 with transformers 4 (the locked project tests/clients/hub-legacy, synced
by `make test` into var/test-venvs/hub-legacy). Each client runs in its own process with HF_ENDPOINT pointing at
live_server/hf, a temporary HF_HOME and telemetry off."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from knox.models import AuthToken

from archive.models import EventType, PreservationEvent
from catalogue.models import AccessRequest
from tests.archive.synthetic_model import build_and_preserve, sha256
from tests.factories import AIModelFactory, CuratorFactory, UserFactory

SCRIPT = Path(__file__).with_name("hf_client.py")
ROOT = Path(__file__).resolve().parents[3]
# A separate locked project (tests/clients/hub-legacy: pyproject.toml + uv.lock) that `make test` syncs into
# this virtualenv; the test only uses it, it never installs anything.
LEGACY_VENV = Path(os.environ.get("CODA_TEST_HF_LEGACY_VENV", ROOT / "var" / "test-venvs" / "hub-legacy"))
LEGACY_SYNC = "make test-clients  (uv sync --frozen --project tests/clients/hub-legacy into var/test-venvs/hub-legacy)"
LEGACY_CHECK = "import huggingface_hub, transformers; assert huggingface_hub.__version__.startswith('0.36.')"


@pytest.fixture(scope="session")
def legacy_python() -> Path:
    """The interpreter of the locked huggingface_hub 0.36 + transformers 4 environment (skipped when absent,
    a failure under CODA_REQUIRE_SERVICES=1)."""
    python = LEGACY_VENV / "bin" / "python"
    if not python.exists():
        pytest.skip(f"legacy Hub client environment missing at {LEGACY_VENV}; create it with: {LEGACY_SYNC}")
    check = subprocess.run([python, "-c", LEGACY_CHECK], capture_output=True, text=True)
    if check.returncode != 0:
        pytest.skip(f"{LEGACY_VENV} does not hold huggingface_hub 0.36 + transformers 4 ({check.stderr.strip()[-300:]});"
                    f" re-create it with: {LEGACY_SYNC}")
    return python


@pytest.fixture(params=["current", "legacy"])
def client_python(request):
    """(label, interpreter): huggingface_hub 2.x + transformers 5 here; 0.36 + transformers 4 in the venv."""
    if request.param == "current":
        return "current", Path(sys.executable)
    return "legacy", request.getfixturevalue("legacy_python")


@pytest.fixture
def hf(live_server, tmp_path, client_python):
    """Run operations with the real client; returns a list of {'ok': …} / {'error': class name, 'mro': […]}."""
    label, python = client_python
    home = tmp_path / "hf-home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    env.update(
        HF_ENDPOINT=f"{live_server.url}/hf",
        HF_HOME=str(home),
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_DISABLE_PROGRESS_BARS="1",
        HF_HUB_ETAG_TIMEOUT="30",
        TRANSFORMERS_VERBOSITY="error",
        NO_PROXY="*",
    )

    def run(*operations, home_dir=None):
        done = subprocess.run(
            [str(python), str(SCRIPT), json.dumps(list(operations))],
            env=env | ({"HF_HOME": str(home_dir)} if home_dir else {}), capture_output=True, text=True, timeout=300,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    run.label = label
    run.home = home
    run.version = run({"op": "version"})[0]["ok"]["huggingface_hub"]
    assert run.version.startswith("0.36.") if label == "legacy" else run.version.startswith("2.")
    return run


def ok(result):
    assert "ok" in result, result
    return result["ok"]


def token_for(user) -> str:
    return AuthToken.objects.create(user=user, expiry=None)[1]


@pytest.fixture
def public_repo(transactional_db, staging_dir, monkeypatch):
    model = AIModelFactory(name="tiny-gpt", file_access="public")
    snapshot, files = build_and_preserve(model=model, staging_dir=staging_dir, monkeypatch=monkeypatch)
    return model, snapshot, files


def test_downloads_are_byte_identical(hf, public_repo, settings, tmp_path):
    model, snapshot, files = public_repo
    settings.CODA_HF_TREE_PAGE_SIZE = 2  # 2.x lists the tree: make it follow Link rel="next" several times
    expected = {path: sha256(data) for path, data in files.items()}
    big = "shards/part-00001.bin"
    partial = tmp_path / "partial.bin"
    partial.write_bytes(files[big][:1_500_000])
    repo = model.repo_id
    results = hf(
        {"op": "snapshot_download", "repo": repo},
        {"op": "snapshot_download", "repo": repo, "revision": snapshot.revision, "local_dir": str(tmp_path / "local")},
        {"op": "hf_hub_download", "repo": repo, "filename": "docs/nested/deeper/README.md"},
        {"op": "hf_hub_download", "repo": repo, "filename": "model.safetensors", "revision": snapshot.revision},
        {"op": "file_metadata", "repo": repo, "filename": big},
        {"op": "model_info", "repo": repo},
        {"op": "list_repo_tree", "repo": repo, "recursive": True},
        {"op": "list_repo_tree", "repo": repo, "path": "docs"},
        {"op": "list_repo_files", "repo": repo},
    )
    cached = ok(results[0])
    assert cached["files"] == expected
    assert Path(cached["path"]).name == snapshot.revision  # the cache is keyed by Coda's revision id
    assert ok(results[1])["files"] == expected  # local_dir mode (its .cache/ metadata left out)
    assert ok(results[2])["sha256"] == expected["docs/nested/deeper/README.md"]
    downloaded = ok(results[3])
    assert downloaded["sha256"] == expected["model.safetensors"]
    assert downloaded["blob"] == expected["model.safetensors"]  # cache blob named after the SHA-256 ETag
    meta = ok(results[4])
    assert meta["commit_hash"] == snapshot.revision
    assert meta["etag"] == expected[big] and meta["size"] == len(files[big])
    info = ok(results[5])
    assert info["sha"] == snapshot.revision and info["siblings"] == sorted(files)
    tree = ok(results[6])
    assert {e["path"]: e["lfs_sha256"] for e in tree if e["type"] == "RepoFile"} == expected
    assert {e["path"] for e in tree if e["type"] == "RepoFolder"} == {"docs", "docs/nested", "docs/nested/deeper", "shards"}
    assert ok(results[7]) == [{"path": "docs/nested", "type": "RepoFolder", "lfs_sha256": None}]
    assert ok(results[8]) == sorted(files)

    # A cut-short download resumes with a Range request and ends byte-identical.
    resumed = hf({"op": "resume", "repo": repo, "filename": big, "etag": expected[big], "partial": str(partial),
                  "size": len(files[big])},
                 home_dir=tmp_path / "fresh-home")
    assert ok(resumed[0])["sha256"] == expected[big]
    ranges = [e.detail.get("range") for e in PreservationEvent.objects.filter(event_type=EventType.ACCESS, detail__path=big)]
    assert [1_500_000, len(files[big]) - 1] in ranges, ranges

    if hf.label == "current":  # verify_repo_checksums is new in huggingface_hub 1.x: the cache against Coda's digests
        report = ok(hf({"op": "verify_repo_checksums", "repo": repo})[0])
        assert report == {"checked": len(files), "mismatches": [], "missing": [], "extra": []}


def test_transformers_loads_config_and_tokenizer(hf, public_repo):
    model, _, _ = public_repo
    config, tokenizer = hf(
        {"op": "auto_config", "repo": model.repo_id},
        {"op": "auto_tokenizer", "repo": model.repo_id, "text": "hello coda archive unknownword"},
    )
    assert ok(config) == {"model_type": "gpt2", "vocab_size": 7, "n_embd": 4, "coda_marker": "synthetic"}
    assert ok(tokenizer)["ids"] == [2, 4, 5, 0]


def test_client_errors(hf, public_repo):
    model, snapshot, _ = public_repo
    missing_file, missing_repo, bad_revision, missing_sha = hf(
        {"op": "hf_hub_download", "repo": model.repo_id, "filename": "nope.bin"},
        {"op": "hf_hub_download", "repo": "nobody/nothing", "filename": "config.json"},
        {"op": "hf_hub_download", "repo": model.repo_id, "filename": "config.json", "revision": "v2"},
        {"op": "snapshot_download", "repo": model.repo_id, "revision": "f" * 40},
    )
    assert "EntryNotFoundError" in missing_file["mro"]
    assert missing_repo["error"] == "RepositoryNotFoundError"
    assert bad_revision["error"] == "RevisionNotFoundError"
    assert "RevisionNotFoundError" in missing_sha["mro"] or "LocalEntryNotFoundError" in missing_sha["mro"]


def test_gated_model(hf, transactional_db, staging_dir, monkeypatch):
    model = AIModelFactory(name="gated-gpt", file_access="gated")
    snapshot, files = build_and_preserve(model=model, staging_dir=staging_dir, monkeypatch=monkeypatch)
    granted, other = UserFactory(username="granted"), UserFactory(username="other")
    AccessRequest.objects.create(
        user=granted, model=model, purpose="replication study", affiliation="lab", accepted_terms=True, status="approved"
    )
    repo = model.repo_id
    anonymous, without_grant, bad_token, with_grant, snapshot_with_grant = hf(
        {"op": "hf_hub_download", "repo": repo, "filename": "config.json"},
        {"op": "hf_hub_download", "repo": repo, "filename": "config.json", "token": token_for(other)},
        {"op": "hf_hub_download", "repo": repo, "filename": "config.json", "token": "not-a-coda-token"},
        {"op": "hf_hub_download", "repo": repo, "filename": "model.safetensors", "token": token_for(granted)},
        {"op": "snapshot_download", "repo": repo, "token": token_for(granted)},
    )
    assert anonymous["error"] == without_grant["error"] == "GatedRepoError"
    assert bad_token["error"] == "HfHubHTTPError" and "401" in bad_token["message"]  # a bad token, not "no such repo"
    assert ok(with_grant)["sha256"] == sha256(files["model.safetensors"])
    assert ok(snapshot_with_grant)["files"] == {p: sha256(d) for p, d in files.items()}
    accessed = PreservationEvent.objects.filter(event_type=EventType.ACCESS, agent="user:granted")
    # Each file fetched once (the cache reuses model.safetensors by its ETag; the client makes empty files itself).
    assert sorted(e.detail["path"] for e in accessed) == sorted(set(files) - {"empty.txt"})


def test_s3_redirects(hf, s3_location, transactional_db, staging_dir, monkeypatch, settings):
    """S3 copies: the clients read metadata from the 302 and fetch presigned URLs from the S3 server. Plaintext
    copies (a sealed copy is never redirected: test_sealed_model_downloads_byte_identical)."""
    settings.CODA_HF_S3_REDIRECT = True
    settings.CODA_ENCRYPT_AT_REST = "none"  # tests plaintext copies of a gated model: those are redirected
    model = AIModelFactory(name="s3-gpt", file_access="gated")
    snapshot, files = build_and_preserve(model=model, staging_dir=staging_dir, monkeypatch=monkeypatch)
    researcher = UserFactory(username="s3reader")
    AccessRequest.objects.create(user=researcher, model=model, purpose="p", affiliation="a", accepted_terms=True,
                                 status="approved")
    token = token_for(researcher)
    meta, download, config = hf(
        {"op": "file_metadata", "repo": model.repo_id, "filename": "model.safetensors", "token": token},
        {"op": "snapshot_download", "repo": model.repo_id, "token": token},
        {"op": "auto_config", "repo": model.repo_id, "token": token},
    )
    assert ok(meta)["location"].startswith(s3_location.meta.endpoint_url)
    assert ok(meta)["etag"] == sha256(files["model.safetensors"]) and ok(meta)["commit_hash"] == snapshot.revision
    assert ok(download)["files"] == {p: sha256(d) for p, d in files.items()}
    assert ok(config)["coda_marker"] == "synthetic"
    assert PreservationEvent.objects.filter(event_type=EventType.ACCESS, detail__via="hf-redirect").exists()


def test_sealed_model_downloads_byte_identical(hf, s3_location, transactional_db, staging_dir, monkeypatch, settings,
                                                tmp_path):
    """Sealed holdings (issue 27): stored as age ciphertext on S3, the real clients still get the exact bytes,
    decrypted on the fly (never a redirect to ciphertext), through snapshot_download and a ranged read."""
    from archive.models import Replica
    from archive.sealing import keys

    settings.CODA_HF_S3_REDIRECT = True
    settings.CODA_ENCRYPT_AT_REST = "gated"
    settings.CODA_SEALING_KEY_DIR = str(tmp_path / "keys")
    keys.sealing_key_init()
    model = AIModelFactory(name="sealed-gpt", file_access="gated")
    snapshot, files = build_and_preserve(model=model, staging_dir=staging_dir, monkeypatch=monkeypatch)
    assert Replica.objects.filter(blob__snapshot_files__snapshot=snapshot).exclude(sealed_with=None).exists()
    token = token_for(CuratorFactory(username="sealed-reader"))
    meta, download = hf(
        {"op": "file_metadata", "repo": model.repo_id, "filename": "model.safetensors", "token": token},
        {"op": "snapshot_download", "repo": model.repo_id, "token": token},
    )
    assert ok(meta)["etag"] == sha256(files["model.safetensors"]) and not ok(meta)["location"].startswith(
        s3_location.meta.endpoint_url)
    assert ok(download)["files"] == {p: sha256(d) for p, d in files.items()}
