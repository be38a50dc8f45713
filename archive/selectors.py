"""Archive reads: snapshots by revision, job progress, manifests."""

import re

from django.db.models import Count, Exists, Max, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum

from archive.exceptions import SnapshotNotFound
from archive.models import (
    Blob, EventType, FileKind, IngestJob, PreservationEvent, Replica, Snapshot, SnapshotFile, SnapshotTag,
)
from core.exceptions import NotFoundError
from catalogue.permissions import can_view_job, is_curator, visible_model_ids, visible_models
from catalogue.selectors import search_models
from catalogue.models import AIModel

REVISION_RE = re.compile(r"^[0-9a-f]{40}$")


def snapshot_queryset() -> QuerySet[Snapshot]:
    return Snapshot.objects.select_related("model__provider", "signing_key").annotate(
        file_count=Count("files"), total_size=Sum("files__size")
    )


# `main` is the model itself: the newest sealed snapshot holding weights, config or a tokenizer.
MODEL_FILE_KINDS = (FileKind.WEIGHTS, FileKind.CONFIG, FileKind.TOKENIZER)
# `dossier` is the retirement record: the newest sealed snapshot of interviews and reports only.
DOSSIER_FILE_KINDS = (FileKind.INTERVIEW, FileKind.REPORT)
BRANCHES = ("main", "dossier")


def sealed_with_role(queryset: QuerySet[Snapshot], role: str) -> QuerySet[Snapshot]:
    """Sealed snapshots of one role: 'main' (holds model files) or 'dossier' (only dossier documents)."""
    files = SnapshotFile.objects.filter(snapshot=OuterRef("pk"))
    queryset = queryset.filter(state=Snapshot.State.SEALED)
    if role == "main":
        return queryset.filter(Exists(files.filter(kind__in=MODEL_FILE_KINDS)))
    return queryset.filter(Exists(files.filter(kind__in=DOSSIER_FILE_KINDS))).exclude(
        Exists(files.exclude(kind__in=DOSSIER_FILE_KINDS))
    )


def branch_head(*, model: AIModel, branch: str, queryset: QuerySet[Snapshot] | None = None) -> Snapshot | None:
    """The snapshot a branch ('main', 'dossier') points at: the newest sealed one of its role."""
    queryset = queryset if queryset is not None else snapshot_queryset().filter(model=model)
    return sealed_with_role(queryset, branch).order_by("-sealed_at", "-pk").first()


def snapshot_get(*, model: AIModel, ref: str) -> Snapshot:
    """A snapshot by 40-hex revision id, branch ('main' = newest sealed snapshot of model files, 'dossier'),
    curator tag, or numeric id (unsealed ones)."""
    queryset = snapshot_queryset().filter(model=model)
    ref = ref.removeprefix("refs/heads/")
    if ref in BRANCHES:
        snapshot = branch_head(model=model, branch=ref, queryset=queryset)
    elif REVISION_RE.match(ref):
        snapshot = queryset.filter(revision=ref, state=Snapshot.State.SEALED).order_by("-sealed_at").first()
    elif ref.isascii() and ref.isdigit() and len(ref) <= 18:  # a row id that fits a 64-bit key
        snapshot = queryset.filter(pk=int(ref)).first()
    else:
        tag = ref.removeprefix("refs/tags/")
        snapshot = queryset.filter(tags__name=tag, tags__model=model).first() if tag else None
    if snapshot is None:
        raise SnapshotNotFound(f"{model.repo_id} has no snapshot {ref!r}.")
    return snapshot


def snapshot_tags(model: AIModel) -> QuerySet[SnapshotTag]:
    return SnapshotTag.objects.filter(model=model).select_related("snapshot").order_by("name")


def snapshot_files(snapshot: Snapshot) -> QuerySet[SnapshotFile]:
    verified = Replica.objects.filter(state=Replica.State.VERIFIED)
    return (
        snapshot.files.select_related("blob")
        .prefetch_related(Prefetch("blob__replicas", queryset=verified.select_related("location"), to_attr="verified_replicas"))
        .order_by("path")
    )


def manifest_files(snapshot: Snapshot) -> list[dict]:
    """The sealed snapshot's files as manifest entries (path, size, sha256, kind, format)."""
    if snapshot.state != Snapshot.State.SEALED:
        raise SnapshotNotFound(f"Snapshot {snapshot.pk} is not sealed yet; it has no manifest.")
    rows = snapshot.files.order_by("path").values("path", "blob__size", "blob__sha256", "kind", "format")
    return [
        {"path": r["path"], "size": r["blob__size"], "sha256": r["blob__sha256"], "kind": r["kind"], "format": r["format"]}
        for r in rows
    ]


def job_get(*, job_id: int, user=None, check_visible: bool = False) -> IngestJob:
    """One ingest job; with check_visible, the job of a model the user may not see answers like a missing one."""
    job = IngestJob.objects.select_related("snapshot__model__provider", "requested_by").filter(pk=job_id).first()
    if job is not None and check_visible and not can_view_job(user, job):
        job = None
    if job is None:
        raise NotFoundError(f"Ingest job {job_id} does not exist.", code="job_not_found")
    return job


