"""Which sealed snapshots do not yet meet the copy policy."""

from django.db.models import Count, Q

from archive.models import Blob, Replica, Snapshot
from archive.preservation import min_copies


def snapshots_under_replicated() -> list[int]:
    required, _ = min_copies()
    weak_blobs = (
        Blob.objects.annotate(verified=Count("replicas", filter=Q(replicas__state=Replica.State.VERIFIED)))
        .filter(verified__lt=required)
        .values("pk")
    )
    return list(
        Snapshot.objects.filter(state=Snapshot.State.SEALED, files__blob__in=weak_blobs).values_list("pk", flat=True).distinct()
    )
