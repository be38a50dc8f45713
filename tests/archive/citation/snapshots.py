"""Sealed snapshot rows for citation, tombstone and harvesting tests (no bytes needed: citations read the record)."""

import hashlib
from datetime import datetime, timedelta, timezone

from archive.models import Blob, Snapshot, SnapshotFile

BASE = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)


def sealed_snapshot(model, *, seq: int = 0, files: dict | None = None, **fields) -> Snapshot:
    """A sealed snapshot of `model` with these files ({path: (size, format)}), sealed `seq` days after BASE."""
    revision = hashlib.sha1(f"{model.repo_key}-{seq}".encode()).hexdigest()
    snapshot = Snapshot.objects.create(model=model, source="/staging/x", state=Snapshot.State.SEALED,
                                       revision=revision, sealed_at=BASE + timedelta(days=seq), **fields)
    for path, (size, fmt) in (files or {"model.safetensors": (1024, "safetensors"), "config.json": (64, "json")}).items():
        digest = hashlib.sha256(f"{revision}/{path}".encode()).hexdigest()
        blob = Blob.objects.create(sha256=digest, size=size)
        SnapshotFile.objects.create(snapshot=snapshot, path=path, size=size, blob=blob, format=fmt,
                                    state=SnapshotFile.State.STORED)
    return snapshot
