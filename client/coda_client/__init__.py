"""Coda's Python client for scripts: `Coda(endpoint, token)` (or CODA_ENDPOINT / CODA_TOKEN), typed results,
generators over cursor-paged lists, `preserve(..., wait=True)`, downloads through huggingface_hub and /hf.
Imports nothing from the server."""

from coda_client.approvals import Proposal
from coda_client.client import Coda
from coda_client.errors import (
    CodaError, Conflict, NotFound, PermissionDenied, Unauthenticated, Unavailable, ValidationFailed,
)
from coda_client.types import AccessRequest, Event, File, Job, Model, Provider, Retirement, Snapshot

__all__ = [
    "Coda", "CodaError", "Conflict", "NotFound", "PermissionDenied", "Unauthenticated", "Unavailable",
    "ValidationFailed", "AccessRequest", "Event", "File", "Job", "Model", "Provider", "Retirement", "Snapshot",
    "Proposal",
]