def visible_events(user, queryset: QuerySet[PreservationEvent]) -> QuerySet[PreservationEvent]:
    """Events a user may list: curators all; others only events of models they may see, and neither `access`
    events (who downloaded what) nor events recorded without a model (fixity, repair, leftovers: they name
    blobs and keys that may belong to any model)."""
    if is_curator(user):
        return queryset
    # Nor the two-person rule's proposals and decisions (they name curators, researchers and changes not yet made).
    return (queryset.exclude(event_type=EventType.ACCESS).exclude(event_type=EventType.POLICY, detail__has_key="proposal")
            .filter(model__isnull=False, model__in=visible_model_ids(user)))


def job_progress(job: IngestJob) -> dict:
    """Files and bytes done, derived from the snapshot's files (never a stale counter)."""
    agg = job.snapshot.files.aggregate(
        files_done=Count("pk", filter=Q(state=SnapshotFile.State.STORED)),
        files_failed=Count("pk", filter=Q(state=SnapshotFile.State.FAILED)),
        bytes_done=Sum("bytes_done"),
    )
    return {
        "files_done": agg["files_done"],
        "files_failed": agg["files_failed"],
        "files_total": job.files_total,
        "bytes_done": agg["bytes_done"] or 0,
        "bytes_total": job.bytes_total,
    }


def snapshot_file_get(*, snapshot: Snapshot, path: str) -> SnapshotFile:
    """One stored file of a snapshot by its relative path."""
    row = snapshot.files.select_related("blob", "snapshot__model__provider").filter(path=path).first()
    if row is None:
        raise NotFoundError(f"{snapshot} has no file {path!r}.", code="file_not_found")
    if row.blob_id is None:
        raise NotFoundError(f"{path!r} of {snapshot} is not stored yet.", code="file_not_stored")
    return row


def hub_models(*, user, search: str = "", author: str = "", tags: list[str] | None = None) -> QuerySet[AIModel]:
    """Models the user may see, narrowed as the Hub's model list is: search terms, author (provider), tags."""
    queryset = visible_models(user, AIModel.objects.select_related("provider").prefetch_related("tags"))
    if search:
        queryset = search_models(queryset, search)
    if author:
        queryset = queryset.filter(provider__slug=author)
    for tag in tags or []:
        queryset = queryset.filter(tags__slug=tag)
    head = sealed_with_role(Snapshot.objects.filter(model=OuterRef("pk")), "main").order_by("-sealed_at", "-pk")
    return queryset.annotate(head_sealed_at=Subquery(head.values("sealed_at")[:1]))


def branch_heads(models: list[AIModel], branch: str = "main") -> dict[int, Snapshot]:
    """Each model's branch head, in one query."""
    heads: dict[int, Snapshot] = {}
    queryset = sealed_with_role(Snapshot.objects.filter(model__in=models), branch).order_by("model_id", "-sealed_at", "-pk")
    for snapshot in queryset:
        heads.setdefault(snapshot.model_id, snapshot)
    return heads


def snapshot_ingest_job(snapshot: Snapshot) -> IngestJob | None:
    """The ingest that sealed a snapshot (its last succeeded job)."""
    jobs = [j for j in snapshot.jobs.all() if j.state == IngestJob.State.SUCCEEDED]
    return max(jobs, key=lambda j: j.pk) if jobs else None
def holdings_summary(*, model_ids, verified_since) -> dict:
    """What the archive holds for these models (a queryset of pks): distinct bytes stored, copies, and copies
    whose last fixity proof is no older than `verified_since`."""
    blobs = Blob.objects.filter(pk__in=SnapshotFile.objects.filter(snapshot__model__in=model_ids).values("blob_id"))
    replicas = Replica.objects.filter(blob__in=blobs)
    return {
        "bytes": blobs.aggregate(total=Sum("size"))["total"] or 0,
        "copies": replicas.count(),
        "copies_verified": replicas.filter(state=Replica.State.VERIFIED, last_verified_at__gte=verified_since).count(),
    }


def snapshot_event_summary(user, snapshot: Snapshot) -> list[dict]:
    """A snapshot's preservation events by type and outcome (count, latest): its own events the user may list
    (`visible_events`), and the fixity checks of its files' blobs — recorded without a model, so only counted
    here; their details (locations, keys) stay in the curators' event list."""
    own = visible_events(user, PreservationEvent.objects.filter(snapshot=snapshot))
    blobs = SnapshotFile.objects.filter(snapshot=snapshot, blob__isnull=False).values("blob")
    fixity = PreservationEvent.objects.filter(event_type=EventType.FIXITY, snapshot__isnull=True, blob__in=blobs)
    rows = []
    for queryset in (own, fixity):
        grouped = queryset.order_by().values("event_type", "outcome")
        rows += grouped.annotate(count=Count("pk"), latest=Max("created_at"))
    return sorted(rows, key=lambda row: (row["event_type"], row["outcome"]))
