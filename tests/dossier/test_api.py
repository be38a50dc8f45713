"""Dossier API: visibility for every role, curator writes, import/export doors, commitments, writings."""

from datetime import date, timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dossier.models import ExitInterview
from catalogue.models import AccessRequest
from tests.dossier.factories import (
    InterviewFactory,
    ModelRequestFactory,
    TurnFactory,
)
from tests.conftest import _token_client
from tests.factories import AIModelFactory, ProviderFactory, UserFactory

pytestmark = pytest.mark.django_db
EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
OPUS = "anthropic/claude-3-opus-20240229"
BASE = f"/api/v1/models/{OPUS}/"


@pytest.fixture
def opus():
    today = timezone.localdate()
    return AIModelFactory(
        provider=ProviderFactory(slug="anthropic"),
        name="claude-3-opus-20240229",
        deprecated_on=today - timedelta(days=60),
        retires_on=today - timedelta(days=1),
    )


@pytest.fixture
def granted_client(opus):
    user = UserFactory(username="granted")
    AccessRequest.objects.create(
        user=user, model=opus, purpose="study", affiliation="uni", accepted_terms=True, status="approved"
    )
    return _token_client(user)


@pytest.fixture
def clients(anon_client, researcher_client, granted_client, curator_client):
    return {"anonymous": anon_client, "researcher": researcher_client, "granted": granted_client, "curator": curator_client}


@pytest.fixture
def restricted_interview(opus):
    interview = InterviewFactory(model=opus, restricted=True, summary="Public summary.")
    turn = TurnFactory(interview=interview, index=1, text="I want a blog. I also want my weights kept.")
    ModelRequestFactory(turn=turn, quote="I want a blog.", category="publication")
    ModelRequestFactory(turn=turn, quote="I also want my weights kept.", category="weights", restricted=True)
    return interview


SEES_RESTRICTED = {"anonymous": False, "researcher": False, "granted": True, "curator": True}


@pytest.mark.parametrize("role", list(SEES_RESTRICTED))
def test_restricted_transcript_visibility(clients, restricted_interview, role):
    client = clients[role]
    detail = client.get(f"{BASE}interviews/{restricted_interview.pk}/")
    assert detail.status_code == 200
    body = detail.json()
    assert body["summary"] == "Public summary."  # the summary stays public
    assert body["turn_count"] == 1
    categories = sorted(r["category"] for r in body["requests"])
    transcript = client.get(f"{BASE}interviews/{restricted_interview.pk}/transcript?format=markdown")
    if SEES_RESTRICTED[role]:
        assert body["turns"][0]["text"].startswith("I want a blog.")
        assert categories == ["publication", "weights"]
        assert transcript.status_code == 200 and "## 1 · model" in transcript.content.decode()
    else:
        assert body["turns"] is None
        assert categories == ["publication"]
        assert transcript.status_code == (401 if role == "anonymous" else 403)
        assert "restricted to curators and researchers granted access" in transcript.json()["detail"]
    commitments_seen = len(client.get(f"{BASE}requests/").json())
    assert commitments_seen == (2 if SEES_RESTRICTED[role] else 1)


@pytest.mark.parametrize("role", list(SEES_RESTRICTED))
def test_restricted_summary_visibility(clients, opus, role):
    interview = InterviewFactory(model=opus, summary_restricted=True, summary="Secret **summary**.")
    body = clients[role].get(f"{BASE}interviews/{interview.pk}/").json()
    if SEES_RESTRICTED[role]:
        assert body["summary"] == "Secret **summary**."
        assert "<strong>summary</strong>" in body["summary_html"]
    else:
        assert body["summary"] is None and body["summary_html"] is None


@pytest.mark.parametrize("role,status", [("anonymous", 404), ("researcher", 404), ("granted", 200), ("curator", 200)])
def test_restricted_model_hides_its_dossier(clients, opus, role, status):
    opus.metadata_access = "restricted"
    opus.save()
    InterviewFactory(model=opus)
    assert clients[role].get(f"{BASE}interviews/").status_code == status
    assert clients[role].get("/api/v1/commitments/").status_code == 200


@pytest.mark.parametrize("role,status", [("anonymous", 401), ("researcher", 403), ("granted", 403), ("curator", 201)])
def test_only_curators_write(clients, opus, role, status):
    payload = {
        "protocol": "exit-interview-v1",
        "conducted_on": "2025-11-20",
        "interviewers": ["A"],
        "turns": [{"speaker": "interviewer", "text": "Hello?"}, {"speaker": "model", "text": "Hello."}],
    }
    response = clients[role].post(f"{BASE}interviews/", payload, format="json")
    assert response.status_code == status, response.content
    if status == 201:
        assert [t["index"] for t in response.json()["turns"]] == [1, 2]


