"""Named refs: `main` is the newest sealed snapshot holding the model's own files (weights, config, tokenizer),
never a dossier-only one; `dossier` is the newest dossier snapshot; curator tags are immutable."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from archive import refs, selectors
from archive.exceptions import SnapshotNotFound
from archive.models import Snapshot, SnapshotTag
from core.exceptions import DomainError
from tests.archive.synthetic_model import build_and_preserve
from tests.factories import AIModelFactory, UserFactory

DOSSIER = {"interviews/2025-01-01-1.md": b"# Exit interview\n", "reports/post-deployment-report-v1.md": b"# Report\n"}


@pytest.fixture
def model_with_dossier(db, staging_dir, monkeypatch):
    model = AIModelFactory(name="ref-gpt", file_access="public")
    weights, _ = build_and_preserve(model=model, staging_dir=staging_dir, monkeypatch=monkeypatch, name="w")
    dossier, _ = build_and_preserve(model=model, staging_dir=staging_dir, monkeypatch=monkeypatch, name="d",
                                    files=DOSSIER)
    return model, weights, dossier


def test_main_is_the_weights_not_a_newer_dossier_snapshot(model_with_dossier):
    model, weights, dossier = model_with_dossier
    assert dossier.sealed_at >= weights.sealed_at  # the dossier is the newest sealed snapshot
    assert selectors.snapshot_get(model=model, ref="main").pk == weights.pk
    assert selectors.snapshot_get(model=model, ref="dossier").pk == dossier.pk
    assert refs.snapshot_role(dossier) == "dossier" and refs.snapshot_role(weights) == "model"


def test_a_model_with_only_a_dossier_has_no_main(db, staging_dir, monkeypatch):
    model = AIModelFactory(name="only-dossier")
    dossier, _ = build_and_preserve(model=model, staging_dir=staging_dir, monkeypatch=monkeypatch, files=DOSSIER)
    with pytest.raises(SnapshotNotFound):
        selectors.snapshot_get(model=model, ref="main")
    assert selectors.snapshot_get(model=model, ref="dossier").pk == dossier.pk
    assert [(r.name, r.snapshot.pk) for r in refs.model_refs(model).branches] == [("dossier", dossier.pk)]


def test_tags_resolve_and_never_move(model_with_dossier):
    model, weights, dossier = model_with_dossier
    curator = UserFactory(username="cur", is_staff=True)
    tag = refs.snapshot_tag_create(snapshot=weights, name="as-retired", created_by=curator)
    assert selectors.snapshot_get(model=model, ref="as-retired").pk == weights.pk
    with pytest.raises(DomainError) as exc:
        refs.snapshot_tag_create(snapshot=dossier, name="as-retired", created_by=curator)
    assert exc.value.status_code == 409
    for bad in ("main", "dossier", "a" * 40, "12", "bad/name", ""):
        with pytest.raises(DomainError):
            refs.snapshot_tag_create(snapshot=weights, name=bad, created_by=curator)
    tag.name = "moved"
    with pytest.raises(DomainError):
        tag.save()  # immutable once set
    assert SnapshotTag.objects.get(pk=tag.pk).name == "as-retired"
    listed = refs.model_refs(model)
    assert [(r.name, r.snapshot.pk) for r in listed.branches] == [("main", weights.pk), ("dossier", dossier.pk)]
    assert [(r.name, r.snapshot.pk) for r in listed.tags] == [("as-retired", weights.pk)]


def test_refs_api_lists_and_curators_tag(model_with_dossier, curator_client):
    api_client = APIClient()
    model, weights, dossier = model_with_dossier
    url = f"/api/v1/models/{model.repo_id}/refs/"
    listed = api_client.get(url).json()
    assert [(b["name"], b["revision"]) for b in listed["branches"]] == [("main", weights.revision),
                                                                        ("dossier", dossier.revision)]
    assert api_client.post(url, {"name": "v1", "revision": weights.revision}, format="json").status_code in (401, 403)
    created = curator_client.post(url, {"name": "v1", "revision": weights.revision}, format="json")
    assert created.status_code == 201 and created.json()["ref"] == "refs/tags/v1"
    again = curator_client.post(url, {"name": "v1", "revision": dossier.revision}, format="json")
    assert again.status_code == 409
    assert api_client.get(url).json()["tags"][0]["revision"] == weights.revision
    assert api_client.get(f"/api/v1/models/{model.repo_id}/snapshots/v1/").json()["revision"] == weights.revision


def test_admin_answers_a_bad_or_taken_tag_name_with_a_form_error(model_with_dossier):
    model, weights, dossier = model_with_dossier
    client = Client()
    client.force_login(UserFactory(username="admin-cur", is_staff=True))
    add = "/admin/archive/snapshottag/add/"
    assert client.post(add, {"snapshot": weights.pk, "name": "as-retired", "message": "m"}).status_code == 302
    unsealed = Snapshot.objects.create(model=model, source="/x", state=Snapshot.State.INGESTING)
    for snapshot, name, field, words in [
        (dossier, "as-retired", "name", "already has a tag"),  # taken, even for another snapshot
        (weights, "bad/name", "name", "Invalid tag name"),
        (weights, "main", "name", "Invalid tag name"),
        (weights, "a" * 40, "name", "Invalid tag name"),
        (unsealed, "fresh", "snapshot", "not sealed"),
    ]:
        response = client.post(add, {"snapshot": snapshot.pk, "name": name})
        assert response.status_code == 200, (name, response.status_code)
        errors = response.context["adminform"].form.errors
        assert list(errors) == [field] and words in errors[field][0], (name, errors)
    assert list(SnapshotTag.objects.filter(model=model).values_list("name", "snapshot_id")) == [("as-retired", weights.pk)]
