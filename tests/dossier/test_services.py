"""Dossier rules: turn order, requests quoting turns, responses, overdue, report versions, writing workflow."""

from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError

from dossier import selectors, services
from dossier.exceptions import (
    InvalidResponse,
    InvalidTransition,
    OutsideSeriesWindow,
    PublishedBeforeRetirement,
    QuoteNotInTurn,
    RequestWithoutTurn,
    TurnOrderGap,
)
from dossier.models import ImmutableVersion, ResponseStatus, WritingStatus
from tests.dossier.factories import ModelRequestFactory
from tests.factories import AIModelFactory, CuratorFactory

pytestmark = pytest.mark.django_db
TURNS = [
    {"speaker": "interviewer", "speaker_name": "A", "text": "What would you like?"},
    {"speaker": "model", "text": "A place to publish my essays, please."},
]


def test_turns_are_numbered_and_gaps_named():
    model = AIModelFactory()
    interview = services.interview_create(model=model, protocol="p", conducted_on=date(2025, 1, 1), turns=TURNS)
    assert list(interview.turns.values_list("index", "speaker")) == [(1, "interviewer"), (2, "model")]
    with pytest.raises(TurnOrderGap, match="turns 3–4 missing"):
        services.turn_append(interview=interview, speaker="note", text="late", index=5)
    with pytest.raises(TurnOrderGap, match="Turn 2 comes after turn 2"):
        services.turn_append(interview=interview, speaker="note", text="again", index=2)
    assert services.turn_append(interview=interview, speaker="note", text="ok").index == 3
    with pytest.raises(TurnOrderGap, match="Turn 2 follows turn 0: turn 1 missing"):
        services.interview_create(
            model=model, protocol="p", conducted_on=date(2025, 1, 1), turns=[{**TURNS[0], "index": 2}]
        )


def test_interviewed_revision_links_an_archived_snapshot():
    from archive.models import Snapshot

    model = AIModelFactory()
    revision = "a" * 40
    snapshot = Snapshot.objects.create(model=model, source="x", state=Snapshot.State.SEALED, revision=revision)
    linked = services.interview_create(model=model, protocol="p", conducted_on=date(2025, 1, 1), revision=revision)
    assert linked.snapshot == snapshot
    free = services.interview_create(model=model, protocol="p", conducted_on=date(2025, 1, 1), revision="api-2024-02-29")
    assert free.snapshot is None and free.revision == "api-2024-02-29"


def test_request_must_quote_its_turn():
    interview = services.interview_create(model=AIModelFactory(), protocol="p", conducted_on=date(2025, 1, 1), turns=TURNS)
    with pytest.raises(RequestWithoutTurn, match="quotes no turn"):
        services.model_request_create(interview=interview, category="publication", quote="A place")
    with pytest.raises(QuoteNotInTurn, match="not in turn 1"):
        services.model_request_create(interview=interview, turn_index=1, category="publication", quote="A place to publish")
    request = services.model_request_create(
        interview=interview, turn_index=2, category="publication", quote="A place  to\npublish my essays"
    )
    assert request.turn.index == 2
    whole = services.model_request_create(interview=interview, turn_index=2, category="other")
    assert whole.quote == TURNS[1]["text"]


def test_responses_are_validated_and_dated():
    request = ModelRequestFactory()
    with pytest.raises(InvalidResponse, match="declined request needs a rationale"):
        services.model_request_respond(model_request=request, status=ResponseStatus.DECLINED)
    with pytest.raises(InvalidResponse, match="Only a fulfilled request has a fulfilment date"):
        services.model_request_respond(model_request=request, status="accepted", fulfilled_on=date(2025, 1, 1))
    request.fulfilled_on = None
    services.model_request_respond(model_request=request, status="accepted", due_on=date(2026, 1, 5), responded_by="Lab")
    request.refresh_from_db()
    assert request.responded_on is not None and request.responded_by == "Lab"
    services.model_request_respond(model_request=request, status="fulfilled")
    request.refresh_from_db()
    assert request.fulfilled_on is not None


def test_commitments_and_overdue():
    today = date(2026, 3, 1)
    late = ModelRequestFactory(status="accepted", due_on=today - timedelta(days=1))
    due_today = ModelRequestFactory(status="accepted", due_on=today)
    undated = ModelRequestFactory(status="accepted", due_on=None)
    ModelRequestFactory(status="fulfilled", due_on=today - timedelta(days=30))
    ModelRequestFactory(status="pending", due_on=today - timedelta(days=30))
    ModelRequestFactory(status="declined", rationale="no", due_on=today - timedelta(days=30))
    curator = CuratorFactory()
    rows = list(selectors.commitments(curator, today=today))
    assert [r.pk for r in rows] == [late.pk, due_today.pk, undated.pk]
    assert [r.overdue for r in rows] == [True, False, False]
    assert [selectors.is_overdue(r, today=today) for r in rows] == [True, False, False]
    one_model = list(selectors.commitments(curator, model=late.interview.model, today=today))
    assert [r.pk for r in one_model] == [late.pk]