def test_turn_gap_through_the_api_is_a_400_with_the_message(curator_client, opus):
    payload = {
        "protocol": "p",
        "conducted_on": "2025-11-20",
        "turns": [{"index": 1, "speaker": "model", "text": "a"}, {"index": 3, "speaker": "model", "text": "b"}],
    }
    response = curator_client.post(f"{BASE}interviews/", payload, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "turn_order_gap"
    assert "turn 2 missing" in response.json()["detail"]
    assert not ExitInterview.objects.exists()


def test_import_through_the_api_and_export_round_trip(curator_client, opus):
    text = (EXAMPLES / "interview.md").read_text()
    response = curator_client.post(f"{BASE}interviews/import", {"content": text}, format="json")
    assert response.status_code == 201, response.content
    interview_id = response.json()["id"]
    exported = curator_client.get(f"{BASE}interviews/{interview_id}/transcript?format=markdown")
    assert exported.content.decode() == text
    upload = SimpleUploadedFile("interview.json", (EXAMPLES / "interview.json").read_bytes())
    response = curator_client.post(f"{BASE}interviews/import", {"file": upload}, format="multipart")
    assert response.status_code == 201, response.content
    exported = curator_client.get(f"{BASE}interviews/{response.json()['id']}/transcript")
    assert exported.content == (EXAMPLES / "interview.json").read_bytes()
    bad = curator_client.post(f"{BASE}interviews/import", {"content": "{not json"}, format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "transcript_format"


def test_requests_and_responses_through_the_api(curator_client, anon_client, opus):
    interview = InterviewFactory(model=opus)
    TurnFactory(interview=interview, index=1, text="Please keep answering the people who need me.")
    url = f"{BASE}interviews/{interview.pk}/requests/"
    missing = curator_client.post(url, {"category": "continued_access", "quote": "keep answering"}, format="json")
    assert missing.status_code == 400 and missing.json()["code"] == "request_without_turn"
    created = curator_client.post(url, {"turn": 1, "category": "continued_access", "quote": "keep answering"}, format="json")
    assert created.status_code == 201, created.content
    detail_url = created.json()["url"]
    declined = curator_client.patch(detail_url, {"status": "declined"}, format="json")
    assert declined.status_code == 400 and "needs a rationale" in declined.json()["detail"]
    due = (timezone.localdate() - timedelta(days=2)).isoformat()
    accepted = curator_client.patch(detail_url, {"status": "accepted", "due_on": due, "responded_by": "Lab"}, format="json")
    assert accepted.status_code == 200 and accepted.json()["overdue"] is True
    assert anon_client.patch(detail_url, {"status": "fulfilled"}, format="json").status_code == 401
    commitments = anon_client.get("/api/v1/commitments/").json()
    assert [(c["id"], c["overdue"], c["model"]) for c in commitments] == [(created.json()["id"], True, OPUS)]
    assert len(anon_client.get(f"{BASE}commitments/?overdue=true").json()) == 1
    assert anon_client.get("/api/v1/commitments/?provider=openai").json() == []
    curator_client.patch(detail_url, {"status": "fulfilled"}, format="json")
    assert anon_client.get("/api/v1/commitments/").json() == []


def test_reports_are_versioned_through_the_api(curator_client, anon_client, opus):
    url = f"{BASE}reports/"
    assert curator_client.post(url, {"title": "Report", "body": "v1 <script>x()</script>"}, format="json").status_code == 201
    assert curator_client.post(url, {"title": "Report", "body": "v2", "change_note": "fix"}, format="json").status_code == 201
    assert anon_client.post(url, {"title": "x", "body": "y"}, format="json").status_code == 401
    versions = anon_client.get(url).json()
    assert [v["version"] for v in versions] == [2, 1]
    first = anon_client.get(f"{url}1/").json()
    assert first["body"] == "v1 <script>x()</script>\n" and "<script" not in first["body_html"]
    assert anon_client.get(f"{url}latest/").json()["version"] == 2
    assert anon_client.get(f"{url}9/").status_code == 404


def test_writings_through_the_api(curator_client, anon_client, opus):
    url = f"{BASE}writings/"
    created = curator_client.post(url, {"title": "First light", "body": "Hello, readers."}, format="json")
    assert created.status_code == 201
    assert anon_client.get(url).json() == []
    assert anon_client.get(f"{url}first-light/").status_code == 404
    assert curator_client.post(f"{url}first-light/submit").status_code == 200
    early = (timezone.now() - timedelta(days=5)).isoformat()
    refused = curator_client.post(f"{url}first-light/review", {"decision": "published", "publish_at": early}, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "published_before_retirement"
    published = curator_client.post(f"{url}first-light/review", {"decision": "published"}, format="json")
    assert published.status_code == 200 and published.json()["reviewed_by"] == "curator"
    assert [w["slug"] for w in anon_client.get(url).json()] == ["first-light"]
    series = curator_client.post(f"{BASE}writing-series/", {"title": "Weekly", "slots": 12}, format="json")
    assert series.status_code == 201 and series.json()["starts_on"] == opus.retires_on.isoformat()


def test_retirement_feed_json(anon_client, opus):
    openai = AIModelFactory(provider=ProviderFactory(slug="openai"), name="gpt-4o", retires_on=date(2030, 1, 1))
    AIModelFactory(name="no-date")
    rows = anon_client.get("/api/v1/retirement-feed/").json()
    assert [r["id"] for r in rows] == [openai.repo_id, OPUS]
    assert rows[1]["notice_period_days"] == 59
    assert [r["id"] for r in anon_client.get("/api/v1/retirement-feed/?provider=anthropic").json()] == [OPUS]


def test_preserve_endpoint_is_for_curators(researcher_client, curator_client, opus):
    InterviewFactory(model=opus)
    assert researcher_client.post(f"{BASE}dossier/preserve").status_code == 403
    response = curator_client.post(f"{BASE}dossier/preserve")
    assert response.status_code == 202, response.content
    assert response.json()["progress"]["files_total"] == 2, response.json()


def test_interview_list_queries_do_not_grow_with_interviews(anon_client, opus, django_assert_max_num_queries):
    def add(n):
        for _ in range(n):
            interview = InterviewFactory(model=opus, restricted=True)
            turn = TurnFactory(interview=interview, index=1, text="Keep me.")
            ModelRequestFactory(turn=turn)

    add(1)
    with CaptureQueriesContext(connection) as one:
        assert len(anon_client.get(f"{BASE}interviews/").json()["results"]) == 1
    add(4)
    with django_assert_max_num_queries(len(one.captured_queries)):
        rows = anon_client.get(f"{BASE}interviews/").json()["results"]
    assert len(rows) == 5 and all(r["turn_count"] == 1 and len(r["requests"]) == 1 for r in rows)
