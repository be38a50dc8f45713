"""README's "For scripts" examples, run as written (curl, the Python client, huggingface_hub, the `coda`
command) against a live server with a real Celery worker: an example that breaks fails here."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from knox.models import AuthToken

from archive import refs
from archive.models import Snapshot
from tests.archive.helpers import make_tree
from tests.archive.synthetic_model import build_and_preserve, sha256, synthetic_files
from tests.factories import AIModelFactory, CuratorFactory, ProviderFactory

README = Path(__file__).resolve().parents[1] / "README.md"
BIN = Path(sys.executable).parent  # the project's environment: python, coda
DOSSIER = {"interviews/2025-01-01-1.md": b"# Exit interview\n", "reports/post-deployment-report-v1.md": b"# Report\n"}


def script_blocks() -> list[tuple[str, str]]:
    """(language, code) of each ```sh / ```python block in the "For scripts" section, in order."""
    text = README.read_text()
    section = re.search(r"^## For scripts\n(.*?)(?=^## )", text, re.S | re.M)
    assert section, "README has no '## For scripts' section"
    return re.findall(r"^```(sh|python)\n(.*?)^```$", section.group(1), re.S | re.M)


def test_readme_shows_each_way():
    blocks = script_blocks()
    assert any(lang == "sh" and "curl " in code for lang, code in blocks)
    assert any(lang == "python" and "from coda_client" in code for lang, code in blocks)
    assert any(lang == "python" and "from huggingface_hub" in code for lang, code in blocks)
    assert any(lang == "sh" and re.search(r"^coda ", code, re.M) for lang, code in blocks)


@pytest.fixture
def archive(live_server, transactional_db, staging_dir, monkeypatch, celery_worker, tmp_path):
    model = AIModelFactory(provider=ProviderFactory(slug="example", name="Example"), name="retired-gpt",
                           retires_on="2020-01-01", file_access="public")
    weights, files = build_and_preserve(model=model, staging_dir=staging_dir, monkeypatch=monkeypatch,
                                        files=synthetic_files(big=100_000))
    # A newer dossier snapshot: `main` must still be the weights in every example.
    dossier, _ = build_and_preserve(model=model, staging_dir=staging_dir, monkeypatch=monkeypatch, name="d",
                                    files=DOSSIER)
    curator = CuratorFactory(username="readme-keeper")
    refs.snapshot_tag_create(snapshot=weights, name="as-retired", created_by=curator)
    AIModelFactory(name="still-serving")  # not retired: never listed
    incoming = synthetic_files(big=50_000) | {"config.json": b'{"model_type": "gpt2", "v": 2}'}
    make_tree(staging_dir / "retired-gpt-v2", incoming)
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING", "CODA_"))}
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        CODA_ENDPOINT=live_server.url,
        CODA_TOKEN=AuthToken.objects.create(user=curator, expiry=None)[1],
        HF_ENDPOINT=f"{live_server.url}/hf",
        HF_HOME=str(tmp_path / "hf-home"),
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_DISABLE_PROGRESS_BARS="1",
        STAGING=str(staging_dir),
        NO_PROXY="*",
    )
    return {"model": model, "weights": weights, "dossier": dossier, "files": files, "incoming": incoming,
            "env": env, "work": work}


def run(lang: str, code: str, archive) -> str:
    command = ["bash", "-euo", "pipefail", "-c", code] if lang == "sh" else [str(BIN / "python"), "-c", code]
    done = subprocess.run(command, cwd=archive["work"], env=archive["env"], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, f"README example failed:\n{code}\n--- stdout\n{done.stdout[-2000:]}\n--- stderr\n" \
                                 f"{done.stderr[-3000:]}"
    return done.stdout


def test_every_example_runs(archive):
    model, weights, dossier = archive["model"], archive["weights"], archive["dossier"]
    outputs = [run(lang, code, archive) for lang, code in script_blocks()]
    for (lang, code), out in zip(script_blocks(), outputs):
        assert "still-serving" not in out, code  # only retired models are listed
        if "models list" in code or "status=retired" in code:
            assert model.repo_id in out, code
        if "main" in code or "list_repo_refs" in code:
            assert weights.revision in out, code  # main is the weights, not the newer dossier
    curl = next(out for (lang, code), out in zip(script_blocks(), outputs) if "curl " in code)
    assert "config.json: OK" in curl and f"refs/heads/dossier {dossier.revision}" in curl
    assert (archive["work"] / "config.json").read_bytes() == archive["files"]["config.json"]
    downloaded = archive["work"] / "retired-gpt"
    assert {p: sha256((downloaded / p).read_bytes()) for p in archive["files"]} == \
           {p: sha256(data) for p, data in archive["files"].items()}
    # `coda preserve` sealed a new snapshot of the incoming files, and main moved to it.
    newest = Snapshot.objects.filter(model=model, state="sealed").order_by("-sealed_at").first()
    assert newest.pk not in (weights.pk, dossier.pk)
    assert {f.path: f.blob.sha256 for f in newest.files.select_related("blob")} == \
           {p: sha256(d) for p, d in archive["incoming"].items()}
