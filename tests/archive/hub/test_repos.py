"""Listing and history with the real huggingface_hub (2.x here, 0.36 in its locked venv): list_models,
list_repo_refs, list_repo_commits, get_paths_info and HfFileSystem against a live Coda, with a dossier
snapshot newer than the weights (main must stay the weights) and a restricted model nobody outside may see."""

from datetime import datetime

import pytest
from django.test import Client

from archive import refs
from catalogue.models import Tag
from tests.archive.hub.test_clients import client_python, hf, legacy_python, ok, token_for  # noqa: F401 (fixtures)
from tests.archive.synthetic_model import build_and_preserve, sha256
from tests.factories import AIModelFactory, UserFactory

def ms(value: datetime) -> datetime:
    """The Hub's timestamps carry milliseconds."""
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


DOSSIER = {"interviews/2025-01-01-1.md": b"# Exit interview\n", "reports/post-deployment-report-v1.md": b"# Report\n"}


@pytest.fixture
def repos(transactional_db, staging_dir, monkeypatch):
    curator = UserFactory(username="keeper", is_staff=True)
    model = AIModelFactory(name="listed-gpt", file_access="public", license="apache-2.0")
    model.tags.add(Tag.objects.create(slug="coda-listed", name="listed"))
    first, _ = build_and_preserve(model=model, staging_dir=staging_dir, monkeypatch=monkeypatch, name="v1",
                                  files={"config.json": b'{"model_type": "gpt2"}'})
    weights, files = build_and_preserve(model=model, staging_dir=staging_dir, monkeypatch=monkeypatch, name="v2")
    dossier, _ = build_and_preserve(model=model, staging_dir=staging_dir, monkeypatch=monkeypatch, name="d",
                                    files=DOSSIER)
    refs.snapshot_tag_create(snapshot=first, name="v1", created_by=curator)
    hidden = AIModelFactory(name="listed-secret", metadata_access="restricted", provider=model.provider)
    build_and_preserve(model=hidden, staging_dir=staging_dir, monkeypatch=monkeypatch, name="h")
    return {"model": model, "first": first, "weights": weights, "dossier": dossier, "files": files,
            "hidden": hidden, "curator": curator}


def test_listing_refs_commits_paths_and_filesystem(hf, repos):
    model, weights, first, dossier, files = (repos[k] for k in ("model", "weights", "first", "dossier", "files"))
    repo, hidden = model.repo_id, repos["hidden"].repo_id
    curator_token = token_for(repos["curator"])
    big = "shards/part-00001.bin"
    (by_search, by_author, curator_list, paged, info, refs_, commits, dossier_commits, paths, fs) = hf(
        {"op": "list_models", "search": "listed"},
        {"op": "list_models", "author": model.provider.slug, "full": True},
        {"op": "list_models", "search": "listed", "token": curator_token},
        {"op": "list_models", "search": "listed", "limit": 1, "sort": "last_modified"},
        {"op": "model_info_full", "repo": repo},
        {"op": "list_repo_refs", "repo": repo},
        {"op": "list_repo_commits", "repo": repo},
        {"op": "list_repo_commits", "repo": repo, "revision": "dossier"},
        {"op": "get_paths_info", "repo": repo, "paths": ["config.json", "docs", "nope.txt"], "expand": True},
        {"op": "fs", "repo": repo, "file": big, "start": 1_000_000, "length": 300},
    )
    assert [m["id"] for m in ok(by_search)] == [repo]  # the restricted model is not listed
    listed = ok(by_author)
    assert [m["id"] for m in listed] == [repo]
    assert listed[0]["sha"] == weights.revision and listed[0]["siblings"] == sorted(files)
    assert sorted(m["id"] for m in ok(curator_list)) == sorted([repo, hidden])
    assert [m["id"] for m in ok(paged)] == [repo]

    info = ok(info)
    assert info["sha"] == weights.revision  # main is the weights, not the newer dossier snapshot
    assert info["safetensors"] == {"F32": 7 * 4 + 4} and info["total"] == 32
    assert info["config"]["model_type"] == "gpt2"
    assert datetime.fromisoformat(info["last_modified"]) == ms(weights.sealed_at)
    assert info["sizes"][big] == [len(files[big]), sha256(files[big])]

    assert ok(refs_) == {"branches": {"main": weights.revision, "dossier": dossier.revision},
                         "tags": {"v1": first.revision}}
    history = ok(commits)
    assert [c["id"] for c in history] == [weights.revision, first.revision]  # the dossier is another branch
    assert history[0]["title"].startswith("Preserve model files") and "Ingest job" in history[0]["message"]
    assert [c["id"] for c in ok(dossier_commits)] == [dossier.revision]

    paths = ok(paths)
    assert [(p["path"], p["type"]) for p in paths] == [("config.json", "RepoFile"), ("docs", "RepoFolder")]
    assert paths[0]["sha256"] == sha256(files["config.json"]) and paths[0]["last_commit"] == weights.revision

    fs = ok(fs)
    assert fs["ls"] == sorted(f"{repo}/{name}" for name in ["config.json", "docs", "empty.txt", "model.safetensors",
                                                            "shards", "tokenizer.json", "tokenizer_config.json"])
    assert fs["glob"] == [f"{repo}/docs/nested/deeper/README.md"]
    assert fs["info"] == {"name": f"{repo}/{big}", "size": len(files[big]), "type": "file"}
    assert bytes.fromhex(fs["range"]) == files[big][1_000_000:1_000_300]
    assert datetime.fromisoformat(fs["modified"]) == ms(weights.sealed_at)


