"""Access requests: creation rules, curator decisions through the API and the admin, events for every decision."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from archive.models import EventType, PreservationEvent
from catalogue import access
from core.exceptions import ConflictError, ForbiddenError
from catalogue.models import AccessRequest
from catalogue.permissions import can_read_files
from tests.factories import AccessRequestFactory, AIModelFactory, CuratorFactory, ProviderFactory, UserFactory, api_client

pytestmark = pytest.mark.django_db

REQUEST = {"purpose": "Compare refusals across versions", "affiliation": "Example University", "accepted_terms": True}


@pytest.fixture
def model(db):
    return AIModelFactory(provider=ProviderFactory(slug="lab"), name="gated-1", file_access="gated")


def url(model):
    return f"/api/v1/models/{model.provider.slug}/{model.name}/access-requests/"


def decision_events():
    return PreservationEvent.objects.filter(event_type=EventType.ACCESS, detail__has_key="decision")


def test_researcher_requests_and_sees_only_own(researcher_client, model):
    response = researcher_client.post(url(model), REQUEST, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "pending" and body["model"] == "lab/gated-1" and body["user"] == "researcher"
    AccessRequestFactory(model=model, user=UserFactory(username="other"))
    listed = researcher_client.get(url(model)).json()["results"]
    assert [row["user"] for row in listed] == ["researcher"]
    assert [row["user"] for row in researcher_client.get("/api/v1/access-requests/").json()["results"]] == ["researcher"]


def test_anonymous_cannot_request(anon_client, model):
    assert anon_client.post(url(model), REQUEST, format="json").status_code == 401


@pytest.mark.parametrize(
    "change,field",
    [({"accepted_terms": False}, "accepted_terms"), ({"purpose": " "}, "purpose"), ({"affiliation": ""}, "affiliation")],
)
def test_request_needs_purpose_affiliation_and_terms(researcher_client, model, change, field):
    response = researcher_client.post(url(model), {**REQUEST, **change}, format="json")
    assert response.status_code == 400 and field in response.json()["errors"]
    assert not AccessRequest.objects.exists()


def test_second_pending_request_is_409(researcher_client, model):
    assert researcher_client.post(url(model), REQUEST, format="json").status_code == 201
    response = researcher_client.post(url(model), REQUEST, format="json")
    assert response.status_code == 409 and response.json()["code"] == "access_request_pending"


@pytest.mark.parametrize("level,words", [("public", "public"), ("restricted", "restricted to curators")])
def test_requests_only_for_gated_files(researcher, model, level, words):
    model.file_access = level
    model.save()
    with pytest.raises(ConflictError, match=words):
        access.access_request_create(user=researcher, model=model, **REQUEST)


def test_gated_snapshot_of_public_model_can_be_requested(researcher, model):
    from archive.models import Snapshot

    model.file_access = "public"
    model.save()
    Snapshot.objects.create(model=model, source="x", file_access="gated")
    assert access.access_request_create(user=researcher, model=model, **REQUEST).status == "pending"


def test_curator_approves_with_expiry_and_it_is_an_event(curator_client, researcher, model):
    request = access.access_request_create(user=researcher, model=model, **REQUEST)
    assert not can_read_files(researcher, model)
    response = curator_client.post(
        f"/api/v1/access-requests/{request.pk}/approve", {"expires_in_days": 30, "note": "ok"}, format="json"
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "approved" and body["decided_by"] == "curator" and body["is_current_grant"]
    expires = AccessRequest.objects.get().expires_at
    assert timedelta(days=29) < expires - timezone.now() <= timedelta(days=30)
    assert can_read_files(researcher, model)
    event = decision_events().get()
    assert event.detail["decision"] == "approved" and event.detail["user"] == "researcher"
    assert event.agent == "user:curator" and event.model_id == model.pk and event.outcome == "success"


def test_curator_denies_and_revokes(curator_client, researcher, model):
    first = access.access_request_create(user=researcher, model=model, **REQUEST)
    response = curator_client.post(f"/api/v1/access-requests/{first.pk}/deny/", {"note": "need more detail"}, format="json")
    assert response.json()["status"] == "denied"
    second = access.access_request_create(user=researcher, model=model, **REQUEST)
    curator_client.post(f"/api/v1/access-requests/{second.pk}/approve", {}, format="json")
    assert can_read_files(researcher, model)
    assert curator_client.post(f"/api/v1/access-requests/{second.pk}/revoke", {}, format="json").status_code == 200
    assert not can_read_files(researcher, model)
    assert [e.detail["decision"] for e in decision_events().order_by("id")] == ["denied", "approved", "revoked"]
    assert [e.outcome for e in decision_events().order_by("id")] == ["failure", "success", "failure"]


def test_decided_request_cannot_be_decided_again(curator_client, researcher, model):
    request = access.access_request_create(user=researcher, model=model, **REQUEST)
    curator_client.post(f"/api/v1/access-requests/{request.pk}/deny", {}, format="json")
    response = curator_client.post(f"/api/v1/access-requests/{request.pk}/approve", {}, format="json")
    assert response.status_code == 409 and "denied" in response.json()["detail"]
    assert decision_events().count() == 1


def test_expiry_in_the_past_is_400(curator_client, researcher, model):
    request = access.access_request_create(user=researcher, model=model, **REQUEST)
    past = (timezone.now() - timedelta(hours=1)).isoformat()
    response = curator_client.post(f"/api/v1/access-requests/{request.pk}/approve", {"expires_at": past}, format="json")
    assert response.status_code == 400 and "future" in response.json()["detail"]
    assert AccessRequest.objects.get().status == "pending"


def test_researcher_cannot_decide(researcher_client, anon_client, researcher, model):
    request = access.access_request_create(user=researcher, model=model, **REQUEST)
    assert researcher_client.post(f"/api/v1/access-requests/{request.pk}/approve", {}, format="json").status_code == 403
    assert anon_client.post(f"/api/v1/access-requests/{request.pk}/approve", {}, format="json").status_code == 401
    with pytest.raises(ForbiddenError):
        access.access_request_decide(access_request=request, decided_by=researcher, decision="approve")
    assert AccessRequest.objects.get().status == "pending" and not decision_events().exists()


def test_request_detail_visible_to_owner_and_curators_only(researcher_client, curator_client, model):
    other = AccessRequestFactory(model=model, user=UserFactory(username="other"))
    assert researcher_client.get(f"/api/v1/access-requests/{other.pk}/").status_code == 404
    assert curator_client.get(f"/api/v1/access-requests/{other.pk}/").json()["user"] == "other"
    listed = curator_client.get("/api/v1/access-requests/?status=pending&model=lab/gated-1").json()["results"]
    assert [row["id"] for row in listed] == [other.pk]


@pytest.mark.parametrize("days", [365, 30, 0])
def test_approval_without_expiry_lasts_the_configured_days(curator, researcher, model, settings, days):
    settings.CODA_ACCESS_GRANT_DAYS = days
    request = access.access_request_create(user=researcher, model=model, **REQUEST)
    before = timezone.now()
    access.access_request_decide(access_request=request, decided_by=curator, decision="approve")
    request.refresh_from_db()
    if days:
        assert before + timedelta(days=days) <= request.expires_at <= timezone.now() + timedelta(days=days)
    else:
        assert request.expires_at is None  # open-ended grants only when configured so


def test_unknown_decision_is_a_validation_error(curator, researcher, model):
    request = access.access_request_create(user=researcher, model=model, **REQUEST)
    with pytest.raises(ValidationError):
        access.access_request_decide(access_request=request, decided_by=curator, decision="maybe")


@pytest.mark.parametrize("kind", ["curators group", "staff", "superuser"])
def test_admin_approval_goes_through_the_service(client, researcher, model, kind):
    curator = {
        "curators group": lambda: CuratorFactory(username="cur"),  # not staff: the admin follows is_curator
        "staff": lambda: UserFactory(username="staff", is_staff=True),
        "superuser": lambda: UserFactory(username="root", is_staff=True, is_superuser=True),
    }[kind]()
    request = access.access_request_create(user=researcher, model=model, **REQUEST)
    client.force_login(curator)
    change = f"/admin/catalogue/accessrequest/{request.pk}/change/"
    assert client.get(change).status_code == 200
    # The model page's "decide in the admin" link (pending requests of one model) is an allowed filter.
    queue = client.get(f"/admin/catalogue/accessrequest/?model__id__exact={model.pk}&status__exact=pending")
    assert queue.status_code == 200 and "Example University" in queue.content.decode()
    day = (timezone.now() + timedelta(days=10)).strftime("%Y-%m-%d")
    response = client.post(
        change, {"decision": "approve", "grant_expires_at_0": day, "grant_expires_at_1": "12:00:00", "note": "granted"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    request.refresh_from_db()
    assert request.status == "approved" and request.decided_by == curator and request.expires_at.strftime("%Y-%m-%d") == day
    assert decision_events().get().detail["decision"] == "approved"
    # Approving again is refused with the reason on the form, and records nothing.
    again = client.post(change, {"decision": "approve", "note": ""})
    assert again.status_code == 200 and "cannot be approved" in again.content.decode()
    assert decision_events().count() == 1


def test_curator_grants_a_researcher_a_model_they_cannot_see(curator_client, researcher_client, researcher, curator):
    """Restricted metadata: the researcher cannot find the model to ask, so a curator grants them by name;
    the grant opens metadata and files, expires like any other and is an access event."""
    hidden = AIModelFactory(provider=ProviderFactory(slug="lab"), name="hidden", metadata_access="restricted",
                            file_access="gated")
    detail = "/api/v1/models/lab/hidden/"
    assert researcher_client.get(detail).status_code == 404
    assert researcher_client.post(detail + "access-requests/", REQUEST, format="json").status_code == 404
    grant = detail + "access-grants/"
    assert researcher_client.post(grant, {"user": researcher.username}, format="json").status_code == 403
    assert curator_client.post(grant, {"user": "nobody"}, format="json").status_code == 404
    response = curator_client.post(grant, {"user": researcher.username, "expires_in_days": 10, "note": "Project X"},
                                   format="json")
    # A restricted model: the grant waits for a second curator (two-person rule), and nothing opens before.
    assert response.status_code == 202, response.json()
    assert researcher_client.get(detail).status_code == 404
    second = api_client(CuratorFactory(username="second"))
    approved = second.post(f"/api/v1/approvals/{response.json()['proposal']['id']}/approve/")
    assert approved.status_code == 200, approved.json()
    body = curator_client.get(f"/api/v1/access-requests/{approved.json()['result']['access_request']}/").json()
    assert body["status"] == "approved" and body["user"] == researcher.username
    assert researcher_client.get(detail).status_code == 200
    row = AccessRequest.objects.get(model=hidden, user=researcher)
    assert row.decided_by == curator and timezone.now() + timedelta(days=9) < row.expires_at < timezone.now() + timedelta(days=11)
    assert decision_events().get(model=hidden).detail["decision"] == "approved"
    again = curator_client.post(grant, {"user": researcher.username}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "access_already_granted"
    # Once it expires the model is hidden again.
    AccessRequest.objects.filter(pk=row.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert researcher_client.get(detail).status_code == 404


def test_granting_approves_a_pending_request_instead_of_adding_one(curator, researcher, model):
    pending = access.access_request_create(user=researcher, model=model, **REQUEST)
    granted = access.access_grant_create(model=model, user=researcher, granted_by=curator)
    assert granted.pk == pending.pk and granted.status == "approved"
    assert AccessRequest.objects.filter(model=model, user=researcher).count() == 1
