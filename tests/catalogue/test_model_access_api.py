"""Curators set a model's metadata_access, file_access and access_terms through PATCH; each change is an
`access` event with the old and new value (catalogue.access.model_access_set). Nobody else can."""

import pytest

from archive.models import EventOutcome, EventType, PreservationEvent
from catalogue.models import AIModel
from tests.factories import AIModelFactory, CuratorFactory, ProviderFactory, api_client

URL = "/api/v1/models/acme/m-1/"


@pytest.fixture
def model(db):
    return AIModelFactory(provider=ProviderFactory(slug="acme"), name="m-1", metadata_access="public", file_access="gated")


def access_events():
    return PreservationEvent.objects.filter(event_type=EventType.ACCESS).order_by("pk")


def test_curator_sets_each_access_field_and_each_change_is_an_event(model, curator):
    client = api_client(curator)
    response = client.patch(URL, {"metadata_access": "restricted"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["metadata_access"] == "restricted"
    response = client.patch(URL, {"file_access": "public", "access_terms": "Cite the archive."}, format="json")
    # Its metadata is restricted now, so opening its files waits for a second curator (two-person rule).
    assert response.status_code == 202, response.content
    model.refresh_from_db()
    assert (model.file_access, model.access_terms) == ("gated", "")
    second = api_client(CuratorFactory(username="second"))
    assert second.post(f"/api/v1/approvals/{response.json()['proposal']['id']}/approve/").status_code == 200
    model.refresh_from_db()
    assert (model.metadata_access, model.file_access, model.access_terms) == ("restricted", "public", "Cite the archive.")
    events = list(access_events())
    assert [e.detail for e in events] == [
        {"metadata_access": {"from": "public", "to": "restricted"}},
        {"file_access": {"from": "gated", "to": "public"}},
        {"access_terms": {"from": "", "to": "Cite the archive."}},
    ]
    assert {(e.outcome, e.agent, e.model_id) for e in events} == {(EventOutcome.SUCCESS, f"user:{curator.username}", model.pk)}


def test_unchanged_value_records_no_event(model, curator):
    response = api_client(curator).patch(URL, {"file_access": "gated", "display_name": "New"}, format="json")
    assert response.status_code == 200
    assert AIModel.objects.get(pk=model.pk).display_name == "New"
    assert not access_events().exists()


def test_invalid_level_is_400_naming_the_field(model, curator):
    response = api_client(curator).patch(URL, {"file_access": "everyone"}, format="json")
    assert response.status_code == 400 and "file_access" in response.json()["errors"]
    assert AIModel.objects.get(pk=model.pk).file_access == "gated" and not access_events().exists()


@pytest.mark.parametrize("role", ["anonymous", "researcher"])
@pytest.mark.parametrize("payload", [{"metadata_access": "restricted"}, {"file_access": "public"}, {"access_terms": "x"}])
def test_non_curators_cannot_change_access(model, researcher, role, payload):
    client = api_client(researcher if role == "researcher" else None)
    response = client.patch(URL, payload, format="json")
    assert response.status_code in (401, 403), response.content
    model_now = AIModel.objects.get(pk=model.pk)
    assert (model_now.metadata_access, model_now.file_access, model_now.access_terms) == ("public", "gated", "")
    assert not access_events().exists()


def test_restricting_metadata_hides_the_model_from_anonymous_callers(model, curator):
    assert api_client().get(URL).status_code == 200
    api_client(curator).patch(URL, {"metadata_access": "restricted"}, format="json")
    assert api_client().get(URL).status_code == 404