def test_restricted_model_is_invisible_to_each_call(hf, repos):
    hidden = repos["hidden"].repo_id
    results = hf(
        {"op": "list_repo_refs", "repo": hidden},
        {"op": "list_repo_commits", "repo": hidden},
        {"op": "get_paths_info", "repo": hidden, "paths": ["config.json"]},
        {"op": "fs", "repo": hidden, "file": "config.json", "start": 0, "length": 1},
        {"op": "list_repo_refs", "repo": hidden, "token": token_for(repos["curator"])},
    )
    for result in results[:3]:
        assert result["error"] == "RepositoryNotFoundError", result
    assert "error" in results[3]
    assert set(ok(results[4])["branches"]) == {"main"}


def test_paths_info_of_a_hidden_model_answers_like_a_missing_one(repos):
    client = Client()
    hidden = client.post(f"/hf/api/models/{repos['hidden'].repo_id}/paths-info/main", {"paths": ["config.json"]})
    missing = client.post(f"/hf/api/models/{repos['model'].provider.slug}/nothing-here/paths-info/main",
                          {"paths": ["config.json"]})
    assert hidden.status_code == missing.status_code == 404
    assert hidden["X-Error-Code"] == missing["X-Error-Code"] == "RepoNotFound"
    assert hidden.content.replace(b"listed-secret", b"nothing-here") == missing.content


