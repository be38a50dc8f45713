"""The /hf wire format, request by request (Django's test client); the real clients are in test_clients.py."""

import hashlib
import json
import urllib.request
from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone
from knox.models import AuthToken

from archive.models import EventType, PreservationEvent
from catalogue.models import AccessRequest
from tests.archive.synthetic_model import build_and_preserve, sha256
from tests.factories import AIModelFactory, UserFactory


def independent_lfs_oid(data: bytes) -> str:
    """Git blob id of the LFS pointer, written out from the LFS spec without Coda's code."""
    pointer = (
        "version https://git-lfs.github.com/spec/v1\n"
        f"oid sha256:{hashlib.sha256(data).hexdigest()}\nsize {len(data)}\n"
    ).encode()
    return hashlib.sha1(f"blob {len(pointer)}".encode() + b"\x00" + pointer).hexdigest()


@pytest.fixture
def repo(db, staging_dir, monkeypatch):
    model = AIModelFactory(name="tiny-gpt", file_access="public")
    snapshot, files = build_and_preserve(model=model, staging_dir=staging_dir, monkeypatch=monkeypatch)
    return model, snapshot, files


def bearer(user) -> dict:
    _, token = AuthToken.objects.create(user=user, expiry=None)
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_model_info(repo):
    model, snapshot, files = repo
    for url in (f"/hf/api/models/{model.repo_id}", f"/hf/api/models/{model.repo_id}/revision/main",
                f"/hf/api/models/{model.repo_id}/revision/{snapshot.revision}"):
        response = Client().get(url)
        assert response.status_code == 200, url
        body = response.json()
        assert body["id"] == model.repo_id and body["sha"] == snapshot.revision
        assert sorted(s["rfilename"] for s in body["siblings"]) == sorted(files)
        assert body["private"] is False and body["gated"] is False and body["disabled"] is False
        assert body["lastModified"].endswith("Z") and "T" in body["lastModified"]
    with_blobs = Client().get(f"/hf/api/models/{model.repo_id}?blobs=true").json()
    sibling = next(s for s in with_blobs["siblings"] if s["rfilename"] == "model.safetensors")
    assert sibling["lfs"]["sha256"] == sha256(files["model.safetensors"])
    assert sibling["blobId"] == independent_lfs_oid(files["model.safetensors"])


@pytest.mark.parametrize(
    "url,code",
    [
        ("/hf/api/models/nobody/nothing", "RepoNotFound"),
        ("/hf/api/models/{repo}/revision/v1.0", "RevisionNotFound"),
        ("/hf/api/models/{repo}/revision/" + "0" * 40, "RevisionNotFound"),
        ("/hf/api/models/{repo}/revision/1", "RevisionNotFound"),  # numeric ids of unsealed snapshots stay internal
        ("/hf/api/models/{repo}/tree/main/no-such-dir", "EntryNotFound"),
        ("/hf/{repo}/resolve/main/missing.bin", "EntryNotFound"),
        ("/hf/{repo}/resolve/dev/config.json", "RevisionNotFound"),
        ("/hf/api/datasets/{repo}", "RepoNotFound"),
    ],
)
def test_errors_are_json_objects_with_codes(repo, url, code):
    model, snapshot, _ = repo
    response = Client().get(url.format(repo=model.repo_id))
    assert response.status_code == 404
    assert response["X-Error-Code"] == code
    body = response.json()
    assert isinstance(body, dict) and body["error"]
    if code == "EntryNotFound":  # lets clients cache the absence per commit
        assert response["X-Repo-Commit"] == snapshot.revision


def test_model_without_snapshot_has_no_main(db):
    model = AIModelFactory(file_access="public")
    response = Client().get(f"/hf/api/models/{model.repo_id}")
    assert response.status_code == 404 and response["X-Error-Code"] == "RevisionNotFound"


def test_tree_listing(repo):
    model, snapshot, files = repo
    root = Client().get(f"/hf/api/models/{model.repo_id}/tree/main").json()
    assert [(e["type"], e["path"]) for e in root] == [
        ("directory", "docs"),
        ("directory", "shards"),
        ("file", "config.json"),
        ("file", "empty.txt"),
        ("file", "model.safetensors"),
        ("file", "tokenizer.json"),
        ("file", "tokenizer_config.json"),
    ]
    everything = Client().get(f"/hf/api/models/{model.repo_id}/tree/{snapshot.revision}?recursive=true").json()
    listed_files = {e["path"]: e for e in everything if e["type"] == "file"}
    assert set(listed_files) == set(files)
    assert {e["path"] for e in everything if e["type"] == "directory"} == {
        "docs", "docs/nested", "docs/nested/deeper", "shards"
    }
    for path, data in files.items():
        entry = listed_files[path]
        assert entry["size"] == len(data)
        assert entry["lfs"] == {"oid": sha256(data), "size": len(data), "pointerSize": entry["lfs"]["pointerSize"]}
        assert entry["oid"] == independent_lfs_oid(data)
    assert "xetHash" not in json.dumps(everything)
    sub = Client().get(f"/hf/api/models/{model.repo_id}/tree/main/docs/nested").json()
    assert [(e["type"], e["path"]) for e in sub] == [("directory", "docs/nested/deeper")]
    # A directory's oid follows its content: the same in every listing.
    assert sub[0]["oid"] == next(e["oid"] for e in everything if e["path"] == "docs/nested/deeper")


