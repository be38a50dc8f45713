"""Signed snapshots in the OpenSSF model-signing format: a directory fetched with the real
huggingface_hub.snapshot_download from /hf is accepted by `model_signing verify key` (the OpenSSF tool, written by
others) with the public key served at /api/v1/signing-keys/; one changed byte or a removed file fails it."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
from io import StringIO
from pathlib import Path, PurePosixPath

import pytest
from django.core.management import call_command

from archive.descriptions import signing
from archive.models import PreservationEvent, SigningKey, Snapshot
from core.events import EventType
from tests.archive.helpers import count_source_reads, preserve_now, random_bytes
from tests.factories import AIModelFactory

HF_CLIENT = Path(__file__).parent / "hub" / "hf_client.py"
MODEL_SIGNING = str(Path(sys.executable).parent / "model_signing")
FILES = {
    "config.json": b'{"model_type": "gpt2"}',
    "model.safetensors": random_bytes(200_000, seed=5),
    "a-b/x.txt": b"sorted like pathlib",  # 'a-b' sorts after 'a' by path parts, before it as a string
    "a/x.txt": b"second",
}


@pytest.fixture
def signed(transactional_db, settings, staging_dir, monkeypatch):
    signing.key_generate(Path(settings.CODA_SIGNING_KEY_FILE))
    model = AIModelFactory(name="tiny-signed", file_access="public")
    reads = count_source_reads(monkeypatch)
    snapshot = preserve_now(model, staging_dir, FILES, monkeypatch)
    assert reads == {p: len(b) for p, b in FILES.items()}  # signing read no byte again
    return model, snapshot


def verify(directory: Path, signature: Path, public_key: Path) -> subprocess.CompletedProcess:
    return subprocess.run([MODEL_SIGNING, "verify", "key", str(directory), "--signature", str(signature),
                           "--public_key", str(public_key)], capture_output=True, text=True, timeout=120)


def test_model_signing_verifies_a_hub_download(signed, live_server, anon_client, tmp_path):
    model, snapshot = signed
    keys = anon_client.get("/api/v1/signing-keys/").json()
    assert [k["algorithm"] for k in keys] == ["ecdsa-p256-sha256"] and keys[0]["retired_at"] is None
    detail = anon_client.get(f"/api/v1/models/{model.repo_id}/snapshots/{snapshot.revision}/").json()
    assert detail["signing_key_id"] == keys[0]["key_id"]
    response = anon_client.get(f"/api/v1/models/{model.repo_id}/snapshots/{snapshot.revision}/model.sig")
    assert response.status_code == 200
    bundle = json.loads(response.content)
    assert bundle["verificationMaterial"]["publicKey"]["hint"] == keys[0]["key_id"]
    (tmp_path / "model.sig").write_bytes(response.content)
    (tmp_path / "key.pem").write_text(keys[0]["public_key_pem"])

    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    env.update(HF_ENDPOINT=f"{live_server.url}/hf", HF_HOME=str(tmp_path / "hf-home"), HF_HUB_DISABLE_TELEMETRY="1",
               HF_HUB_DISABLE_PROGRESS_BARS="1", NO_PROXY="*")
    local = tmp_path / "download"
    op = [{"op": "snapshot_download", "repo": model.repo_id, "revision": snapshot.revision, "local_dir": str(local)}]
    done = subprocess.run([sys.executable, str(HF_CLIENT), json.dumps(op)], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (local / ".cache").exists()  # the Hub client's own metadata, which the signature tells verifiers to skip

    ok = verify(local, tmp_path / "model.sig", tmp_path / "key.pem")
    assert ok.returncode == 0 and "succeeded" in (ok.stdout + ok.stderr).lower(), ok.stdout + ok.stderr

    changed = tmp_path / "changed"
    shutil.copytree(local, changed)
    data = bytearray((changed / "model.safetensors").read_bytes())
    data[100] ^= 0x20
    (changed / "model.safetensors").write_bytes(bytes(data))
    bad = verify(changed, tmp_path / "model.sig", tmp_path / "key.pem")
    assert bad.returncode != 0, bad.stdout

    removed = tmp_path / "removed"
    shutil.copytree(local, removed)
    (removed / "a" / "x.txt").unlink()
    bad = verify(removed, tmp_path / "model.sig", tmp_path / "key.pem")
    assert bad.returncode != 0, bad.stdout


def test_rotated_key_keeps_old_signatures_verifiable(signed, settings, staging_dir, monkeypatch, anon_client):
    model, first = signed
    Path(settings.CODA_SIGNING_KEY_FILE).unlink()
    signing.key_generate(Path(settings.CODA_SIGNING_KEY_FILE))
    second = preserve_now(model, staging_dir, {"README.md": b"new"}, monkeypatch, name="second")
    first.refresh_from_db()
    assert first.signing_key != second.signing_key
    keys = anon_client.get("/api/v1/signing-keys/").json()
    assert [k["key_id"] for k in keys] == [first.signing_key.key_id, second.signing_key.key_id]
    assert keys[0]["retired_at"] is not None and keys[1]["retired_at"] is None
    assert SigningKey.objects.count() == 2


def test_unsigned_when_no_key_and_restricted_signature_is_refused(transactional_db, staging_dir, monkeypatch,
                                                                  anon_client):
    model = AIModelFactory(name="unsigned", file_access="public")
    snapshot = preserve_now(model, staging_dir, {"config.json": b"{}"}, monkeypatch)
    assert snapshot.signature == "" and snapshot.signing_key is None
    url = f"/api/v1/models/{model.repo_id}/snapshots/{snapshot.revision}/model.sig"
    assert anon_client.get(url).status_code == 404
    model.file_access = "restricted"
    model.save()
    assert anon_client.get(url).status_code == 403


HUB_FILES = {
    ".gitattributes": b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n",
    ".gitignore": b"__pycache__/\n",
    ".github/workflows/ci.yml": b"on: push\n",
    "config.json": b'{"model_type": "bert"}',
    "model.safetensors": random_bytes(50_000, seed=7),
    "1_Pooling/config.json": b'{"pooling_mode_mean_tokens": true}',
    "sub/.gitattributes": b"not at the top: the tool hashes it, so the signature covers it\n",
}


def materialise(directory: Path, files: dict[str, bytes]) -> Path:
    for path, data in files.items():
        (directory / path).parent.mkdir(parents=True, exist_ok=True)
        (directory / path).write_bytes(data)
    return directory


@pytest.fixture
def hub_shaped(transactional_db, settings, staging_dir, monkeypatch, tmp_path):
    """A sealed snapshot holding a Hub repository's git files, its signature and public key written out."""
    signing.key_generate(Path(settings.CODA_SIGNING_KEY_FILE))
    model = AIModelFactory(name="all-minilm-shaped", file_access="public")
    snapshot = preserve_now(model, staging_dir, HUB_FILES, monkeypatch)
    (tmp_path / "model.sig").write_text(snapshot.signature)
    (tmp_path / "key.pub").write_text(snapshot.signing_key.public_key_pem)
    return model, snapshot, tmp_path


