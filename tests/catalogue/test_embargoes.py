"""Embargoes lift on their date, by date (no sleeping): each due change applied once, as an `access` event."""

from datetime import date

import pytest

from archive.models import EventType, PreservationEvent
from catalogue.embargoes import access_changes_apply, access_changes_pending
from catalogue.models import AccessChange
from catalogue.permissions import can_read_files
from tests.factories import AIModelFactory

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
