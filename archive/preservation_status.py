"""A model's preservation status, derived from its snapshots and replicas.

Interim rule, isolated here so the assurance work can replace it in one place: a model is
`preserved` when it has a sealed snapshot whose every file has at least one verified replica;
otherwise `not_preserved`. The web catalogue filters and displays through these functions only."""

from django.db.models import Case, CharField, Exists, OuterRef, QuerySet, Value, When
from django.db.models import Count, Max, Min, Q

from archive.models import Replica, Snapshot, SnapshotFile


class PreservationStatus:
    PRESERVED = "preserved"
    NOT_PRESERVED = "not_preserved"
    choices = [(PRESERVED, "Preserved"), (NOT_PRESERVED, "Not preserved")]


def _snapshot_fully_verified():
    """Exists-subquery: a sealed snapshot of the outer model with no file lacking a verified replica."""
    verified = Replica.objects.filter(blob_id=OuterRef("blob_id"), state=Replica.State.VERIFIED)
    unverified_file = SnapshotFile.objects.filter(snapshot_id=OuterRef("pk")).filter(
        Q(blob__isnull=True) | ~Exists(verified)
    )
    return Exists(
        Snapshot.objects.filter(model_id=OuterRef("pk"), state=Snapshot.State.SEALED).filter(~Exists(unverified_file))
    )


def preservation_annotation():
    """SQL expression giving a model queryset's `preservation_status`."""
    return Case(
        When(_snapshot_fully_verified(), then=Value(PreservationStatus.PRESERVED)),
        default=Value(PreservationStatus.NOT_PRESERVED),
        output_field=CharField(),
    )


def with_preservation_status(queryset: QuerySet) -> QuerySet:
    return queryset.annotate(preservation_status=preservation_annotation())


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
