"""Preservation: the one module that decides whether something is preserved.

- a model: `model_preservation_report` (copies per file, oldest proof, problems) and its status (preserved, at
  risk, degraded, not preserved). `model_preservation_refresh` is the only writer of the stored
  `catalogue.AIModel.preservation_status`, refreshed after seal, replication, audit and repair; the catalogue (its
  API `preservation` filter, admin list filter, web list) only reads that stored field, since the catalogue may not
  import the archive.
- a snapshot: `snapshot_health` (the model page's per-snapshot figures: sealed and every file with a verified copy).
- the copy policy: `min_copies` and `snapshots_under_replicated` (what the preservation-enforce beat replicates).
- withdrawn snapshots whose bytes a curator chose to delete (`Snapshot.bytes_deleted_at`) are no longer owed copies:
  the copy policy, replication and fixity audits leave them out (`blobs_released`), and the report lists them apart
  instead of calling their files lost.
"""

from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Max, Min, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from archive.inspection import snapshot_completeness
from archive.models import Blob, IngestJob, Replica, Snapshot, SnapshotFile, StorageLocation
from catalogue.models import AIModel, PreservationStatus


def min_copies() -> tuple[int, list[str]]:
    """The copies every file needs (CODA_MIN_COPIES, default 2 with two or more locations, else 1) and warnings."""
    active = StorageLocation.objects.filter(is_active=True).count()
    configured = settings.CODA_MIN_COPIES
    warnings = []
    if configured is None:
        configured = 2 if active >= 2 else 1
    if active < 2:
        warnings.append("Only one storage location is configured: every file has a single copy.")
    if configured > active:
        warnings.append(f"CODA_MIN_COPIES={configured} but only {active} storage location(s) are configured.")
    return configured, warnings


def model_preservation_report(model: AIModel) -> dict:
    """Copies per file of the model's sealed snapshots, verified copies, oldest verification, problems, status."""
    required, warnings = min_copies()
    stale_before = timezone.now() - timedelta(days=settings.CODA_FIXITY_INTERVAL_DAYS)
    sealed = Snapshot.objects.filter(model=model, state=Snapshot.State.SEALED).order_by("-sealed_at")
    snapshots = list(sealed.filter(bytes_deleted_at__isnull=True))
    released = [
        {"revision": s.revision, "withdrawn_at": s.withdrawn_at or model.withdrawn_at, "bytes_deleted_at": s.bytes_deleted_at}
        for s in sealed.filter(bytes_deleted_at__isnull=False)
    ]
    files = list(
        SnapshotFile.objects.filter(snapshot__in=snapshots).select_related("blob", "snapshot").order_by("snapshot_id", "path")
    )
    replicas = defaultdict(list)
    for replica in Replica.objects.filter(blob_id__in={f.blob_id for f in files}).select_related("location"):
        replicas[replica.blob_id].append(replica)
    rows, problems = [], []
    oldest = None
    worst = PreservationStatus.PRESERVED if snapshots else PreservationStatus.NOT_PRESERVED
    rank = {PreservationStatus.PRESERVED: 0, PreservationStatus.AT_RISK: 1, PreservationStatus.DEGRADED: 2}
    for f in files:
        copies = replicas.get(f.blob_id, [])
        verified = [r for r in copies if r.state == Replica.State.VERIFIED]
        dates = [r.last_verified_at for r in verified if r.last_verified_at]
        file_oldest = min(dates) if dates else None
        if file_oldest and (oldest is None or file_oldest < oldest):
            oldest = file_oldest
        status = PreservationStatus.PRESERVED
        for r in copies:
            if r.state in (Replica.State.CORRUPT, Replica.State.MISSING):
                problems.append(
                    {"revision": f.snapshot.revision, "path": f.path, "sha256": f.blob.sha256,
                     "location": r.location.name, "problem": r.state}
                )
        if not verified:
            status = PreservationStatus.DEGRADED
            problems.append({"revision": f.snapshot.revision, "path": f.path, "sha256": f.blob.sha256,
                             "location": None, "problem": "unrecoverable: no verified copy"})
        elif len(verified) < required or (file_oldest and file_oldest < stale_before):
            status = PreservationStatus.AT_RISK
            if len(verified) < required:
                problems.append({"revision": f.snapshot.revision, "path": f.path, "sha256": f.blob.sha256,
                                 "location": None, "problem": f"{len(verified)} of {required} verified copies"})
        if snapshots and rank[status] > rank[worst]:
            worst = status
        rows.append(
            {
                "revision": f.snapshot.revision,
                "path": f.path,
                "sha256": f.blob.sha256,
                "size": f.blob.size,
                "copies": len(copies),
                "verified_copies": len(verified),
                "oldest_verification": file_oldest,
                "locations": {r.location.name: r.state for r in copies},
            }
        )
    if snapshots and oldest and oldest < stale_before and worst == PreservationStatus.PRESERVED:
        worst = PreservationStatus.AT_RISK
    return {
        "model": model.repo_id,
        "status": worst,
        "completeness": {s.revision: snapshot_completeness(s) for s in snapshots},
        "min_copies": required,
        "warnings": warnings,
        "snapshots": [s.revision for s in snapshots],
        "bytes_deleted": released,  # withdrawn, bytes deleted on purpose: not counted as lost
        "files": rows,
        "oldest_verification": oldest,
        "problems": problems,
    }


