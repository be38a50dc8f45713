"""Tombstones: a withdrawn model or snapshot keeps its record and citation, its doors answer 410 Gone with the
reason and date, no one is served its bytes, and each state change (and the choice about the bytes) is an event.
The model page embeds schema.org JSON-LD and a "Cite this snapshot" block."""

import json
import re

import pytest
from django.core.exceptions import ValidationError

from archive.models import EventType, PreservationEvent
from archive.withdrawals import model_withdraw, snapshot_withdraw
from catalogue.permissions import can_read_files
from core.exceptions import ForbiddenError
from tests.archive.citation.snapshots import sealed_snapshot
from tests.factories import AIModelFactory, CuratorFactory, UserFactory, api_client

pytestmark = pytest.mark.django_db
LD = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.S)


@pytest.fixture
def world():
    model = AIModelFactory(file_access="public", license="mit")
    return {"model": model, "snapshot": sealed_snapshot(model), "curator": CuratorFactory()}


def test_model_withdrawal_keeps_record_and_answers_410(world, client):
    model, snapshot, curator = world["model"], world["snapshot"], world["curator"]
    assert can_read_files(curator, model, snapshot)
    with pytest.raises(ForbiddenError):
        model_withdraw(model=model, reason="Legal request", withdrawn_by=UserFactory())
    with pytest.raises(ValidationError):
        model_withdraw(model=model, reason=" ", withdrawn_by=curator)
    model_withdraw(model=model, reason="Legal request", keep_bytes="keep", withdrawn_by=curator)
    model.refresh_from_db()
    assert not can_read_files(curator, model, snapshot)
    event = PreservationEvent.objects.get(model=model, event_type=EventType.DEACCESSION)
    assert event.detail == {"withdrawn": True, "reason": "Legal request", "bytes": "keep"}

    detail = api_client().get(f"/api/v1/models/{model.repo_id}/")
    assert detail.status_code == 410
    assert detail.json()["tombstone"]["reason"] == "Legal request" and detail.json()["model"]["name"] == model.name
    snap = api_client().get(f"/api/v1/models/{model.repo_id}/snapshots/{snapshot.revision}/")
    assert snap.status_code == 410 and snap.json()["snapshot"]["revision"] == snapshot.revision
    assert api_client().get(snap.json()["citation"]["datacite.json"]).status_code == 200  # the citation stays
    data = api_client().get(f"/api/v1/models/{model.repo_id}/snapshots/{snapshot.revision}/cite/datacite.json").json()
    assert {"dateType": "Withdrawn"}.items() <= next(d for d in data["dates"] if d["dateType"] == "Withdrawn").items()
    download = api_client(curator).get(f"/api/v1/models/{model.repo_id}/snapshots/{snapshot.revision}/files/config.json")
    assert download.status_code == 410
    hub = client.get(f"/hf/api/models/{model.repo_id}")
    assert hub.status_code == 410 and "Legal request" in hub.json()["error"]
    page = client.get(f"/models/{model.repo_id}/")
    assert page.status_code == 410 and b"Legal request" in page.content


def test_snapshot_withdrawal_with_bytes_deleted_is_two_events(world):
    model, snapshot, curator = world["model"], world["snapshot"], world["curator"]
    snapshot_withdraw(snapshot=snapshot, reason="Wrong files", keep_bytes="delete", withdrawn_by=curator)
    kinds = sorted(PreservationEvent.objects.filter(snapshot=snapshot).values_list("event_type", flat=True))
    assert kinds == ["deaccession", "deletion"]
    snapshot.refresh_from_db()
    assert not can_read_files(curator, model, snapshot)
    with pytest.raises(ValidationError):
        snapshot_withdraw(snapshot=snapshot, reason="again", withdrawn_by=curator)
    assert api_client().get(f"/api/v1/models/{model.repo_id}/").status_code == 200  # the model itself stays


def test_model_page_embeds_json_ld_and_citation(world, client):
    model, snapshot = world["model"], world["snapshot"]
    page = client.get(f"/models/{model.repo_id}/").content.decode()
    data = json.loads(LD.search(page).group(1))
    assert data["@context"] == "https://schema.org"
    assert set(data["@type"]) == {"SoftwareSourceCode", "Dataset"}
    assert data["version"] == snapshot.revision and data["license"] == "mit"
    assert data["identifier"][0] == f"{model.repo_id}@{snapshot.revision}"
    assert data["isBasedOn"][0].endswith(f"/models/{model.repo_id}/")
    assert "Cite this snapshot" in page and f"cite/bibtex" in page
