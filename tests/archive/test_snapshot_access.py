"""A curator changes a sealed snapshot's file-access override (API PATCH and admin); every change is an event
and takes effect on downloads at once."""

import re

import pytest
from django.test import Client

from archive.models import EventType, PreservationEvent, Snapshot
from tests.archive.helpers import preserve_now
from tests.factories import AIModelFactory, CuratorFactory, ProviderFactory, UserFactory, api_client

FILES = {"config.json": b'{"a": 1}', "model.safetensors": b"\x08" * 4096}


@pytest.fixture
def snapshot(transactional_db, staging_dir, monkeypatch):
    model = AIModelFactory(provider=ProviderFactory(slug="lab"), name="open-model", file_access="public")
    return preserve_now(model, staging_dir, FILES, monkeypatch)


def urls(snapshot):
    base = f"/api/v1/models/lab/open-model/snapshots/{snapshot.revision}/"
    return base, base + "files/model.safetensors"


def access_changes():
    return PreservationEvent.objects.filter(event_type=EventType.ACCESS, detail__has_key="file_access")


def test_curator_restricts_and_reopens_a_snapshot_through_the_api(snapshot):
    detail, download = urls(snapshot)
    curator, researcher = CuratorFactory(username="cur"), UserFactory(username="rita")
    assert api_client(researcher).get(download).status_code == 200
    response = api_client(curator).patch(detail, {"file_access": "restricted"}, format="json")
    assert response.status_code == 200 and response.json()["file_access"] == "restricted"
    assert response.json()["effective_file_access"] == "restricted"
    assert api_client(researcher).get(download).status_code == 403
    assert api_client(curator).get(download).status_code == 200
    # Reopening a restricted snapshot waits for a second curator (two-person rule); nothing opens before.
    proposed = api_client(curator).patch(detail, {"file_access": None}, format="json")
    assert proposed.status_code == 202 and api_client(researcher).get(download).status_code == 403
    second = api_client(CuratorFactory(username="second"))
    assert second.post(f"/api/v1/approvals/{proposed.json()['proposal']['id']}/approve/").status_code == 200
    reopened = api_client(curator).get(detail).json()
    assert reopened["file_access"] == "" and reopened["effective_file_access"] == "public"
    assert api_client(researcher).get(download).status_code == 200  # inherits the model's "public" again
    changes = list(access_changes().order_by("id"))
    assert [c.detail["file_access"] for c in changes] == [
        {"from": "inherit", "to": "restricted"}, {"from": "restricted", "to": "inherit"}
    ]
    assert {c.agent for c in changes} == {"user:cur"} and all(c.snapshot_id == snapshot.pk for c in changes)
    # Setting the same level again changes nothing and records nothing.
    api_client(curator).patch(detail, {"file_access": ""}, format="json")
    assert access_changes().count() == 2


@pytest.mark.parametrize("who,status", [("anonymous", 401), ("researcher", 403)])
def test_only_curators_change_snapshot_access(snapshot, who, status):
    detail, _ = urls(snapshot)
    user = UserFactory(username="rita") if who == "researcher" else None
    assert api_client(user).patch(detail, {"file_access": "restricted"}, format="json").status_code == status
    assert Snapshot.objects.get(pk=snapshot.pk).file_access == "" and not access_changes().exists()


def test_unknown_access_level_is_a_400_naming_the_field(snapshot):
    detail, _ = urls(snapshot)
    response = api_client(CuratorFactory(username="cur")).patch(detail, {"file_access": "secret"}, format="json")
    assert response.status_code == 400 and "file_access" in response.json()["errors"]


def test_curator_changes_it_in_the_admin_and_nothing_else_is_editable(snapshot):
    client = Client()
    client.force_login(CuratorFactory(username="cur"))
    change = f"/admin/archive/snapshot/{snapshot.pk}/change/"
    page = client.get(change)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="file_access"' in html and 'name="source"' not in html and 'name="revision"' not in html
    # Post what the page's form holds (its hidden management fields), as a browser would, plus a forged field.
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))
    response = client.post(change, {**hidden, "file_access": "gated", "source": "/elsewhere"})
    assert response.status_code == 302, re.findall(r"errorlist[^<]*<li>[^<]*", response.content.decode())
    snapshot.refresh_from_db()
    assert snapshot.file_access == "gated" and snapshot.source != "/elsewhere" and snapshot.state == "sealed"
    assert access_changes().get().detail["file_access"] == {"from": "inherit", "to": "gated"}