def test_full_tag_and_branch_names_resolve_like_the_hub(hf, repos):
    """huggingface_hub quotes the revision with safe="" (refs%2Ftags%2Fv1): tree, resolve, file metadata and
    model info accept a full ref name, a tag's and a branch's."""
    model, first, weights = repos["model"], repos["first"], repos["weights"]
    repo = model.repo_id
    info, tree, tree_dir, download, meta, head_tree, snap = hf(
        {"op": "model_info", "repo": repo, "revision": "refs/tags/v1"},
        {"op": "list_repo_tree", "repo": repo, "revision": "refs/tags/v1", "recursive": True},
        {"op": "list_repo_tree", "repo": repo, "revision": "refs/heads/main", "path": "docs"},
        {"op": "hf_hub_download", "repo": repo, "filename": "config.json", "revision": "refs/tags/v1"},
        {"op": "file_metadata", "repo": repo, "filename": "model.safetensors", "revision": "refs/heads/main"},
        {"op": "list_repo_tree", "repo": repo, "revision": "refs/heads/dossier", "recursive": True},
        {"op": "snapshot_download", "repo": repo, "revision": "refs/tags/v1"},
    )
    assert ok(info)["sha"] == first.revision and ok(info)["siblings"] == ["config.json"]
    assert [e["path"] for e in ok(tree)] == ["config.json"]
    assert [e["path"] for e in ok(tree_dir)] == ["docs/nested"]
    assert ok(download)["sha256"] == sha256(b'{"model_type": "gpt2"}')
    assert ok(meta)["commit_hash"] == weights.revision
    assert sorted(e["path"] for e in ok(head_tree) if e["type"] == "RepoFile") == sorted(DOSSIER)
    assert ok(snap)["files"] == {"config.json": sha256(b'{"model_type": "gpt2"}')}


def test_quoted_full_ref_names_on_the_wire(repos):
    """The exact URLs the clients send: the revision percent-encoded, slashes and all; an unknown tag is a
    RevisionNotFound, and a path after a full ref name is the path, not part of the revision."""
    client, repo, first = Client(), repos["model"].repo_id, repos["first"]
    resolved = client.head(f"/hf/{repo}/resolve/refs%2Ftags%2Fv1/config.json")
    assert resolved.status_code == 200 and resolved["X-Repo-Commit"] == first.revision
    tree = client.get(f"/hf/api/models/{repo}/tree/refs%2Ftags%2Fv1")
    assert [e["path"] for e in tree.json()] == ["config.json"]
    nested = client.get(f"/hf/api/models/{repo}/tree/refs%2Fheads%2Fmain/docs/nested")
    assert [e["path"] for e in nested.json()] == ["docs/nested/deeper"]
    missing = client.get(f"/hf/api/models/{repo}/tree/refs%2Ftags%2Fnope")
    assert missing.status_code == 404 and missing["X-Error-Code"] == "RevisionNotFound"
    assert client.head(f"/hf/{repo}/resolve/refs%2Ftags%2Fv1/model.safetensors").status_code == 404


def test_model_list_pages_filters_expands_and_every_answer_keeps_lifecycle_headers(repos):
    """On the wire: Link rel="next" paging to the end, `filter` by tag, `expand[]` picking keys, and the
    lifecycle headers on the list-era routes (refs, commits, paths-info) of a retired model."""
    client, model = Client(), repos["model"]
    other = AIModelFactory(name="listed-other", provider=model.provider)
    seen, url = [], f"/hf/api/models?author={model.provider.slug}&limit=1"
    while url:
        response = client.get(url)
        seen += [m["id"] for m in response.json()]
        link = response.get("Link", "")
        url = link.split(";")[0].strip("<> ").replace("http://testserver", "") if 'rel="next"' in link else None
    assert seen == sorted([model.repo_id, other.repo_id])  # the restricted model never appears
    assert [m["id"] for m in client.get("/hf/api/models", {"filter": "coda-listed"}).json()] == [model.repo_id]
    expanded = client.get("/hf/api/models", {"search": "listed-gpt", "expand[]": ["sha", "cardData"]}).json()
    assert set(expanded[0]) >= {"id", "sha", "cardData"} and "downloads" not in expanded[0]
    assert expanded[0]["sha"] == repos["weights"].revision
    type(model).objects.filter(pk=model.pk).update(deprecated_on="2024-01-15", retires_on="2024-06-01")
    for response in (client.get(f"/hf/api/models/{model.repo_id}/refs"),
                     client.get(f"/hf/api/models/{model.repo_id}/commits/main"),
                     client.post(f"/hf/api/models/{model.repo_id}/paths-info/main", {"paths": ["config.json"]})):
        assert response.status_code == 200 and response["Deprecation"] == "@1705276800" and "Sunset" in response
