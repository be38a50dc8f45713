"""The event-record hook: any app appends a PREMIS preservation event through `event_record`.

The archive owns the event table and registers the recorder when it starts (archive.apps); apps below it
(the catalogue's access decisions) record events without importing the archive."""

from collections.abc import Callable

from django.db import models


class EventType(models.TextChoices):
    INGESTION = "ingestion", "ingestion"
    DIGEST = "message digest calculation", "message digest calculation"
    REPLICATION = "replication", "replication"
    FIXITY = "fixity check", "fixity check"
    REPAIR = "repair", "repair"
    DELETION = "deletion", "deletion"
    ACCESS = "access", "access"
    DEACCESSION = "deaccession", "deaccession"  # a withdrawal (tombstone) or its reversal
    ENCRYPTION = "encryption", "encryption"  # a stored plaintext copy re-sealed (archive/sealing/reseal.py)
    # A retention date set or extended, a legal hold, a proposal for a dangerous change and its approval,
    # refusal or expiry (PREMIS "policy assignment").
    POLICY = "policy assignment", "policy assignment"
    SIGNATURE = "digital signature generation", "digital signature generation"  # a snapshot or log checkpoint signed
    VALIDATION = "validation", "validation"  # a verification of a signature, log or storage state


class EventOutcome(models.TextChoices):
    SUCCESS = "success", "Success"
    FAILURE = "failure", "Failure"
    WARNING = "warning", "Warning"


_recorder: Callable | None = None


def recorder_register(recorder: Callable) -> None:
    """Install the function that stores events (called once, by the app that owns the event table)."""
    global _recorder
    _recorder = recorder


def event_record(*, event_type: str, outcome: str, agent: str, detail: dict | None = None, **objects):
    """Append one PREMIS event through the registered recorder; fails loudly if none is installed, so an
    event is never silently dropped."""
    if _recorder is None:
        raise RuntimeError("No event recorder is registered: is the 'archive' app in INSTALLED_APPS?")
    return _recorder(event_type=event_type, outcome=outcome, agent=agent, detail=detail, **objects)


def user_agent(user) -> str:
    """The PREMIS agent for an action by `user` (or by the system)."""
    return f"user:{user.get_username()}" if user is not None and user.is_authenticated else "system"