def hub_download(live_server, model, snapshot, tmp: Path) -> Path:
    """The snapshot fetched with the real huggingface_hub.snapshot_download from Coda's /hf, as a user would."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    env.update(HF_ENDPOINT=f"{live_server.url}/hf", HF_HOME=str(tmp / "hf-home"), HF_HUB_DISABLE_TELEMETRY="1",
               HF_HUB_DISABLE_PROGRESS_BARS="1", NO_PROXY="*")
    local = tmp / "download"
    op = [{"op": "snapshot_download", "repo": model.repo_id, "revision": snapshot.revision, "local_dir": str(local)}]
    done = subprocess.run([sys.executable, str(HF_CLIENT), json.dumps(op)], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return local


def test_signature_of_a_snapshot_with_git_files_verifies_with_the_default_invocation(hub_shaped, live_server):
    model, snapshot, tmp = hub_shaped
    assert sorted(f.path for f in snapshot.files.all()) == sorted(HUB_FILES)  # the archive keeps every file
    names = [r["name"] for r in signing.statement_of(snapshot.signature)["predicate"]["resources"]]
    assert names == ["1_Pooling/config.json", "config.json", "model.safetensors", "sub/.gitattributes"]
    model_dir = hub_download(live_server, model, snapshot, tmp)
    for path, data in HUB_FILES.items():  # the download holds the git files too, as a Hub repository does
        assert (model_dir / path).read_bytes() == data, path

    ok = verify(model_dir, tmp / "model.sig", tmp / "key.pub")  # no flag: what the tool's documentation shows
    assert ok.returncode == 0 and "succeeded" in (ok.stdout + ok.stderr).lower(), ok.stdout + ok.stderr
    both = subprocess.run([MODEL_SIGNING, "verify", "key", str(model_dir), "--signature", str(tmp / "model.sig"),
                           "--public_key", str(tmp / "key.pub"), "--no-ignore-git-paths"],
                          capture_output=True, text=True, timeout=120)
    assert both.returncode == 0, both.stdout + both.stderr  # the signature names the git paths it leaves out

    # What the signature covers still fails on one changed byte, a nested .gitattributes included.
    (model_dir / "sub" / ".gitattributes").write_bytes(b"changed\n")
    bad = verify(model_dir, tmp / "model.sig", tmp / "key.pub")
    assert bad.returncode != 0, bad.stdout


def old_style_signature(snapshot) -> str:
    """A bundle as Coda signed before: every file a resource, git paths included, only model.sig and .cache ignored."""
    files = sorted(((f.path, f.blob.sha256) for f in snapshot.files.select_related("blob")),
                   key=lambda f: PurePosixPath(f[0]).parts)
    doc = signing.statement(name=snapshot.model.name, files=[])
    doc["predicate"]["serialization"]["ignore_paths"] = ["model.sig", ".cache"]
    doc["predicate"]["resources"] = [{"name": p, "algorithm": "sha256", "digest": d} for p, d in files]
    doc["subject"][0]["digest"]["sha256"] = hashlib.sha256(b"".join(bytes.fromhex(d) for _, d in files)).hexdigest()
    bundle = signing.bundle_build(private_key=signing.private_key_load(), statement_doc=doc)
    return json.dumps(bundle, indent=2) + "\n"


def test_resign_snapshots_replaces_an_old_signature_and_keeps_it_in_an_event(hub_shaped, anon_client):
    model, snapshot, tmp = hub_shaped
    old = old_style_signature(snapshot)
    Snapshot.objects.filter(pk=snapshot.pk).update(signature=old)
    (tmp / "old.sig").write_text(old)
    model_dir = materialise(tmp / "model", HUB_FILES)
    refused = verify(model_dir, tmp / "old.sig", tmp / "key.pub")  # the issue, reproduced with the real tool
    assert refused.returncode != 0 and ".gitattributes" in refused.stdout + refused.stderr

    out = StringIO()
    call_command("resign_snapshots", stdout=out)
    assert "re-signed 1 snapshot(s); 0 already current" in out.getvalue()
    snapshot.refresh_from_db()
    assert snapshot.signature != old
    served = anon_client.get(f"/api/v1/models/{model.repo_id}/snapshots/{snapshot.revision}/model.sig")
    assert served.content.decode() == snapshot.signature
    (tmp / "new.sig").write_bytes(served.content)
    ok = verify(model_dir, tmp / "new.sig", tmp / "key.pub")
    assert ok.returncode == 0, ok.stdout + ok.stderr

    event = PreservationEvent.objects.get(event_type=EventType.SIGNATURE, snapshot=snapshot)
    assert event.detail["previous_signature"] == old  # the old signature stays retrievable, whole
    assert event.detail["previous_signature_sha256"] == hashlib.sha256(old.encode()).hexdigest()
    assert event.detail["signature_sha256"] == hashlib.sha256(snapshot.signature.encode()).hexdigest()
    assert event.detail["previous_signing_key_id"] == event.detail["signing_key_id"] == snapshot.signing_key.key_id
    (tmp / "kept.sig").write_text(event.detail["previous_signature"])
    still = subprocess.run([MODEL_SIGNING, "verify", "key", str(model_dir), "--signature", str(tmp / "kept.sig"),
                            "--public_key", str(tmp / "key.pub"), "--no-ignore-git-paths"],
                           capture_output=True, text=True, timeout=120)
    assert still.returncode == 0, still.stdout + still.stderr  # the kept bundle is the genuine old signature

    again = StringIO()
    call_command("resign_snapshots", stdout=again)
    assert "re-signed 0 snapshot(s); 1 already current" in again.getvalue()
    assert PreservationEvent.objects.filter(event_type=EventType.SIGNATURE).count() == 1
