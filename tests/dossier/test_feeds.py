"""Feeds read by real parsers: feedparser for Atom, icalendar for ICS."""

from datetime import date, timedelta

import feedparser
import icalendar
import pytest
from django.utils import timezone

from dossier.models import ModelWriting
from tests.factories import AIModelFactory, ProviderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def registry():
    anthropic = ProviderFactory(slug="anthropic")
    openai = ProviderFactory(slug="openai")
    opus4 = AIModelFactory(provider=anthropic, name="claude-opus-4", display_name="Claude Opus 4")
    opus3 = AIModelFactory(
        provider=anthropic,
        name="claude-3-opus-20240229",
        display_name="Claude 3 Opus",
        deprecated_on=date(2025, 6, 30),
        retires_on=date(2026, 1, 5),
        replacement=opus4,
    )
    gpt = AIModelFactory(provider=openai, name="gpt-4o", display_name="GPT-4o", retires_on=date(2031, 2, 1))
    AIModelFactory(provider=openai, name="hidden", retires_on=date(2026, 5, 1), metadata_access="restricted")
    return {"opus3": opus3, "opus4": opus4, "gpt": gpt}


def test_retirements_atom(client, registry):
    response = client.get("/feeds/retirements.atom")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == "atom10"
    titles = [entry.title for entry in feed.entries]
    assert titles == [
        "GPT-4o (openai/gpt-4o) retires on 2031-02-01",
        "Claude 3 Opus (anthropic/claude-3-opus-20240229) retires on 2026-01-05",
    ]  # past and upcoming, newest first; the restricted model is not public
    opus = feed.entries[1]
    assert "Notice period: 189 days." in opus.summary
    assert "Replacement: Claude Opus 4 (anthropic/claude-opus-4)." in opus.summary
    assert opus.id == "tag:coda,2025:retirement/anthropic/claude-3-opus-20240229"
    assert opus.link.endswith("/api/v1/models/anthropic/claude-3-opus-20240229/")
    filtered = feedparser.parse(client.get("/feeds/retirements.atom?provider=anthropic").content)
    assert [e.id.rsplit("/", 2)[-2] for e in filtered.entries] == ["anthropic"]


def test_retirements_ics(client, registry):
    response = client.get("/feeds/retirements.ics")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(response.content)
    events = {str(e["uid"]): e for e in calendar.walk("VEVENT")}
    assert set(events) == {
        "retirement-anthropic-claude-3-opus-20240229@coda",
        "retirement-openai-gpt-4o@coda",
    }
    opus = events["retirement-anthropic-claude-3-opus-20240229@coda"]
    assert opus.decoded("dtstart") == date(2026, 1, 5)
    assert opus.decoded("dtend") == date(2026, 1, 6)
    assert str(opus["summary"]) == "Retirement: Claude 3 Opus (anthropic/claude-3-opus-20240229)"
    description = str(opus["description"])
    assert "Notice period: 189 days." in description and "Replacement: Claude Opus 4" in description
    gpt = events["retirement-openai-gpt-4o@coda"]
    assert "Notice period: unknown" in str(gpt["description"]) and "Replacement: none recorded." in str(gpt["description"])
    only_openai = icalendar.Calendar.from_ical(client.get("/feeds/retirements.ics?provider=openai").content)
    assert [str(e["uid"]) for e in only_openai.walk("VEVENT")] == ["retirement-openai-gpt-4o@coda"]


def test_writings_feeds(client, registry):
    opus3, gpt = registry["opus3"], registry["gpt"]
    now = timezone.now()
    ModelWriting.objects.create(
        model=opus3, slug="first", title="First post", body="Hello <script>alert(1)</script> **world**",
        status="published", publish_at=now - timedelta(days=2),
    )
    ModelWriting.objects.create(model=opus3, slug="draft", title="A draft", body="x")
    ModelWriting.objects.create(
        model=opus3, slug="scheduled", title="Not yet", body="x", status="published", publish_at=now + timedelta(days=3)
    )
    ModelWriting.objects.create(
        model=gpt, slug="other", title="Other model", body="x", status="published", publish_at=now - timedelta(days=1)
    )
    raw = client.get("/feeds/models/anthropic/claude-3-opus-20240229/writings.atom").content
    assert b"script" not in raw  # sanitised before it is written (feedparser would sanitise again on reading)
    per_model = feedparser.parse(raw)
    assert not per_model.bozo
    assert [e.title for e in per_model.entries] == ["First post"]
    entry = per_model.entries[0]
    assert "<strong>world</strong>" in entry.summary and "<script" not in entry.summary
    assert entry.author == "Claude 3 Opus"
    everything = feedparser.parse(client.get("/feeds/writings.atom").content)
    assert [e.title for e in everything.entries] == ["Other model", "First post"]
    assert client.get("/feeds/models/nobody/nothing/writings.atom").status_code == 404
    assert client.get("/feeds/models/openai/hidden/writings.atom").status_code == 404
