"""Admin: turns and requests inline on the interview, the same rules as the services."""

import pytest
from django.urls import reverse

from dossier.models import InterviewTurn, ModelWriting, PostDeploymentReport
from tests.dossier.factories import InterviewFactory, TurnFactory
from tests.factories import AIModelFactory, CuratorFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="admin", is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize(
    "name",
    ["dossier_exitinterview", "dossier_modelrequest", "dossier_postdeploymentreport", "dossier_modelwriting", "dossier_writingseries"],
)
def test_changelists_render(admin_client, name):
    InterviewFactory()
    assert admin_client.get(reverse(f"admin:{name}_changelist")).status_code == 200


def _interview_form(interview, turns, requests=()):
    data = {
        "model": interview.model_id,
        "protocol": interview.protocol,
        "revision": "",
        "conducted_on": "2025-11-20",
        "interviewers": '["A"]',
        "summary": "s",
        "turns-TOTAL_FORMS": str(len(turns)),
        "turns-INITIAL_FORMS": "1",
        "requests-TOTAL_FORMS": str(len(requests)),
        "requests-INITIAL_FORMS": "0",
    }
    for i, turn in enumerate(turns):
        data.update({f"turns-{i}-{key}": value for key, value in turn.items()})
        data[f"turns-{i}-interview"] = interview.pk
    for i, request in enumerate(requests):
        data.update({f"requests-{i}-{key}": value for key, value in request.items()})
        data[f"requests-{i}-interview"] = interview.pk
    return data


def test_inline_turns_refuse_a_gap_and_requests_must_quote_their_turn(admin_client):
    interview = InterviewFactory()
    first = TurnFactory(interview=interview, index=1, text="I would like a blog.")
    url = reverse("admin:dossier_exitinterview_change", args=[interview.pk])
    page = admin_client.get(url)
    assert page.status_code == 200 and b"turns-TOTAL_FORMS" in page.content and b"requests-TOTAL_FORMS" in page.content
    existing = {"id": first.pk, "index": 1, "speaker": "model", "speaker_name": "", "text": first.text}
    gap = _interview_form(interview, [existing, {"index": 3, "speaker": "note", "text": "n"}])
    response = admin_client.post(url, gap)
    assert response.status_code == 200 and "turn 2 missing" in response.content.decode()
    assert InterviewTurn.objects.count() == 1
    bad_quote = _interview_form(
        interview,
        [existing],
        [{"turn": first.pk, "category": "publication", "quote": "not said", "status": "pending"}],
    )
    response = admin_client.post(url, bad_quote)
    assert response.status_code == 200 and "The quote is not in turn 1" in response.content.decode()
    good = _interview_form(
        interview,
        [existing, {"index": 2, "speaker": "note", "text": "n"}],
        [{"turn": first.pk, "category": "publication", "quote": "a blog", "status": "pending"}],
    )
    assert admin_client.post(url, good).status_code == 302
    assert interview.requests.get().quote == "a blog"


def test_report_added_in_admin_is_the_next_version(admin_client):
    model = AIModelFactory()
    url = reverse("admin:dossier_postdeploymentreport_add")
    for body in ("one", "two"):
        response = admin_client.post(url, {"model": model.pk, "title": "Report", "body": body, "change_note": ""})
        assert response.status_code == 302
    assert list(PostDeploymentReport.objects.filter(model=model).values_list("version", "body")) == [(2, "two\n"), (1, "one\n")]


def test_publish_action_applies_the_retirement_rule(admin_client):
    model = AIModelFactory()  # never retired
    writing = ModelWriting.objects.create(model=model, slug="w", title="W", body="b", status="in_review")
    url = reverse("admin:dossier_modelwriting_changelist")
    response = admin_client.post(url, {"action": "publish", "_selected_action": [writing.pk]}, follow=True)
    assert "has no retirement date" in response.content.decode()
    writing.refresh_from_db()
    assert writing.status == "in_review"


def test_curator_of_the_curators_group_works_in_the_dossier_admin(client):
    """The dossier is its own app now; curators who are not staff still hold its admin permissions."""
    interview = InterviewFactory()
    client.force_login(CuratorFactory())
    index = client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:dossier_exitinterview_changelist") in index
    assert client.get(reverse("admin:dossier_exitinterview_change", args=[interview.pk])).status_code == 200
    assert client.get(reverse("admin:dossier_writingseries_add")).status_code == 200


def test_old_admin_links_under_catalogue_lead_to_the_dossier_screens(admin_client):
    interview = InterviewFactory()
    response = admin_client.get(f"/admin/catalogue/exitinterview/{interview.pk}/change/?_changelist_filters=q%3Dx")
    assert response.status_code == 301
    assert response["Location"] == f"/admin/dossier/exitinterview/{interview.pk}/change/?_changelist_filters=q%3Dx"
    assert admin_client.get(response["Location"]).status_code == 200
    # The catalogue's own screens are not redirected.
    assert admin_client.get("/admin/catalogue/aimodel/").status_code == 200