def model_preservation_refresh(model: AIModel) -> str:
    """Recompute and store the model's preservation status (kept alongside the events, never instead)."""
    status = model_preservation_report(model)["status"]
    if model.preservation_status != status:
        AIModel.objects.filter(pk=model.pk).update(preservation_status=status)
        model.preservation_status = status
    return status


def models_refresh_for_blobs(blob_ids) -> None:
    models = AIModel.objects.filter(
        snapshots__state=Snapshot.State.SEALED, snapshots__files__blob_id__in=list(blob_ids)
    ).distinct()
    for model in models:
        model_preservation_refresh(model)


def snapshots_under_replicated() -> list[int]:
    """Sealed snapshots with a file that has fewer verified copies than `min_copies` requires."""
    required, _ = min_copies()
    weak_blobs = (
        Blob.objects.annotate(verified=Count("replicas", filter=Q(replicas__state=Replica.State.VERIFIED)))
        .filter(verified__lt=required)
        .values("pk")
    )
    return list(
        Snapshot.objects.filter(state=Snapshot.State.SEALED, bytes_deleted_at__isnull=True, files__blob__in=weak_blobs)
        .values_list("pk", flat=True).distinct()
    )


def blobs_released():
    """Blobs whose every snapshot is withdrawn with its bytes deleted: no copy of them is owed any more (a copy
    left behind, e.g. by a deletion that failed half-way, is an orphan for the leftovers sweep, not a loss)."""
    return Blob.objects.filter(snapshot_files__snapshot__bytes_deleted_at__isnull=False).exclude(
        snapshot_files__snapshot__bytes_deleted_at__isnull=True
    )


def snapshot_health(snapshot: Snapshot) -> dict:
    """Per-snapshot figures for the model page: files, files with a verified copy, fewest copies, oldest proof, and
    its status: preserved when sealed with a verified copy of every file, else not preserved."""
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
        "bytes_deleted": snapshot.bytes_deleted_at is not None,  # withdrawn and deleted on purpose, not lost
        "files": total,
        "verified_files": verified,
        "min_copies": agg["min_copies"] or 0,
        "oldest_proof": agg["oldest_proof"],
        "status": PreservationStatus.PRESERVED if preserved else PreservationStatus.NOT_PRESERVED,
    }


HEALTH_PROBLEMS_SHOWN = 50


