"""Embargoes lift on their date, by date (no sleeping): each due change applied once, as an `access` event."""

from datetime import date, timedelta

import pytest
from celery import current_app
from django.urls import reverse
from django.utils import timezone

from archive import tasks

from archive.models import EventType, PreservationEvent
from catalogue.embargoes import access_changes_apply, access_changes_pending
from catalogue.models import AccessChange
from catalogue.permissions import can_read_files
from tests.factories import AIModelFactory, CuratorFactory, UserFactory, api_client

pytestmark = pytest.mark.django_db


def test_gated_until_a_date_then_public():
    model = AIModelFactory(file_access="gated")
    AccessChange.objects.create(model=model, field="file_access", level="public", effective_on=date(2027, 1, 1),
                                reason="Embargo ends")
    assert access_changes_apply(today=date(2026, 12, 31)) == 0
    model.refresh_from_db()
    assert model.file_access == "gated" and not can_read_files(None, model)
    assert [c.level for c in access_changes_pending(model)] == ["public"]
    assert access_changes_apply(today=date(2027, 1, 1)) == 1
    assert access_changes_apply(today=date(2027, 1, 2)) == 0  # applied once
    model.refresh_from_db()
    assert model.file_access == "public" and not access_changes_pending(model).exists()
    event = PreservationEvent.objects.get(model=model, event_type=EventType.ACCESS)
    assert event.detail["file_access"] == {"from": "gated", "to": "public"}


def test_changes_apply_in_date_order():
    model = AIModelFactory(file_access="public")
    AccessChange.objects.create(model=model, field="file_access", level="restricted", effective_on=date(2027, 3, 1))
    AccessChange.objects.create(model=model, field="file_access", level="gated", effective_on=date(2027, 2, 1))
    assert access_changes_apply(today=date(2027, 6, 1)) == 2
    model.refresh_from_db()
    assert model.file_access == "restricted"


# --- the scheduler, the API, the admin and the page ---------------------------------------------------------------


def test_beat_schedule_runs_the_embargo_task_hourly(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["access-changes-apply"]
    assert entry["task"] == "archive.tasks.access_changes_apply"
    assert entry["task"] in current_app.tasks  # registered under the name beat sends
    assert entry["schedule"].minute == {5} and len(entry["schedule"].hour) == 24


def test_task_applies_changes_due_by_the_given_date():
    model = AIModelFactory(file_access="public")
    AccessChange.objects.create(model=model, field="file_access", level="gated", effective_on=date(2027, 5, 1))
    assert tasks.access_changes_apply("2027-04-30") == 0
    assert tasks.access_changes_apply("2027-05-01") == 1
    model.refresh_from_db()
    assert model.file_access == "gated"


def test_curators_schedule_and_cancel_through_the_api():
    curator, researcher = CuratorFactory(), UserFactory()
    model = AIModelFactory(file_access="gated")
    url = f"/api/v1/models/{model.repo_id}/access-changes/"
    future = (timezone.localdate() + timedelta(days=30)).isoformat()
    body = {"field": "file_access", "level": "public", "effective_on": future, "reason": "Embargo ends"}
    assert api_client(researcher).post(url, body, format="json").status_code == 403
    assert api_client().post(url, body, format="json").status_code == 401
    past = {**body, "effective_on": timezone.localdate().isoformat()}
    assert "effective_on" in api_client(curator).post(url, past, format="json").json()["errors"]
    bad_level = {**body, "field": "metadata_access", "level": "gated"}
    assert api_client(curator).post(url, bad_level, format="json").status_code == 400
    created = api_client(curator).post(url, body, format="json")
    assert created.status_code == 201, created.json()
    change = {"id": created.json()["id"], "field": "file_access", "level": "public", "effective_on": future,
              "reason": "Embargo ends"}
    assert created.json() == change
    assert api_client().get(url).json() == [change]
    assert api_client().get(f"/api/v1/models/{model.repo_id}/").json()["access_changes"] == [change]
    scheduled = PreservationEvent.objects.get(model=model, event_type=EventType.ACCESS)
    assert scheduled.detail["scheduled"] == {"field": "file_access", "level": "public", "effective_on": future}

    one = f"{url}{change['id']}/"
    assert api_client(researcher).delete(one).status_code == 403
    assert api_client(curator).delete(one).status_code == 204
    assert api_client(curator).delete(one).status_code == 404
    assert api_client().get(f"/api/v1/models/{model.repo_id}/").json()["access_changes"] == []
    assert PreservationEvent.objects.filter(model=model, detail__cancelled__level="public").count() == 1


def test_an_applied_change_cannot_be_cancelled():
    model = AIModelFactory(file_access="gated")
    change = AccessChange.objects.create(model=model, field="file_access", level="public", effective_on=date(2027, 1, 1))
    access_changes_apply(today=date(2027, 1, 1))
    answer = api_client(CuratorFactory()).delete(f"/api/v1/models/{model.repo_id}/access-changes/{change.pk}/")
    assert answer.status_code == 400 and AccessChange.objects.filter(pk=change.pk).exists()


def test_curators_schedule_and_cancel_in_the_admin(client):
    curator = CuratorFactory(is_staff=True)
    client.force_login(curator)
    model = AIModelFactory(file_access="gated")
    future = timezone.localdate() + timedelta(days=10)
    add = reverse("admin:catalogue_accesschange_add")
    refused = client.post(add, {"model": model.pk, "field": "file_access", "level": "secret",
                                "effective_on": future.isoformat(), "reason": ""})
    assert refused.status_code == 200 and not AccessChange.objects.exists()  # the form shows the error
    client.post(add, {"model": model.pk, "field": "file_access", "level": "public",
                      "effective_on": future.isoformat(), "reason": "Embargo ends"})
    change = AccessChange.objects.get()
    assert change.created_by == curator
    assert PreservationEvent.objects.filter(model=model, detail__scheduled__level="public").exists()
    client.post(reverse("admin:catalogue_accesschange_changelist"),
                {"action": "cancel_changes", "_selected_action": [change.pk]})
    assert not AccessChange.objects.exists()
    assert PreservationEvent.objects.filter(model=model, detail__cancelled__level="public").exists()


def test_model_page_shows_future_changes(client):
    model = AIModelFactory(file_access="gated")
    future = timezone.localdate() + timedelta(days=10)
    AccessChange.objects.create(model=model, field="file_access", level="public", effective_on=future,
                                reason="Embargo ends")
    page = client.get(f"/models/{model.repo_id}/").content.decode()
    assert "Scheduled access changes" in page and f'datetime="{future.isoformat()}"' in page
    assert "becomes <strong>public</strong>" in page and "Embargo ends" in page
