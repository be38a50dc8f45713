"""Inspection reads: completeness re-evaluated from the database (for the fixity audit)."""

from django.db.models import Exists, OuterRef

from archive.inspection.checkpoint import FileFacts, evaluate
from archive.models import Replica, Snapshot, SnapshotFile


def snapshot_completeness(snapshot: Snapshot) -> dict:
    """{"complete": bool, "problems": [{code, path, message, ...}], "missing": [paths]} for the snapshot as it
    stands now: a file whose blob has no verified replica at any location counts as absent, so a lost shard
    shows as incomplete. Reads only the database (headers were inspected at ingest); no bytes are read."""
    verified = Replica.objects.filter(blob=OuterRef("blob"), state=Replica.State.VERIFIED)
    rows = (
        snapshot.files.annotate(verified=Exists(verified))
        .order_by("path")
        .values_list("path", "format", "state", "verified", "inspection", "problems")
    )
    facts = [
        FileFacts(
            path=path,
            format=fmt,
            present=state == SnapshotFile.State.STORED and verified,
            inspection=inspection or {},
            problems=problems or [],
        )
        for path, fmt, state, verified, inspection, problems in rows
    ]
    result = evaluate(facts)
    return {
        "complete": result["complete"],
        "problems": result["problems"],
        "missing": [f.path for f in facts if not f.present],
    }
