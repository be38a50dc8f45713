"""Signed snapshots in the OpenSSF model-signing format: a directory fetched with the real
huggingface_hub.snapshot_download from /hf is accepted by `model_signing verify key` (the OpenSSF tool, written by
others) with the public key served at /api/v1/signing-keys/; one changed byte or a removed file fails it."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from archive.descriptions import signing
from archive.models import SigningKey
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