def _age_buckets(interval_days: int) -> list[tuple[str, int | None, int | None]]:
    """(label, from_days, to_days) bins of days since a copy's last verification: the audit interval in up to six
    equal steps, then one bin for copies past it."""
    steps = max(1, min(6, interval_days))
    edges = [round(interval_days * i / steps) for i in range(steps + 1)]
    bins = [(f"{lo}–{hi} days", lo, hi) for lo, hi in zip(edges, edges[1:])]
    return bins + [(f"over {interval_days} days (overdue)", interval_days, None)]


def archive_health() -> dict:
    """The curators' preservation-health view over every sealed snapshot: verified copies per stored file (a
    distribution against `min_copies`), days since each copy was last verified (a histogram against
    CODA_FIXITY_INTERVAL_DAYS) and the open problems (corrupt or missing copies, files short of copies, failed
    ingests). A few aggregate queries, whatever the archive's size."""
    required, warnings = min_copies()
    interval = settings.CODA_FIXITY_INTERVAL_DAYS
    now = timezone.now()
    held = Blob.objects.filter(snapshot_files__snapshot__state=Snapshot.State.SEALED).distinct()
    verified_copies = (
        Replica.objects.filter(blob=OuterRef("pk"), state=Replica.State.VERIFIED)
        .values("blob").annotate(n=Count("pk")).values("n")
    )
    copies = (  # grouped by a subquery (a plain Count annotation cannot be grouped on)
        Blob.objects.filter(pk__in=held.values("pk"))
        .annotate(verified=Coalesce(Subquery(verified_copies), 0))
        .values("verified")
        .annotate(files=Count("pk"))
        .order_by("verified")
    )
    copies_per_file = [{"copies": row["verified"], "files": row["files"], "enough": row["verified"] >= required}
                       for row in copies]
    replicas = Replica.objects.filter(blob__in=held.values("pk"))
    verified = replicas.filter(state=Replica.State.VERIFIED)
    bins = _age_buckets(interval)
    counts = verified.aggregate(
        never=Count("pk", filter=Q(last_verified_at__isnull=True)),
        **{
            f"b{i}": Count(
                "pk",
                filter=Q(last_verified_at__lte=now - timedelta(days=lo))
                & (Q(last_verified_at__gt=now - timedelta(days=hi)) if hi is not None else Q()),
            )
            for i, (_, lo, hi) in enumerate(bins)
        },
    )
    histogram = [{"label": label, "copies": counts[f"b{i}"], "overdue": hi is None}
                 for i, (label, lo, hi) in enumerate(bins)]
    bad = (
        replicas.filter(state__in=[Replica.State.CORRUPT, Replica.State.MISSING])
        .select_related("blob", "location")
        .order_by("-pk")
    )
    short = (
        SnapshotFile.objects.filter(snapshot__state=Snapshot.State.SEALED)
        .annotate(verified=Count("blob__replicas", filter=Q(blob__replicas__state=Replica.State.VERIFIED)))
        .filter(verified__lt=required)
        .select_related("snapshot__model__provider", "blob")
        .order_by("snapshot__model__repo_key", "path")
    )
    # A failed ingest stays a problem until its snapshot is resumed (then ingesting) or sealed.
    failed_jobs = IngestJob.objects.filter(state=IngestJob.State.FAILED, snapshot__state=Snapshot.State.FAILED).select_related("snapshot__model__provider")
    return {
        "min_copies": required,
        "warnings": warnings,
        "interval_days": interval,
        "files": sum(row["files"] for row in copies_per_file),
        "copies_per_file": copies_per_file,
        "histogram": histogram,
        "copies_never_verified": counts["never"],
        "copies_verified": verified.count(),
        "bad_copies": list(bad[:HEALTH_PROBLEMS_SHOWN]),
        "bad_copy_count": bad.count(),
        "short_files": list(short[:HEALTH_PROBLEMS_SHOWN]),
        "short_file_count": short.count(),
        "failed_jobs": list(failed_jobs.order_by("-created_at")[:HEALTH_PROBLEMS_SHOWN]),
        "failed_job_count": failed_jobs.count(),
    }
