"""Two-person rule (issue 28 part 2), the catalogue's kinds: granting file access (a direct grant, approving a
request) and lowering a model's access level become proposals on restricted models (every model under
CODA_TWO_PERSON_RULE=all); nothing changes before a different curator approves; the proposer cannot approve;
refusals and expiries close a proposal; each step is a `policy assignment` event."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from catalogue import approvals
from catalogue.models import AccessRequest, AIModel, Proposal
from core.events import EventType
from archive.models import PreservationEvent
from tests.factories import AccessRequestFactory, AIModelFactory, CuratorFactory, ProviderFactory, UserFactory, api_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    return {"alice": CuratorFactory(username="alice"), "bob": CuratorFactory(username="bob"),
            "rita": UserFactory(username="rita")}


def restricted_model(**fields):
    return AIModelFactory(provider=ProviderFactory(slug="lab"), name="secret",
                          **({"metadata_access": "restricted", "file_access": "restricted"} | fields))


def policy_events(proposal):
    return list(PreservationEvent.objects.filter(event_type=EventType.POLICY, detail__proposal=proposal.pk)
                .order_by("id"))


def approve(user, proposal_id, **body):
    return api_client(user).post(f"/api/v1/approvals/{proposal_id}/approve/", body, format="json")


def _grant(people, model):
    return api_client(people["alice"]).post(f"/api/v1/models/{model.repo_id}/access-grants/", {"user": "rita"},
                                            format="json")


def _request_approve(people, model):
    row = AccessRequestFactory(user=people["rita"], model=model)
    return api_client(people["alice"]).post(f"/api/v1/access-requests/{row.pk}/approve/", {}, format="json")


def _lower_files(people, model):
    return api_client(people["alice"]).patch(f"/api/v1/models/{model.repo_id}/", {"file_access": "public"},
                                             format="json")


def _lower_metadata(people, model):
    return api_client(people["alice"]).patch(f"/api/v1/models/{model.repo_id}/", {"metadata_access": "public"},
                                             format="json")


def _granted(people, model):
    return AccessRequest.objects.filter(user=people["rita"], model=model, status="approved").exists()


CASES = {
    # kind: (door, what the change looks like once applied)
    "access_grant": (_grant, _granted),
    "access_request_approve": (_request_approve, _granted),
    "model_access": (_lower_files, lambda people, model: AIModel.objects.get(pk=model.pk).file_access == "public"),
    "model_access-metadata": (_lower_metadata,
                              lambda people, model: AIModel.objects.get(pk=model.pk).metadata_access == "public"),
}


@pytest.mark.parametrize("case", CASES)
def test_each_change_waits_for_a_second_curator(people, case):
    door, applied = CASES[case]
    model = restricted_model(**({"metadata_access": "public"} if case == "access_request_approve" else {}))
    answer = door(people, model)
    assert answer.status_code == 202, answer.content
    body = answer.json()
    assert body["approval_required"] is True and f"/api/v1/approvals/{body['proposal']['id']}/approve/" in body["detail"]
    proposal = Proposal.objects.get(pk=body["proposal"]["id"])
    assert proposal.kind == case.split("-")[0] and proposal.status == "pending" and proposal.proposed_by == people["alice"]
    assert body["proposal"]["model"] == "lab/secret" and body["proposal"]["proposed_by"] == "alice"
    assert not applied(people, model)  # nothing changed before approval

    # The proposer cannot approve their own change.
    refused = approve(people["alice"], proposal.pk)
    assert refused.status_code == 403 and refused.json()["code"] == "self_approval", refused.content
    assert "different curator" in refused.json()["detail"]
    assert not applied(people, model) and Proposal.objects.get(pk=proposal.pk).status == "pending"

    done = approve(people["bob"], proposal.pk, note="checked the contract")
    assert done.status_code == 200, done.content
    assert done.json()["status"] == "approved" and done.json()["decided_by"] == "bob"
    assert applied(people, model)
    events = policy_events(proposal)
    assert [e.detail["action"] for e in events] == ["proposed", "approved"]
    assert events[0].agent == "user:alice" and events[1].agent == "user:bob"
    assert events[1].detail | {"result": None} == events[1].detail | {
        "kind": proposal.kind, "proposal": proposal.pk, "proposed_by": "alice", "decided_by": "bob",
        "note": "checked the contract", "result": None}
    # A decided proposal cannot be decided again.
    again = approve(CuratorFactory(username="carol"), proposal.pk)
    assert again.status_code == 409 and again.json()["code"] == "proposal_decided"


def test_approval_records_the_change_itself_too(people):
    model = restricted_model()
    proposal_id = _lower_files(people, model).json()["proposal"]["id"]
    approve(people["bob"], proposal_id)
    change = PreservationEvent.objects.get(event_type=EventType.ACCESS, model=model)
    assert change.detail == {"file_access": {"from": "restricted", "to": "public"}}


def test_services_refuse_the_change_without_an_approved_proposal(people):
    """No door can skip the rule: the service itself says 409 approval_required."""
    from catalogue import access
    from core.exceptions import ConflictError

    model = restricted_model()
    with pytest.raises(ConflictError, match="second curator") as caught:
        access.model_access_set(model=model, changed_by=people["alice"], file_access="public")
    assert caught.value.code == "approval_required"
    with pytest.raises(ConflictError, match="second curator"):
        access.access_grant_create(model=model, user=people["rita"], granted_by=people["alice"])
    assert AIModel.objects.get(pk=model.pk).file_access == "restricted" and not _granted(people, model)


def test_safe_changes_and_open_models_apply_at_once(people):
    model = restricted_model(file_access="gated")
    # Raising a level is not dangerous: applied now.
    answer = api_client(people["alice"]).patch(f"/api/v1/models/{model.repo_id}/", {"file_access": "restricted"},
                                               format="json")
    assert answer.status_code == 200 and answer.json()["file_access"] == "restricted"
    # A model with nothing restricted: the default rule lets one curator grant.
    open_model = AIModelFactory(provider=ProviderFactory(slug="lab"), name="open", file_access="gated")
    assert _grant(people, open_model).status_code == 201 and _granted(people, open_model)
    assert not Proposal.objects.exists()


def test_patch_applies_other_fields_and_proposes_the_lowering(people):
    model = restricted_model()
    answer = api_client(people["alice"]).patch(f"/api/v1/models/{model.repo_id}/",
                                               {"file_access": "public", "family": "Renamed"}, format="json")
    assert answer.status_code == 202
    assert answer.json()["model"]["family"] == "Renamed" and answer.json()["model"]["file_access"] == "restricted"
    assert AIModel.objects.get(pk=model.pk).file_access == "restricted"


def test_rule_all_covers_every_model_and_off_none(people, settings):
    settings.CODA_TWO_PERSON_RULE = "all"
    open_model = AIModelFactory(provider=ProviderFactory(slug="lab"), name="open", file_access="gated")
    assert _grant(people, open_model).status_code == 202 and not _granted(people, open_model)
    settings.CODA_TWO_PERSON_RULE = "off"
    model = restricted_model()
    assert _lower_files(people, model).status_code == 200
    assert AIModel.objects.get(pk=model.pk).file_access == "public"


def test_refusal_closes_the_proposal_and_changes_nothing(people):
    model = restricted_model()
    proposal_id = _grant(people, model).json()["proposal"]["id"]
    answer = api_client(people["bob"]).post(f"/api/v1/approvals/{proposal_id}/refuse/", {"note": "no contract"},
                                            format="json")
    assert answer.status_code == 200 and answer.json()["status"] == "refused"
    assert approve(CuratorFactory(username="carol"), proposal_id).status_code == 409
    assert not _granted(people, model)
    proposal = Proposal.objects.get(pk=proposal_id)
    assert [e.detail["action"] for e in policy_events(proposal)] == ["proposed", "refused"]
    assert policy_events(proposal)[1].outcome == "failure"


def test_proposals_expire_on_a_moved_clock(people, settings, monkeypatch):
    settings.CODA_APPROVAL_TTL_HOURS = 2
    model = restricted_model()
    proposal_id = _grant(people, model).json()["proposal"]["id"]
    proposal = Proposal.objects.get(pk=proposal_id)
    assert proposal.expires_at - proposal.created_at == pytest.approx(timedelta(hours=2), abs=timedelta(seconds=5))
    real_now = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real_now() + timedelta(hours=1, minutes=59))
    assert approvals.proposals_expire() == 0  # not yet
    monkeypatch.setattr(timezone, "now", lambda: real_now() + timedelta(hours=2, minutes=1))
    late = approve(people["bob"], proposal_id)
    assert late.status_code == 409 and "expired" in late.json()["detail"]
    assert Proposal.objects.get(pk=proposal_id).status == "expired" and not _granted(people, model)
    listed = api_client(people["bob"]).get("/api/v1/approvals/", {"status": "expired"}).json()["results"]
    assert [p["id"] for p in listed] == [proposal_id]
    events = policy_events(proposal)
    assert [e.detail["action"] for e in events] == ["proposed", "expired"] and events[1].agent == "system"
    assert approvals.proposals_expire() == 0  # once


def test_beat_task_expires_pending_proposals(people, monkeypatch):
    from archive.tasks import proposals_expire

    model = restricted_model()
    proposal_id = _grant(people, model).json()["proposal"]["id"]
    real_now = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real_now() + timedelta(days=4))
    assert proposals_expire.apply().get() == 1
    assert Proposal.objects.get(pk=proposal_id).status == "expired"


def test_list_filters_and_detail(people):
    model = restricted_model()
    first = _grant(people, model).json()["proposal"]["id"]
    second = _lower_files(people, model).json()["proposal"]["id"]
    client = api_client(people["bob"])
    assert [p["id"] for p in client.get("/api/v1/approvals/").json()["results"]] == [second, first]
    assert [p["id"] for p in client.get("/api/v1/approvals/", {"kind": "access_grant"}).json()["results"]] == [first]
    assert [p["id"] for p in client.get("/api/v1/approvals/", {"model": "lab/secret", "status": "pending"})
            .json()["results"]] == [second, first]
    assert client.get("/api/v1/approvals/", {"model": "lab/other"}).json()["results"] == []
    bad = client.get("/api/v1/approvals/", {"status": "maybe"})
    assert bad.status_code == 400 and "maybe" in bad.content.decode()
    detail = client.get(f"/api/v1/approvals/{first}/").json()
    assert detail["summary"] == "Grant rita access to lab/secret's files" and detail["params"]["user"] == "rita"
    assert client.get("/api/v1/approvals/999999/").status_code == 404


@pytest.mark.parametrize("who,status", [("anonymous", 401), ("researcher", 403)])
def test_non_curators_cannot_list_or_decide(people, who, status):
    model = restricted_model()
    proposal_id = _grant(people, model).json()["proposal"]["id"]
    client = api_client(None if who == "anonymous" else people["rita"])
    assert client.get("/api/v1/approvals/").status_code == status
    assert client.get(f"/api/v1/approvals/{proposal_id}/").status_code == status
    assert client.post(f"/api/v1/approvals/{proposal_id}/approve/", {}, format="json").status_code == status
    assert Proposal.objects.get(pk=proposal_id).status == "pending" and not _granted(people, model)


def test_invalid_change_is_refused_not_proposed(people):
    model = restricted_model()
    row = AccessRequestFactory(user=people["rita"], model=model, status="denied")
    answer = api_client(people["alice"]).post(f"/api/v1/access-requests/{row.pk}/approve/", {}, format="json")
    assert answer.status_code == 409 and "denied" in answer.json()["detail"]
    assert not Proposal.objects.exists()


def test_approval_rechecks_the_change_is_still_valid(people):
    model = restricted_model()
    row = AccessRequestFactory(user=people["rita"], model=model)
    proposal_id = api_client(people["alice"]).post(f"/api/v1/access-requests/{row.pk}/approve/", {},
                                                   format="json").json()["proposal"]["id"]
    api_client(people["alice"]).post(f"/api/v1/access-requests/{row.pk}/deny/", {}, format="json")  # deny: safe
    answer = approve(people["bob"], proposal_id)
    assert answer.status_code == 409 and "denied" in answer.json()["detail"]
    assert Proposal.objects.get(pk=proposal_id).status == "pending"  # nothing half-done: still to refuse
    assert AccessRequest.objects.get(pk=row.pk).status == "denied"


def test_manage_py_approvals_lists_and_approves(people, capsys):
    model = restricted_model()
    proposal_id = _grant(people, model).json()["proposal"]["id"]
    call_command("approvals", "list", "--status", "pending")
    assert f"{proposal_id}\tpending\taccess_grant\talice" in capsys.readouterr().out
    with pytest.raises(CommandError, match="different curator"):
        call_command("approvals", "approve", str(proposal_id), "--by", "alice")
    call_command("approvals", "approve", str(proposal_id), "--by", "bob")
    assert f"Proposal {proposal_id} approved" in capsys.readouterr().out
    assert _granted(people, model)


def test_a_proposer_who_is_no_longer_a_curator_cannot_have_changes_approved(people):
    model = restricted_model()
    proposal_id = _grant(people, model).json()["proposal"]["id"]
    people["alice"].groups.clear()
    answer = approve(people["bob"], proposal_id)
    assert answer.status_code == 409 and answer.json()["code"] == "proposer_not_curator"
    assert not _granted(people, model)


def test_scheduling_a_lower_level_waits_for_a_second_curator(people):
    """An embargo that lifts (restricted → public on a date) is a lowering too: proposed, then scheduled."""
    from catalogue.models import AccessChange

    model = restricted_model(metadata_access="public")
    url = f"/api/v1/models/{model.repo_id}/access-changes/"
    when = (timezone.localdate() + timedelta(days=30)).isoformat()
    answer = api_client(people["alice"]).post(url, {"field": "file_access", "level": "public", "effective_on": when},
                                              format="json")
    assert answer.status_code == 202, answer.content
    assert answer.json()["proposal"]["summary"] == f"Lower lab/secret's file access from restricted to public on {when}"
    assert not AccessChange.objects.exists()
    assert approve(people["bob"], answer.json()["proposal"]["id"]).status_code == 200
    change = AccessChange.objects.get()
    assert (change.level, change.effective_on.isoformat(), change.created_by) == ("public", when, people["alice"])
    # Scheduling a stricter level applies at once.
    stricter = api_client(people["alice"]).post(url, {"field": "metadata_access", "level": "restricted",
                                                      "effective_on": when}, format="json")
    assert stricter.status_code == 201


def test_only_curators_see_the_rules_events(people, settings):
    """A proposal names the curators and the researcher it would let in: like access events, for curators only."""
    settings.CODA_TWO_PERSON_RULE = "all"
    open_model = AIModelFactory(provider=ProviderFactory(slug="lab"), name="open", file_access="gated")
    proposal_id = _grant(people, open_model).json()["proposal"]["id"]
    approve(people["bob"], proposal_id)
    seen = {e["detail"].get("action") for e in api_client(people["bob"]).get("/api/v1/events/", {"model": "lab/open"})
            .json()["results"]}
    assert {"proposed", "approved"} <= seen
    for user in (None, people["rita"]):
        events = api_client(user).get("/api/v1/events/", {"model": "lab/open"}).json()["results"]
        assert not [e for e in events if "proposal" in e["detail"]]
