"""The archive's event recorder: appends PREMIS events to its table. Registered as core.events' recorder in
ArchiveConfig.ready, so every app (and every archive module) records through `event_record` here or in core.events
without importing the archive's services."""

import socket

from django.conf import settings
from django.db import transaction

from archive.log.services import leaf_record
from archive.models import PreservationEvent


def worker_agent() -> str:
    """The PREMIS agent for work done by this worker process."""
    return f"worker:{socket.gethostname()}"


def event_record(*, event_type: str, outcome: str, agent: str, detail: dict | None = None, **objects) -> PreservationEvent:
    """Append one PREMIS event, and its leaf of the tamper-evident log in the same transaction (archive/log/)."""
    with transaction.atomic():
        event = PreservationEvent.objects.create(
            event_type=event_type, outcome=outcome, agent=agent, detail=detail or {}, **objects
        )
        if settings.CODA_EVENT_LOG:
            leaf_record(event)
    return event