def test_tree_pagination_follows_link_next(repo, settings):
    model, _, files = repo
    settings.CODA_HF_TREE_PAGE_SIZE = 3
    url = f"/hf/api/models/{model.repo_id}/tree/main?recursive=true"
    seen, pages = [], 0
    while url:
        response = Client().get(url)
        page = response.json()
        assert len(page) <= 3
        seen += page
        pages += 1
        link = response.headers.get("Link", "")
        url = link.split(";")[0].strip("<> ").replace("http://testserver", "") if 'rel="next"' in link else None
    assert pages == 4  # 11 entries
    assert len({e["path"] for e in seen}) == len(seen) == len(files) + 4


def test_resolve_head_get_and_ranges(repo):
    model, snapshot, files = repo
    data = files["shards/part-00001.bin"]
    url = f"/hf/{model.repo_id}/resolve/main/shards/part-00001.bin"
    head = Client().head(url)
    assert head.status_code == 200
    assert head["X-Repo-Commit"] == snapshot.revision
    assert head["ETag"] == head["X-Linked-Etag"] == f'"{sha256(data)}"'
    assert head["X-Linked-Size"] == head["Content-Length"] == str(len(data))
    assert head["Accept-Ranges"] == "bytes"
    assert "X-Xet-Hash" not in head
    assert not PreservationEvent.objects.filter(event_type=EventType.ACCESS).exists()  # HEAD is metadata only

    full = Client().get(url)
    assert full.status_code == 200 and sha256(b"".join(full.streaming_content)) == sha256(data)
    assert full["Content-Length"] == str(len(data))

    part = Client().get(url, HTTP_RANGE="bytes=1048570-2097160")
    assert part.status_code == 206
    assert b"".join(part.streaming_content) == data[1048570:2097161]
    assert part["Content-Range"] == f"bytes 1048570-2097160/{len(data)}"
    assert part["Content-Length"] == str(2097161 - 1048570)

    resume = Client().get(url, HTTP_RANGE=f"bytes={len(data) - 10}-")
    assert b"".join(resume.streaming_content) == data[-10:]
    suffix = Client().get(url, HTTP_RANGE="bytes=-5")
    assert b"".join(suffix.streaming_content) == data[-5:]
    beyond = Client().get(url, HTTP_RANGE=f"bytes={len(data)}-")
    assert beyond.status_code == 416 and beyond["Content-Range"] == f"bytes */{len(data)}"
    stale = Client().get(url, HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"0000"')
    assert stale.status_code == 200  # If-Range mismatch: the whole (current) file

    events = PreservationEvent.objects.filter(event_type=EventType.ACCESS, snapshot=snapshot)
    assert events.count() == 5
    assert events.filter(detail__via="hf", detail__path="shards/part-00001.bin").count() == 5


def test_empty_file_and_nested_non_ascii(repo):
    model, _, files = repo
    empty = Client().get(f"/hf/{model.repo_id}/resolve/main/empty.txt")
    assert empty.status_code == 200 and empty["Content-Length"] == "0"
    assert b"".join(empty.streaming_content) == b""
    nested = Client().get(f"/hf/{model.repo_id}/resolve/main/docs/nested/deeper/README.md")
    assert b"".join(nested.streaming_content) == files["docs/nested/deeper/README.md"]


def test_gating(db, staging_dir, monkeypatch):
    model = AIModelFactory(name="gated-one", file_access="gated")
    build_and_preserve(model=model, staging_dir=staging_dir, monkeypatch=monkeypatch)
    url = f"/hf/{model.repo_id}/resolve/main/config.json"
    info = Client().get(f"/hf/api/models/{model.repo_id}").json()
    assert info["gated"] == "manual"
    assert Client().head(url)["X-Error-Code"] == "GatedRepo"
    anonymous = Client().get(url)
    assert anonymous.status_code == 403 and anonymous["X-Error-Code"] == "GatedRepo"
    assert "request access" in anonymous.json()["error"]
    researcher = UserFactory(username="r1")
    assert Client().get(url, **bearer(researcher)).status_code == 403
    AccessRequest.objects.create(
        user=researcher, model=model, purpose="study", affiliation="lab", accepted_terms=True, status="approved"
    )
    assert Client().get(url, **bearer(researcher)).status_code == 200
    event = PreservationEvent.objects.get(event_type=EventType.ACCESS)
    assert event.agent == "user:r1"
    bad = Client().get(url, HTTP_AUTHORIZATION="Bearer not-a-token")
    assert bad.status_code == 401 and isinstance(bad.json(), dict)


def test_restricted_metadata_is_not_found(db, staging_dir, monkeypatch):
    model = AIModelFactory(name="secret", metadata_access="restricted", file_access="restricted")
    build_and_preserve(model=model, staging_dir=staging_dir, monkeypatch=monkeypatch)
    for url in (f"/hf/api/models/{model.repo_id}", f"/hf/{model.repo_id}/resolve/main/config.json"):
        response = Client().get(url)
        assert response.status_code == 404 and response["X-Error-Code"] == "RepoNotFound"


def test_lifecycle_headers(db, staging_dir, monkeypatch):
    successor = AIModelFactory(name="successor")
    today = timezone.localdate()
    retired = AIModelFactory(
        name="old", file_access="public", deprecated_on=date(2024, 1, 15), retires_on=today - timedelta(days=3),
        replacement=successor,
    )
    build_and_preserve(model=retired, staging_dir=staging_dir, monkeypatch=monkeypatch)
    for url in (f"/hf/api/models/{retired.repo_id}", f"/hf/{retired.repo_id}/resolve/main/config.json",
                f"/hf/{retired.repo_id}/resolve/main/missing"):
        response = Client().head(url)
        assert response["Deprecation"] == "@1705276800"  # 2024-01-15T00:00:00Z, RFC 9745 structured date
        retires = retired.retires_on
        assert response["Sunset"] == f"{retires:%a}, {retires:%d} {retires:%b} {retires:%Y} 00:00:00 GMT"
        assert f'<http://testserver/hf/api/models/{successor.repo_id}>; rel="successor-version"' in response["Link"]
        assert 'rel="deprecation"' in response["Link"]
    info = Client().get(f"/hf/api/models/{retired.repo_id}").json()
    assert info["coda"]["status"] == "retired" and info["coda"]["replacement"] == successor.repo_id

    active = AIModelFactory(name="current", file_access="public")
    build_and_preserve(model=active, staging_dir=staging_dir, monkeypatch=monkeypatch, name="other")
    response = Client().head(f"/hf/api/models/{active.repo_id}")
    assert "Deprecation" not in response and "Sunset" not in response and "Link" not in response


def test_deprecated_with_future_sunset(db, staging_dir, monkeypatch):
    model = AIModelFactory(name="fading", file_access="public", retires_on=timezone.localdate() + timedelta(days=30))
    build_and_preserve(model=model, staging_dir=staging_dir, monkeypatch=monkeypatch)
    response = Client().head(f"/hf/api/models/{model.repo_id}")
    assert response["Deprecation"].startswith("@") and "Sunset" in response
    assert "successor-version" not in response["Link"]


@pytest.mark.parametrize("redirect", [True, False])
def test_resolve_from_s3(s3_location, transactional_db, staging_dir, monkeypatch, settings, redirect):
    settings.CODA_HF_S3_REDIRECT = redirect
    model = AIModelFactory(name="in-s3", file_access="public")
    snapshot, files = build_and_preserve(model=model, staging_dir=staging_dir, monkeypatch=monkeypatch)
    data = files["shards/part-00001.bin"]
    url = f"/hf/{model.repo_id}/resolve/{snapshot.revision}/shards/part-00001.bin"
    head = Client().head(url)
    assert head["X-Repo-Commit"] == snapshot.revision
    assert head["X-Linked-Etag"] == head["ETag"] == f'"{sha256(data)}"'
    assert head["X-Linked-Size"] == str(len(data))
    if redirect:
        assert head.status_code == 302
        location = head["Location"]
        assert location.startswith(settings.CODA_STORAGE_LOCATIONS[0]["endpoint_url"])
        assert sha256(urllib.request.urlopen(location).read()) == sha256(data)
        ranged = urllib.request.urlopen(urllib.request.Request(location, headers={"Range": "bytes=100-199"}))
        assert ranged.read() == data[100:200]
        Client().get(url)
        events = PreservationEvent.objects.filter(event_type=EventType.ACCESS).order_by("pk")
        assert [(e.detail["via"], e.detail["method"]) for e in events] == [("hf-redirect", "HEAD"), ("hf-redirect", "GET")]
    else:
        assert head.status_code == 200
        body = Client().get(url, HTTP_RANGE="bytes=100-199")
        assert body.status_code == 206 and b"".join(body.streaming_content) == data[100:200]
