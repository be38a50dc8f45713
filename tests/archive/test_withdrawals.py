"""Tombstones: a withdrawn model or snapshot keeps its record and citation, its doors answer 410 Gone with the
reason and date, no one is served its bytes, and each state change (and the choice about the bytes) is an event.
A withdrawn snapshot answers 410 on /hf (revision info, tree, resolve) while its siblings stay served.
The model page embeds schema.org JSON-LD (expanded by pyld to schema.org IRIs) and a "Cite this snapshot" block."""

import json
import re
from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_date
from pyld import jsonld

from archive.models import EventType, PreservationEvent
from archive.withdrawals import model_withdraw, snapshot_withdraw
from catalogue.permissions import can_read_files
from core.exceptions import ForbiddenError
from tests.archive.citation.snapshots import sealed_snapshot
from tests.factories import AIModelFactory, CuratorFactory, UserFactory, api_client

pytestmark = pytest.mark.django_db
LD = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.S)
SCHEMA = "https://schema.org/"
# No network here, so the schema.org context is served locally: the minimal `@vocab` context plus the one coercion
# the page relies on (isBasedOn and url hold links, as in schema.org's published context). Terms therefore expand
# to https://schema.org/ IRIs, consistent with the page's "@context": "https://schema.org".
SCHEMA_CONTEXT = {"@context": {"@vocab": SCHEMA, "isBasedOn": {"@type": "@id"}, "url": {"@type": "@id"}}}


def schema_org_loader(url, options):
    """pyld document loader that knows only schema.org's context; any other remote document fails the test."""
    if url.rstrip("/") != SCHEMA.rstrip("/"):
        raise AssertionError(f"the JSON-LD asked for a remote document: {url}")
    return {"contentType": "application/ld+json", "contextUrl": None, "documentUrl": url, "document": SCHEMA_CONTEXT}


@pytest.fixture
def world():
    model = AIModelFactory(file_access="public", license="mit", release_date=date(2024, 3, 1))
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

    # The same data as JSON-LD: expanded by a JSON-LD processor, every property is a schema.org IRI, none dropped.
    dropped = []
    [node] = jsonld.expand(data, {"documentLoader": schema_org_loader}, on_property_dropped=dropped.append)
    assert dropped == []
    assert set(node["@type"]) == {SCHEMA + "SoftwareSourceCode", SCHEMA + "Dataset"}
    assert node["@id"] == data["url"] and node["@id"].startswith("http")

    def values(term):
        return [v.get("@value", v.get("@id")) for v in node[SCHEMA + term]]

    assert values("identifier")[0] == f"{model.repo_id}@{snapshot.revision}"
    assert values("version") == [snapshot.revision]
    assert values("license") == ["mit"]
    assert parse_date(values("dateCreated")[0]) == snapshot.sealed_at.date()
    assert parse_date(values("datePublished")[0]) == date(2024, 3, 1)
    [based_on] = node[SCHEMA + "isBasedOn"]
    assert list(based_on) == ["@id"] and based_on["@id"].startswith("http")  # a link, not text
    assert based_on["@id"].endswith(f"/models/{model.repo_id}/")
    assert node[SCHEMA + "creator"][0]["@type"] == [SCHEMA + "Organization"]


def test_withdrawn_snapshot_answers_410_on_hf_with_reason_and_date(world, client):
    model, snapshot, curator = world["model"], world["snapshot"], world["curator"]
    kept = sealed_snapshot(model, seq=-1)  # an older snapshot of the same model, not withdrawn
    snapshot_withdraw(snapshot=snapshot, reason="Wrong files uploaded", keep_bytes="keep", withdrawn_by=curator)
    snapshot.refresh_from_db()
    day = f"{snapshot.withdrawn_at:%Y-%m-%d}"
    for url in (f"/hf/api/models/{model.repo_id}/revision/{snapshot.revision}",
                f"/hf/api/models/{model.repo_id}/tree/{snapshot.revision}",
                f"/hf/{model.repo_id}/resolve/{snapshot.revision}/config.json"):
        for who in (client, api_client(curator)):  # not even a curator is served a withdrawn snapshot
            answer = who.get(url)
            assert answer.status_code == 410, url
            assert answer["X-Error-Code"] == "RevisionWithdrawn"
            message = answer.json()["error"]
            assert "Wrong files uploaded" in message and day in message and snapshot.revision in message
    # Only that snapshot is gone: its sibling and the model still answer.
    assert client.get(f"/hf/api/models/{model.repo_id}/revision/{kept.revision}").status_code == 200
    assert client.get(f"/hf/api/models/{model.repo_id}/revision/{kept.revision}").json()["sha"] == kept.revision
