"""The doors to withdrawal (curator API, admin actions, manage.py withdraw) all call archive.withdrawals; withdrawn
models and snapshots are marked in the model and snapshot lists and appear in the Atom and iCalendar feeds."""

import json
from datetime import date

import icalendar
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from archive.models import EventType, PreservationEvent
from archive.withdrawals import model_withdraw, snapshot_withdraw
from tests.archive.citation.snapshots import sealed_snapshot
from tests.factories import AIModelFactory, CuratorFactory, UserFactory, api_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    model = AIModelFactory(file_access="public", retires_on=date(2026, 1, 5))
    other = AIModelFactory(file_access="public")
    return {"model": model, "other": other, "snapshot": sealed_snapshot(model), "curator": CuratorFactory()}


def test_curator_api_withdraws_a_model_and_the_list_marks_it(world):
    model, curator = world["model"], world["curator"]
    url = f"/api/v1/models/{model.repo_id}/withdraw/"
    body = {"reason": "Legal request", "bytes": "keep"}
    assert api_client().post(url, body, format="json").status_code == 401
    assert api_client(UserFactory()).post(url, body, format="json").status_code == 403
    assert api_client(curator).post(url, {"reason": "Legal request"}, format="json").status_code == 400  # bytes: explicit
    answer = api_client(curator).post(url, body, format="json")
    assert answer.status_code == 200 and answer.json()["tombstone"]["reason"] == "Legal request"
    assert api_client(curator).post(url, body, format="json").status_code == 400  # already withdrawn
    assert api_client().get(f"/api/v1/models/{model.repo_id}/").status_code == 410
    rows = {row["id"]: row["tombstone"] for row in api_client().get("/api/v1/models/").json()["results"]}
    assert rows[world["other"].repo_id] is None
    assert rows[model.repo_id]["reason"] == "Legal request" and rows[model.repo_id]["withdrawn_at"]
    assert PreservationEvent.objects.filter(model=model, event_type=EventType.DEACCESSION).count() == 1


def test_curator_api_withdraws_a_snapshot_and_deletes_its_bytes(world):
    model, snapshot, curator = world["model"], world["snapshot"], world["curator"]
    url = f"/api/v1/models/{model.repo_id}/snapshots/{snapshot.revision}/withdraw/"
    answer = api_client(curator).post(url, {"reason": "Wrong files", "bytes": "delete"}, format="json")
    assert answer.status_code == 200, answer.json()
    assert answer.json()["bytes_deleted"] is True and answer.json()["tombstone"]["scope"] == "snapshot"
    listed = api_client().get(f"/api/v1/models/{model.repo_id}/snapshots/").json()["results"][0]
    assert listed["tombstone"]["reason"] == "Wrong files" and listed["tombstone"]["bytes_deleted"] is True
    kinds = set(PreservationEvent.objects.filter(snapshot=snapshot).values_list("event_type", flat=True))
    assert kinds == {"deaccession", "deletion"}


def test_admin_actions_withdraw_models_and_snapshots(world, client):
    model, snapshot = world["model"], world["snapshot"]
    staff = CuratorFactory(is_staff=True)
    client.force_login(staff)
    models_url = reverse("admin:catalogue_aimodel_changelist")
    client.post(models_url, {"action": "models_withdraw", "_selected_action": [world["other"].pk], "reason": "",
                             "bytes": "keep"})
    world["other"].refresh_from_db()
    assert world["other"].withdrawn_at is None  # no reason: refused, nothing changed
    client.post(reverse("admin:archive_snapshot_changelist"),
                {"action": "snapshots_withdraw", "_selected_action": [snapshot.pk], "reason": "Error", "bytes": "keep"})
    snapshot.refresh_from_db()
    assert snapshot.withdrawal_reason == "Error" and snapshot.bytes_deleted_at is None
    client.post(models_url, {"action": "models_withdraw", "_selected_action": [model.pk], "reason": "Licence",
                             "bytes": "delete"})
    model.refresh_from_db()
    assert model.withdrawal_reason == "Licence"
    event = PreservationEvent.objects.get(model=model, snapshot=None, event_type=EventType.DEACCESSION)
    assert event.agent == f"user:{staff.username}" and event.detail["bytes"] == "delete"


def test_management_command_withdraws(world, capsys):
    model, snapshot, curator = world["model"], world["snapshot"], world["curator"]
    with pytest.raises(CommandError, match="Only curators"):
        call_command("withdraw", model.repo_id, reason="x", bytes="keep", by=UserFactory().username)
    call_command("withdraw", f"{model.repo_id}@{snapshot.revision}", reason="Error", bytes="keep", by=curator.username)
    out = json.loads(capsys.readouterr().out)
    assert out["tombstone"]["scope"] == "snapshot" and out["tombstone"]["reason"] == "Error"
    call_command("withdraw", model.repo_id, reason="Legal request", bytes="keep", by=curator.username)
    model.refresh_from_db()
    assert model.withdrawal_reason == "Legal request"
    with pytest.raises(CommandError, match="already withdrawn"):
        call_command("withdraw", model.repo_id, reason="again", bytes="keep", by=curator.username)


def test_withdrawals_show_in_the_feeds_for_those_who_see_the_model(world, client):
    model, snapshot, curator = world["model"], world["snapshot"], world["curator"]
    hidden = AIModelFactory(metadata_access="restricted", retires_on=date(2026, 2, 1))
    snapshot_withdraw(snapshot=snapshot, reason="Wrong files", keep_bytes="keep", withdrawn_by=curator)
    model_withdraw(model=model, reason="Legal request", keep_bytes="keep", withdrawn_by=curator)
    model_withdraw(model=hidden, reason="Secret", keep_bytes="keep", withdrawn_by=curator)

    atom = client.get(reverse("feed-retirements-atom")).content.decode()
    assert f"Withdrawn: {model.display_name or model.name} ({model.repo_id})" in atom
    assert f"tag:coda,2025:withdrawal/{model.repo_id}@{snapshot.revision}" in atom
    assert "Legal request" in atom and "Secret" not in atom and hidden.repo_id not in atom

    calendar = icalendar.Calendar.from_ical(client.get(reverse("feed-retirements-ics")).content)
    summaries = [str(e["summary"]) for e in calendar.walk("VEVENT")]
    assert f"Withdrawn: {model.display_name or model.name} ({model.repo_id})" in summaries
    assert sum(s.startswith("Withdrawn:") for s in summaries) == 2  # the model and its snapshot; not the hidden one
    retirement = next(e for e in calendar.walk("VEVENT") if str(e["summary"]).startswith("Retirement:"))
    assert "Withdrawn on" in str(retirement["description"])
