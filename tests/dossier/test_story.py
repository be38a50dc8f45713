"""The bundled story: Claude 3 Opus's retirement loaded as sourced data, idempotently, without overwriting edits."""

import json
from datetime import date

import pytest
from django.core.management import call_command

from catalogue import services as catalogue_services
from catalogue.models import Retirement
from core.exceptions import NotFoundError
from dossier.exceptions import TranscriptFormatError
from dossier.models import ExitInterview, InterviewTurn, ModelRequest, PostDeploymentReport, WritingSeries
from dossier.story import STORY_PATH, story_load, story_read
from tests.factories import AIModelFactory, ProviderFactory

pytestmark = pytest.mark.django_db

DOC = json.loads(STORY_PATH.read_text(encoding="utf-8"))


@pytest.fixture
def opus():
    provider, _, name = DOC["model"].partition("/")
    return AIModelFactory(
        provider=ProviderFactory(slug=provider), name=name, display_name="Claude 3 Opus", deprecated_on=date(2025, 6, 30)
    )


def _names(keys):
    """What a citation of these sources must show: each source's address, or its title when it has none."""
    return [DOC["sources"][k].get("url") or DOC["sources"][k]["title"] for k in keys]


def _counts():
    return [m.objects.count() for m in (Retirement, ExitInterview, InterviewTurn, ModelRequest, WritingSeries, PostDeploymentReport)]


def test_load_registers_the_retirement_with_its_sources(opus):
    story_load()
    opus.refresh_from_db()
    retirement = opus.retirement
    assert opus.retires_on == date.fromisoformat(DOC["retirement"]["retires_on"])
    assert retirement.reason_category == DOC["retirement"]["reason_category"]
    assert retirement.access_after_retirement == DOC["retirement"]["access_after_retirement"]
    assert retirement.preserved_for_lifetime is True
    for name in _names(DOC["retirement"]["sources"]):
        assert name in retirement.preservation_statement
    assert "Bundled sample data" in retirement.preservation_statement


def test_interview_records_notes_not_invented_model_words(opus):
    story_load()
    interview = ExitInterview.objects.get(model=opus)
    turns = list(interview.turns.order_by("index"))
    # No transcript is published: every turn is a curator's note citing its sources, never a model turn.
    assert [t.speaker for t in turns] == ["note"] * len(DOC["interview"]["turns"])
    for turn, item in zip(turns, DOC["interview"]["turns"]):
        assert turn.text.startswith(item["text"])
        for name in _names(item["sources"]):
            assert name in turn.text
    for name in _names(DOC["interview"]["sources"]):
        assert name in interview.summary
    assert DOC["interview"]["date_note"] in interview.summary
    (request,) = interview.requests.all()
    assert request.category == "publication" and request.status == "accepted"
    assert request.quote == turns[0].text  # quotes the note it comes from, word for word
    for name in _names(DOC["interview"]["requests"][0]["sources"]):
        assert name in request.rationale


def test_writings_channel_and_report_commitment(opus):
    story_load()
    series = WritingSeries.objects.get(model=opus)
    assert (series.interval_days, series.slots) == (7, DOC["writing_series"]["slots"])
    assert series.slots * series.interval_days >= 90  # at least three months of weekly essays
    report = PostDeploymentReport.objects.get(model=opus)
    assert report.version == 1
    assert DOC["writing_series"]["review_rule"] in report.body
    for name in _names(DOC["report"]["sources"] + DOC["writing_series"]["sources"]):
        assert name in report.body


def test_loading_twice_adds_nothing(opus):
    call_command("load_story")
    before = _counts()
    assert before == [1, 1, len(DOC["interview"]["turns"]), 1, 1, 1]
    report = story_load()
    assert report.created == [] and len(report.kept) == 4
    assert _counts() == before


def test_curator_edits_survive_the_next_start(opus):
    story_load()
    retirement = Retirement.objects.get(model=opus)
    catalogue_services.retirement_update(retirement=retirement, reason="Edited by a curator.")
    ExitInterview.objects.filter(model=opus).update(summary="Curator's summary.")
    story_load()
    assert Retirement.objects.get(model=opus).reason == "Edited by a curator."
    assert ExitInterview.objects.get(model=opus).summary == "Curator's summary."


def test_model_missing_from_the_catalogue_is_an_error(db):
    with pytest.raises(NotFoundError, match="import the deprecations first"):
        story_load()


def test_an_item_without_sources_is_refused(tmp_path):
    doc = json.loads(json.dumps(DOC))
    doc["interview"]["turns"][0]["sources"] = []
    path = tmp_path / "story.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(TranscriptFormatError, match="cites sources"):
        story_read(path)
    doc["interview"]["turns"][0]["sources"] = ["nowhere"]
    path.write_text(json.dumps(doc))
    with pytest.raises(TranscriptFormatError):
        story_read(path)


def test_model_page_tells_the_story(client, opus):
    story_load()
    html = client.get(f"/models/{DOC['model']}/").content.decode()
    assert "No retirement has been registered" not in html
    assert "for the lifetime of the organisation" in html
    assert "Retirement dossier" in html
    assert "Claude&#x27;s Corner" in html or "Claude's Corner" in html
