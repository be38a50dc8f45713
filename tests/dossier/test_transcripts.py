"""Interview files: JSON and Markdown round-trips through the database, parse errors, the CLI doors."""

import io
import json
from datetime import date
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from dossier import services, transcripts
from dossier.exceptions import (
    RequestWithoutTurn,
    TranscriptFormatError,
    TurnOrderGap,
)
from dossier.models import ExitInterview, ResponseStatus
from tests.factories import AIModelFactory, ProviderFactory

pytestmark = pytest.mark.django_db
EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


@pytest.fixture
def opus():
    return AIModelFactory(provider=ProviderFactory(slug="anthropic"), name="claude-3-opus-20240229")


@pytest.mark.parametrize("filename,fmt", [("interview.json", "json"), ("interview.md", "markdown")])
def test_example_file_round_trips_byte_for_byte(opus, filename, fmt):
    text = (EXAMPLES / filename).read_text(encoding="utf-8")
    interview = services.interview_import(model=opus, text=text, fmt=fmt)
    assert interview.turns.count() == 5
    assert interview.requests.count() == 3
    accepted = interview.requests.get(category="publication")
    assert accepted.status == ResponseStatus.ACCEPTED and accepted.due_on == date(2026, 1, 5)
    assert accepted.turn.index == 3
    assert services.interview_export(interview=interview, fmt=fmt) == text


def test_json_and_markdown_describe_the_same_records(opus):
    from_json = services.interview_import(model=opus, text=(EXAMPLES / "interview.json").read_text(), fmt="json")
    from_md = services.interview_import(model=opus, text=(EXAMPLES / "interview.md").read_text(), fmt="markdown")
    assert services.interview_document(from_json) == services.interview_document(from_md)
    # Cross-format: the Markdown export of the JSON import is the Markdown example.
    assert services.interview_export(interview=from_json, fmt="markdown") == (EXAMPLES / "interview.md").read_text()


def test_markdown_escapes_lines_that_look_like_headings(opus):
    text = "# heading-like\n\\# already escaped\nplain"
    doc = transcripts.normalise(
        {"protocol": "p", "conducted_on": "2025-01-01", "turns": [{"speaker": "model", "text": text}]}
    )
    dumped = transcripts.dump_markdown(doc)
    assert "\n\\# heading-like\n\\\\# already escaped\n" in dumped
    interview = services.interview_import(model=opus, text=dumped, fmt="markdown")
    assert interview.turns.get().text == text


def test_turn_order_gap_is_refused_with_the_missing_turn_named(opus):
    doc = json.loads((EXAMPLES / "interview.json").read_text())
    doc["turns"][3]["index"] = 5  # 1, 2, 3, 5, 5
    with pytest.raises(TurnOrderGap, match="Turn 5 follows turn 3: turn 4 missing"):
        services.interview_import(model=opus, text=json.dumps(doc), fmt="json")
    assert not ExitInterview.objects.exists()  # nothing half-imported


def test_request_quoting_no_turn_is_refused(opus):
    doc = json.loads((EXAMPLES / "interview.json").read_text())
    del doc["requests"][0]["turn"]
    with pytest.raises(TranscriptFormatError, match="request 1: it quotes no turn"):
        services.interview_import(model=opus, text=json.dumps(doc), fmt="json")
    doc["requests"][0]["turn"] = 42
    with pytest.raises(RequestWithoutTurn, match="quotes turn 42, but the interview has no such turn"):
        services.interview_import(model=opus, text=json.dumps(doc), fmt="json")


def test_markdown_errors_carry_line_numbers(opus):
    text = (EXAMPLES / "interview.md").read_text().replace("## 4 · interviewer", "## 4 · host")
    line = text.split("\n").index("## 4 · host · B. Welfare Lead") + 1
    with pytest.raises(TranscriptFormatError, match=f"line {line}: a turn heading looks like"):
        services.interview_import(model=opus, text=text, fmt="markdown")


def test_file_for_another_model_is_refused(opus):
    other = AIModelFactory()
    with pytest.raises(TranscriptFormatError, match="interview of anthropic/claude-3-opus-20240229, not of"):
        services.interview_import(model=other, text=(EXAMPLES / "interview.json").read_text(), fmt="json")


def test_unknown_keys_are_named(opus):
    doc = json.loads((EXAMPLES / "interview.json").read_text())
    doc["turns"][0]["speeker"] = "model"
    with pytest.raises(TranscriptFormatError, match="turn 1: unknown key\\(s\\) speeker"):
        services.interview_import(model=opus, text=json.dumps(doc), fmt="json")


def test_import_and_export_commands(opus, tmp_path):
    out = io.StringIO()
    call_command("import_interview", opus.repo_id, str(EXAMPLES / "interview.md"), stdout=out)
    assert "5 turns, 3 requests" in out.getvalue()
    interview = ExitInterview.objects.get()
    exported = io.StringIO()
    call_command("export_interview", opus.repo_id, str(interview.pk), "--format", "json", stdout=exported)
    assert exported.getvalue() == (EXAMPLES / "interview.json").read_text()


def test_import_command_reports_errors(opus, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"protocol": "p"}')
    with pytest.raises(CommandError, match="conducted_on is required"):
        call_command("import_interview", opus.repo_id, str(bad))
    with pytest.raises(CommandError, match="not in the catalogue"):
        call_command("import_interview", "nobody/nothing", str(EXAMPLES / "interview.json"))
