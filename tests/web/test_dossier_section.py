"""The model page shows the retirement dossier within the visibility rules."""

import pytest

from dossier import services as dossier
from tests.factories import AIModelFactory, CuratorFactory, ProviderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def model_with_dossier():
    model = AIModelFactory(provider=ProviderFactory(slug="anthropic"), name="claude-3-opus-20240229", display_name="Claude 3 Opus")
    interview = dossier.interview_create(
        model=model, protocol="exit-v1", conducted_on="2025-11-01", summary="Opus **wishes** to keep writing.",
        restricted=True,
        turns=[{"speaker": "interviewer", "text": "Anything you would like?"},
               {"speaker": "model", "text": "I would like a place to publish my essays."}],
    )
    dossier.model_request_create(interview=interview, turn_index=2, quote="a place to publish my essays", category="publication")
    return model


def test_model_page_shows_interview_summary_and_requests_but_not_restricted_transcript(client, model_with_dossier):
    html = client.get("/models/anthropic/claude-3-opus-20240229/").content.decode()
    assert "Retirement dossier" in html
    assert "<strong>wishes</strong>" in html
    assert "a place to publish my essays" in html
    assert "transcript is restricted" in html
    assert "transcript?format=json" not in html


def test_curator_sees_transcript_link(client, model_with_dossier):
    client.force_login(CuratorFactory(username="cur"))
    html = client.get("/models/anthropic/claude-3-opus-20240229/").content.decode()
    assert "transcript?format=json" in html