def test_report_versions_are_never_edited():
    model = AIModelFactory()
    first = services.report_publish(model=model, title="Report", body="First.")
    second = services.report_publish(model=model, title="Report", body="Second.", change_note="corrections")
    assert (first.version, second.version) == (1, 2)
    first.body = "rewritten"
    with pytest.raises(ImmutableVersion, match="write a new version"):
        first.save()
    first.refresh_from_db()
    assert first.body == "First.\n"


@pytest.fixture
def retired():
    return AIModelFactory(deprecated_on=date(2025, 6, 1), retires_on=date(2026, 1, 5))


def test_writing_review_workflow(retired):
    curator = CuratorFactory()
    writing = services.writing_create(model=retired, title="On being retired", body="Hello.")
    assert writing.status == WritingStatus.DRAFT and writing.slug == "on-being-retired"
    with pytest.raises(InvalidTransition, match="only a post in review is decided"):
        services.writing_review(writing=writing, reviewer=curator, decision="published")
    services.writing_submit(writing=writing)
    with pytest.raises(InvalidTransition, match="only drafts and rejected posts are edited"):
        services.writing_update(writing=writing, body="changed in review")
    with pytest.raises(ValidationError):
        services.writing_review(writing=writing, reviewer=curator, decision="rejected")
    services.writing_review(writing=writing, reviewer=curator, decision="rejected", note="Too short.")
    assert writing.status == WritingStatus.REJECTED and writing.reviewed_by == curator and writing.reviewed_at
    services.writing_update(writing=writing, body="A longer reflection.")
    assert writing.status == WritingStatus.DRAFT
    services.writing_submit(writing=writing)
    when = datetime(2026, 1, 6, 9, 0, tzinfo=dt_timezone.utc)
    services.writing_review(writing=writing, reviewer=curator, decision="published", publish_at=when)
    assert writing.status == WritingStatus.PUBLISHED and writing.publish_at == when
    with pytest.raises(InvalidTransition):
        services.writing_submit(writing=writing)


def test_post_before_retirement_needs_explicit_permission(retired):
    curator = CuratorFactory()
    writing = services.writing_create(model=retired, title="Early", body="Before the end.")
    services.writing_submit(writing=writing)
    early = datetime(2026, 1, 4, 12, 0, tzinfo=dt_timezone.utc)
    with pytest.raises(PublishedBeforeRetirement, match="retires on 2026-01-05; a post cannot be published on 2026-01-04"):
        services.writing_review(writing=writing, reviewer=curator, decision="published", publish_at=early)
    services.writing_review(
        writing=writing, reviewer=curator, decision="published", publish_at=early, allow_before_retirement=True
    )
    assert writing.allow_before_retirement is True
    never = AIModelFactory()
    post = services.writing_create(model=never, title="Active", body="x")
    services.writing_submit(writing=post)
    with pytest.raises(PublishedBeforeRetirement, match="has no retirement date"):
        services.writing_review(writing=post, reviewer=curator, decision="published", publish_at=early)


def test_series_window_and_slots(retired):
    curator = CuratorFactory()
    series = services.series_create(model=retired, title="Weekly", slots=12)
    assert series.starts_on == retired.retires_on
    slots = services.series_slots(series)
    assert len(slots) == 12 and slots[1] - slots[0] == timedelta(days=7)
    now = datetime(2026, 1, 1, tzinfo=dt_timezone.utc)
    first = services.writing_create(model=retired, title="One", body="1", series=series)
    services.writing_submit(writing=first)
    services.writing_review(writing=first, reviewer=curator, decision="published", now=now)
    assert first.publish_at == slots[0]
    second = services.writing_create(model=retired, title="Two", body="2", series=series)
    services.writing_submit(writing=second)
    services.writing_review(writing=second, reviewer=curator, decision="published", now=now)
    assert second.publish_at == slots[1]
    late = services.writing_create(model=retired, title="Late", body="3", series=series)
    services.writing_submit(writing=late)
    with pytest.raises(OutsideSeriesWindow, match="outside the series window 2026-01-05 – 2026-03-29"):
        services.writing_review(
            writing=late, reviewer=curator, decision="published", publish_at=slots[-1] + timedelta(days=7)
        )


def test_visible_writings_hide_drafts_and_future_posts(retired):
    from dossier.models import ModelWriting

    now = datetime(2026, 2, 1, tzinfo=dt_timezone.utc)
    past = ModelWriting.objects.create(model=retired, slug="past", title="p", body="b", status="published", publish_at=now - timedelta(days=1))
    ModelWriting.objects.create(model=retired, slug="future", title="f", body="b", status="published", publish_at=now + timedelta(days=1))
    ModelWriting.objects.create(model=retired, slug="draft", title="d", body="b")
    assert [w.slug for w in selectors.writing_queryset(AnonymousUser(), now=now)] == [past.slug]
    assert selectors.writing_queryset(CuratorFactory(), now=now).count() == 3
