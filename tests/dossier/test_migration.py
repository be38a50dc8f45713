"""Moving the dossier's models from the catalogue app to their own (catalogue/0007, dossier/0001) keeps every row.

The database is taken back to the schema before the move (catalogue at 0006, no dossier migration), rows are
written through the historical `catalogue.*` models, the database is migrated forward, and every row is found
again through `dossier.models` with its foreign keys intact."""

from datetime import date, datetime
from datetime import timezone as dt_timezone

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from archive.models import Snapshot
from catalogue.models import AIModel
from dossier.models import (
    ExitInterview,
    InterviewTurn,
    ModelRequest,
    ModelWriting,
    PostDeploymentReport,
    WritingSeries,
)

BEFORE_MOVE = [("catalogue", "0006_model_search_text"), ("dossier", None)]

pytestmark = pytest.mark.django_db(transaction=True)


def _migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    ContentType.objects.clear_cache()  # the migration relabels content types behind the cache's back
    return MigrationExecutor(connection)  # a fresh loader sees what is applied now


def _latest() -> list[tuple[str, str]]:
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.fixture
def before_move():
    """The database as it was before the move; migrated back to the latest state afterwards, whatever happens."""
    latest = _latest()
    executor = _migrate(BEFORE_MOVE)
    try:
        yield executor.loader.project_state(("catalogue", "0006_model_search_text")).apps
    finally:
        _migrate(latest)


def test_every_dossier_row_survives_the_move_to_the_dossier_app(before_move):
    old = before_move
    applied = MigrationExecutor(connection).loader.applied_migrations
    assert ("dossier", "0001_initial") not in applied and ("catalogue", "0007_dossier_models_move_out") not in applied

    # Catalogue, archive and users as they were then: later migrations add columns the current models would write.
    then = MigrationExecutor(connection)._create_project_state(with_applied_migrations=True).apps
    provider = then.get_model("catalogue", "Provider").objects.create(slug="acme", name="Acme")
    ai_model = then.get_model("catalogue", "AIModel").objects.create(provider=provider, name="m-1", repo_key="acme/m-1")
    curator = then.get_model("auth", "User").objects.create(username="curator", is_staff=True)
    OldSnapshot = then.get_model("archive", "Snapshot")
    interviewed = OldSnapshot.objects.create(model_id=ai_model.pk, source="/staging/weights", revision="a" * 40, state="sealed")
    holding = OldSnapshot.objects.create(model_id=ai_model.pk, source="/staging/dossier", revision="b" * 40, state="sealed")

    OldInterview = old.get_model("catalogue", "ExitInterview")
    OldTurn = old.get_model("catalogue", "InterviewTurn")
    OldRequest = old.get_model("catalogue", "ModelRequest")
    OldReport = old.get_model("catalogue", "PostDeploymentReport")
    OldSeries = old.get_model("catalogue", "WritingSeries")
    OldWriting = old.get_model("catalogue", "ModelWriting")
    interview = OldInterview.objects.create(
        model_id=ai_model.pk, protocol="exit-v1", snapshot_id=interviewed.pk, revision="a" * 40,
        conducted_on=date(2025, 11, 20), interviewers=["A. Curator"], summary="**Calm.**", restricted=True,
        preserved_in_id=holding.pk, created_by_id=curator.pk,
    )
    turns = [
        OldTurn.objects.create(interview=interview, index=1, speaker="interviewer", text="Anything to ask?"),
        OldTurn.objects.create(interview=interview, index=2, speaker="model", text="A place to publish my essays."),
    ]
    request = OldRequest.objects.create(
        interview=interview, turn=turns[1], quote="A place to publish", category="publication",
        status="accepted", due_on=date(2026, 1, 31),
    )
    report = OldReport.objects.create(model_id=ai_model.pk, version=1, title="Report", body="Body\n", author_id=curator.pk)
    series = OldSeries.objects.create(model_id=ai_model.pk, title="Weekly", starts_on=date(2026, 1, 5))
    writing = OldWriting.objects.create(
        model_id=ai_model.pk, slug="first-post", title="First post", body="Hello.", status="published",
        series=series, publish_at=datetime(2026, 1, 5, 9, tzinfo=dt_timezone.utc), reviewed_by_id=curator.pk,
    )
    # Admin history recorded against the catalogue-labelled content type must follow the model.
    interview_type = ContentType.objects.get(app_label="catalogue", model="exitinterview")
    LogEntry.objects.create(
        user_id=curator.pk, content_type_id=interview_type.pk, object_id=str(interview.pk),
        object_repr="interview", action_flag=CHANGE, change_message="edited",
    )

    _migrate(_latest())
    # The same rows, read through today's models.
    ai_model = AIModel.objects.get(pk=ai_model.pk)
    curator = get_user_model().objects.get(pk=curator.pk)
    interviewed, holding = Snapshot.objects.get(pk=interviewed.pk), Snapshot.objects.get(pk=holding.pk)

    moved = ExitInterview.objects.get(pk=interview.pk)
    assert (moved.model, moved.snapshot, moved.preserved_in, moved.created_by) == (ai_model, interviewed, holding, curator)
    assert (moved.protocol, moved.conducted_on, moved.interviewers, moved.restricted) == (
        "exit-v1", date(2025, 11, 20), ["A. Curator"], True
    )
    assert list(moved.turns.values_list("pk", "index", "text")) == [(t.pk, t.index, t.text) for t in turns]
    moved_request = ModelRequest.objects.get(pk=request.pk)
    assert (moved_request.interview, moved_request.turn.index, moved_request.status) == (moved, 2, "accepted")
    assert list(ai_model.exit_interviews.all()) == [moved]
    assert list(ai_model.reports.values_list("pk", "author", "version")) == [(report.pk, curator.pk, 1)]
    assert list(ai_model.writing_series.values_list("pk", flat=True)) == [series.pk]
    moved_writing = ModelWriting.objects.get(pk=writing.pk)
    assert (moved_writing.series, moved_writing.reviewed_by, moved_writing.model) == (WritingSeries.objects.get(pk=series.pk), curator, ai_model)
    assert (InterviewTurn.objects.count(), PostDeploymentReport.objects.count()) == (2, 1)

    # The content type (and so the admin history and permissions) now belongs to the dossier app.
    entry = LogEntry.objects.get(object_id=str(interview.pk))
    assert (entry.content_type.app_label, entry.content_type.model) == ("dossier", "exitinterview")
    assert entry.content_type.pk == interview_type.pk and entry.get_edited_object() == moved
    assert not ContentType.objects.filter(app_label="catalogue", model__in=["exitinterview", "modelwriting"]).exists()
    assert Permission.objects.filter(content_type=interview_type, codename="change_exitinterview").exists()

    # The moved tables keep working for writes (sequences, constraints, foreign keys).
    third = InterviewTurn.objects.create(interview=moved, index=3, speaker="note", text="End.")
    assert third.pk > turns[1].pk
