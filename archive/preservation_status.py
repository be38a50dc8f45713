"""Per-snapshot preservation health for the web catalogue's model page. The model's own status
(preserved, at risk, degraded, not preserved) is AIModel.preservation_status, kept current by
archive.preservation after every ingest, replication, audit and repair."""

from django.db.models import Count, Max, Min, Q

from archive.models import Replica, Snapshot
from catalogue.models import PreservationStatus


def snapshot_health(snapshot: Snapshot) -> dict:
    """Per-snapshot figures for the model page: files, files with a verified copy, fewest copies, oldest proof."""
    files = snapshot.files.annotate(
        copies=Count("blob__replicas", filter=Q(blob__replicas__state=Replica.State.VERIFIED)),
        last_verified=Max(
            "blob__replicas__last_verified_at", filter=Q(blob__replicas__state=Replica.State.VERIFIED)
        ),
    )
    agg = files.aggregate(
        total=Count("pk"),
        verified=Count("pk", filter=Q(copies__gte=1)),
        min_copies=Min("copies"),
        oldest_proof=Min("last_verified"),
    )
    total = agg["total"] or 0
    verified = agg["verified"] or 0
    preserved = snapshot.state == Snapshot.State.SEALED and total > 0 and verified == total
    return {
        "files": total,
        "verified_files": verified,
        "min_copies": agg["min_copies"] or 0,
        "oldest_proof": agg["oldest_proof"],
        "status": PreservationStatus.PRESERVED if preserved else PreservationStatus.NOT_PRESERVED,
    }
