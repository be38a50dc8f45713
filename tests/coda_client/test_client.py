"""The client and the `coda` command against a live Coda (live_server, a real Celery worker for preserve):
typed results, paging, error classes from the API's `code`, preserve with progress, download through /hf
and verify against the manifest. The client itself imports nothing from Django or the server."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from knox.models import AuthToken

from coda_client import Coda, Conflict, Model, NotFound, Snapshot, Unauthenticated
from tests.archive.helpers import make_tree
from tests.archive.synthetic_model import build_and_preserve, sha256, synthetic_files
from tests.factories import AIModelFactory, CuratorFactory

CODA = Path(sys.executable).with_name("coda")


def test_the_client_loads_no_django_or_server_module():
    check = ("import sys, coda_client, coda_client.cli; "
             "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
             "('django', 'rest_framework', 'config', 'core', 'catalogue', 'archive', 'dossier')); "
             "assert not bad, bad")
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, env={"PATH": os.environ["PATH"]})
    assert done.returncode == 0, done.stderr


@pytest.fixture
def server(live_server, transactional_db, staging_dir, monkeypatch, settings):
    curator = CuratorFactory(username="scriptkeeper")
    token = AuthToken.objects.create(user=curator, expiry=None)[1]
    retired = AIModelFactory(name="old-gpt", retires_on="2020-01-01", file_access="public")
    snapshot, files = build_and_preserve(model=retired, staging_dir=staging_dir, monkeypatch=monkeypatch)
    paged = [AIModelFactory(name=f"paged-{i}") for i in range(3)]
    hidden = AIModelFactory(name="hidden-gpt", metadata_access="restricted")
    return {"url": live_server.url, "token": token, "retired": retired, "snapshot": snapshot, "files": files,
            "hidden": hidden, "paged": paged}


def test_client_reads_pages_and_maps_errors(server, monkeypatch):
    monkeypatch.setenv("CODA_ENDPOINT", server["url"])
    monkeypatch.delenv("CODA_TOKEN", raising=False)
    coda = Coda()
    retired = list(coda.models(status="retired"))
    assert [m.id for m in retired] == [server["retired"].repo_id] and isinstance(retired[0], Model)
    everything = [m.id for m in coda.models(page_size=1)]  # four pages, followed by the generator
    assert sorted(everything) == sorted([server["retired"].repo_id] + [f"{m.repo_id}" for m in server["paged"]])
    snapshot = coda.snapshot(server["retired"].repo_id, "main")
    assert isinstance(snapshot, Snapshot) and snapshot.revision == server["snapshot"].revision
    assert {f.path: f.sha256 for f in snapshot.files} == {p: sha256(d) for p, d in server["files"].items()}
    with pytest.raises(NotFound) as missing:
        coda.model(server["hidden"].repo_id)  # hidden answers like missing
    assert missing.value.code == "model_not_found"
    with pytest.raises(Unauthenticated):
        coda.tag(server["retired"].repo_id, "v1", snapshot.revision)  # anonymous may not tag
    curator = Coda(token=server["token"])
    assert curator.tag(server["retired"].repo_id, "v1", snapshot.revision)["revision"] == snapshot.revision
    with pytest.raises(Conflict):
        curator.tag(server["retired"].repo_id, "v1", snapshot.revision)
    assert curator.model(server["hidden"].repo_id).id == server["hidden"].repo_id


def test_preserve_with_progress(server, celery_worker, staging_dir):
    make_tree(staging_dir / "incoming", synthetic_files(big=200_000))
    coda = Coda(server["url"], server["token"])
    seen = []
    job = coda.preserve(server["retired"].repo_id, str(staging_dir / "incoming"), progress=seen.append, poll=0.2,
                        timeout=120)
    assert job.state == "succeeded" and job.revision
    assert seen[-1].state == "succeeded" and seen[-1].progress["files_done"] == len(synthetic_files(big=1))


def test_cli_preserve_takes_a_relative_path_as_the_callers_and_ends_with_a_summary(server, celery_worker,
                                                                                    staging_dir, tmp_path):
    """`coda preserve DIR` with DIR relative to where the command runs (the server refuses relative paths: its
    working directory is not the caller's); the last lines name the revision, files, size in binary units and the
    model's page; a 401 says how to pass a token."""
    make_tree(staging_dir / "mine", synthetic_files(big=3 * 1024 * 1024))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "CODA_"))}
    env.update(CODA_ENDPOINT=server["url"], CODA_TOKEN=server["token"], NO_PROXY="*")
    repo = server["retired"].repo_id
    done = subprocess.run([str(CODA), "preserve", repo, "mine"], capture_output=True, text=True, env=env,
                          cwd=staging_dir, timeout=300)
    assert done.returncode == 0, done.stderr
    summary, page = done.stdout.strip().splitlines()[-2:]
    total = sum(len(data) for data in synthetic_files(big=3 * 1024 * 1024).values())
    assert summary.startswith(f"preserved {repo} revision ") and f"{len(synthetic_files(big=1))} files" in summary
    assert f"{total / 1024 / 1024:.1f} MiB" in summary
    assert page == f"{server['url']}/models/{repo}/"
    env["CODA_TOKEN"] = "not-a-token"
    refused = subprocess.run([str(CODA), "preserve", repo, "mine"], capture_output=True, text=True, env=env,
                             cwd=staging_dir, timeout=120)
    assert refused.returncode == 1 and "CODA_TOKEN" in refused.stderr and "--token" in refused.stderr


def test_cli_list_show_download_verify(server, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "CODA_"))}
    env.update(CODA_ENDPOINT=server["url"], HF_HOME=str(tmp_path / "hf"), HF_HUB_DISABLE_TELEMETRY="1", NO_PROXY="*")

    def coda(*args, check=True):
        done = subprocess.run([str(CODA), *args], capture_output=True, text=True, env=env, timeout=300)
        if check:
            assert done.returncode == 0, done.stderr
        return done

    repo = server["retired"].repo_id
    listed = json.loads(coda("models", "list", "--status", "retired", "--json").stdout)
    assert [m["id"] for m in listed] == [repo]
    shown = json.loads(coda("snapshot", "show", repo, "--json").stdout)
    assert shown["revision"] == server["snapshot"].revision
    target = tmp_path / "download"
    coda("download", repo, "--local-dir", str(target), "--json")
    report = json.loads(coda("verify", repo, str(target), "--json").stdout)
    assert report["valid"] and sorted(report["ok"]) == sorted(server["files"])
    (target / "config.json").write_bytes(b"{}")
    broken = coda("verify", repo, str(target), "--json", check=False)
    assert broken.returncode == 2 and json.loads(broken.stdout)["mismatched"] == ["config.json"]
    missing = coda("models", "show", server["hidden"].repo_id, check=False)
    assert missing.returncode == 1 and "model_not_found" in missing.stderr
