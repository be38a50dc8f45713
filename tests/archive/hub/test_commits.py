"""The Hub's commit list and refs never repeat a revision. Identical content preserved from three sources made three
snapshots with one revision id (archives keep those made before re-preserving became a no-op, so two of the three
are made here as rows, the way such an ingest left them); the revision is one commit, shown as its newest snapshot:
the one `revision/{id}`, `main` and the refs resolve to."""

from datetime import timedelta

import pytest
from django.test import Client

from archive import refs
from archive.models import Snapshot, SnapshotFile
from tests.archive.synthetic_model import build_and_preserve
from tests.factories import AIModelFactory, UserFactory

pytestmark = pytest.mark.django_db


def preserved_again(snapshot: Snapshot, *, source: str, later: timedelta) -> Snapshot:
    """The same files preserved again from another source: a new snapshot with the same blobs, hence the same revision."""
    copy = Snapshot.objects.create(model=snapshot.model, source=source, state=Snapshot.State.SEALED,
                                   revision=snapshot.revision, sealed_at=snapshot.sealed_at + later,
                                   manifest_key=snapshot.manifest_key)
    SnapshotFile.objects.bulk_create(
        SnapshotFile(snapshot=copy, path=f.path, size=f.size, blob_id=f.blob_id, kind=f.kind, format=f.format,
                     state=SnapshotFile.State.STORED)
        for f in snapshot.files.all()
    )
    return copy


@pytest.fixture
def history(staging_dir, monkeypatch):
    model = AIModelFactory(name="thrice-gpt", file_access="public")
    files = {"config.json": b'{"model_type": "gpt2"}', "model.safetensors": b"weights v1"}
    first, _ = build_and_preserve(model=model, staging_dir=staging_dir, monkeypatch=monkeypatch, name="a", files=files)
    other, _ = build_and_preserve(model=model, staging_dir=staging_dir, monkeypatch=monkeypatch, name="b",
                                  files={**files, "model.safetensors": b"weights v2"})
    # The first content again, from two other sources, after the second: three snapshots, one revision.
    second = preserved_again(first, source="/staging/c", later=other.sealed_at - first.sealed_at + timedelta(minutes=1))
    newest = preserved_again(first, source="/staging/d", later=other.sealed_at - first.sealed_at + timedelta(minutes=2))
    refs.snapshot_tag_create(snapshot=first, name="v1", created_by=UserFactory(is_staff=True))
    assert Snapshot.objects.filter(model=model, revision=first.revision).count() == 3
    return {"model": model, "first": first, "second": second, "newest": newest, "other": other}


def commits(model, revision: str) -> list[dict]:
    answer = Client().get(f"/hf/api/models/{model.repo_id}/commits/{revision}")
    assert answer.status_code == 200, answer.content
    return answer.json()


def test_commits_list_a_revision_preserved_three_times_once(history):
    model, newest, other, first = history["model"], history["newest"], history["other"], history["first"]
    listed = commits(model, "main")
    assert [c["id"] for c in listed] == [newest.revision, other.revision]  # not three times the first content
    # Shown as its newest snapshot, the one the revision id resolves to.
    info = Client().get(f"/hf/api/models/{model.repo_id}/revision/{newest.revision}").json()
    assert listed[0]["date"] == info["lastModified"]
    assert commits(model, newest.revision) == listed
    # From the second content back: it, then the first content once (older copies of it only).
    assert [c["id"] for c in commits(model, other.revision)] == [other.revision, first.revision]
    # From the tag on the oldest copy: that revision once.
    assert [c["id"] for c in commits(model, "v1")] == [first.revision]
    assert [c["id"] for c in commits(model, "refs/tags/v1")] == [first.revision]


def test_refs_name_each_revision_once(history):
    model, newest = history["model"], history["newest"]
    hub = Client().get(f"/hf/api/models/{model.repo_id}/refs").json()
    assert [(b["name"], b["targetCommit"]) for b in hub["branches"]] == [("main", newest.revision)]
    assert [(t["name"], t["targetCommit"]) for t in hub["tags"]] == [("v1", newest.revision)]
    api = Client().get(f"/api/v1/models/{model.repo_id}/refs/").json()
    assert [(b["name"], b["revision"]) for b in api["branches"]] == [("main", newest.revision)]
    found = refs.model_refs(model)
    assert found.branches[0].snapshot.pk == newest.pk  # main is the newest copy, as the commit list shows it

