"""Reads of the tamper-evident log: leaf hashes, proofs, checkpoints and the full check that names the first leaf
whose event no longer matches it."""

from dataclasses import dataclass

from archive.exceptions import LogProofUnavailable
from archive.log import leaves, tree
from archive.models import LogCheckpoint, LogHead, LogLeaf, PreservationEvent


def log_size() -> int:
    """Leaves with an index (a leaf recorded but not yet sequenced is not in the tree yet)."""
    head = LogHead.objects.filter(pk=1).first()
    return head.size if head else 0


def leaf_hashes(size: int) -> list[bytes]:
    """The first `size` leaf hashes in index order (32 bytes each: a million leaves is 32 MB)."""
    hashes = [bytes(h) for h in LogLeaf.objects.filter(index__lt=size).order_by("index")
              .values_list("leaf_hash", flat=True).iterator(chunk_size=10000)]
    if len(hashes) != size:
        raise LogProofUnavailable(f"the log has {len(hashes)} leaves below index {size}, not {size}")
    return hashes


def checkpoint_latest() -> LogCheckpoint | None:
    return LogCheckpoint.objects.select_related("key").order_by("-size").first()


def _size_or_latest(size: int | None) -> int:
    if size is None:
        latest = checkpoint_latest()
        if latest is None:
            raise LogProofUnavailable("no checkpoint has been signed yet")
        return latest.size
    current = log_size()
    if not 0 <= size <= current:
        raise LogProofUnavailable(f"the log has {current} leaves; no tree of {size}")
    return size


def inclusion(*, event_id: int, size: int | None = None) -> dict:
    """The inclusion proof of an event's leaf in the tree of `size` leaves (default: the latest checkpoint's)."""
    leaf = LogLeaf.objects.filter(event_id=event_id).first()
    if leaf is None or leaf.index is None:
        raise LogProofUnavailable(f"event {event_id} has no place in the log yet: wait for the next checkpoint")
    size = _size_or_latest(size)
    if leaf.index >= size:
        raise LogProofUnavailable(f"event {event_id} is leaf {leaf.index}, after the tree of {size} leaves: "
                                  "wait for the next checkpoint")
    hashes = leaf_hashes(size)
    return {"event": event_id, "index": leaf.index, "size": size, "leaf_hash": bytes(leaf.leaf_hash),
            "hashes": tree.inclusion_proof(hashes, leaf.index, size), "root_hash": tree.root(hashes)}


def consistency(*, first: int, second: int | None = None) -> dict:
    """The proof that the tree of `second` leaves (default: the latest checkpoint's) extends the tree of `first`."""
    second = _size_or_latest(second)
    if not 0 <= first <= second:
        raise LogProofUnavailable(f"no consistency proof from {first} to {second} leaves")
    hashes = leaf_hashes(second)
    return {"from": first, "to": second, "hashes": tree.consistency_proof(hashes, first, second),
            "from_root_hash": tree.root(hashes, 0, first), "to_root_hash": tree.root(hashes)}


def leaves_page(*, start: int, count: int, events) -> list[dict]:
    """Leaves start..start+count-1 of the tree: index, hash, event id and the event row when `events` (a queryset
    the reader may see) holds it, else None."""
    rows = list(LogLeaf.objects.filter(index__gte=start, index__lt=start + count).order_by("index"))
    found = events.in_bulk([r.event_id for r in rows])
    return [{"index": r.index, "leaf_hash": bytes(r.leaf_hash), "event_id": r.event_id, "event": found.get(r.event_id)}
            for r in rows]


@dataclass
class LogCheckReport:
    size: int
    root_hash: bytes
    checkpoint_size: int | None
    first_bad_leaf: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def log_check() -> LogCheckReport:
    """Recompute every leaf from its event row and the root of the latest checkpoint: the first leaf whose event
    was edited, deleted or moved is named (reading events in batches in index order)."""
    size = log_size()
    hashes = leaf_hashes(size)
    latest = checkpoint_latest()
    report = LogCheckReport(size=size, root_hash=tree.root(hashes), checkpoint_size=latest.size if latest else None)
    batch = 2000
    for start in range(0, size, batch):
        rows = list(LogLeaf.objects.filter(index__gte=start, index__lt=start + batch).order_by("index"))
        events = PreservationEvent.objects.in_bulk([r.event_id for r in rows])
        for row in rows:
            event = events.get(row.event_id)
            if event is None:
                report.first_bad_leaf, report.problem = row.index, f"leaf {row.index}: event {row.event_id} is missing"
                return report
            if tree.leaf_hash(leaves.leaf_data(leaves.event_object(event))) != bytes(row.leaf_hash):
                report.first_bad_leaf = row.index
                report.problem = f"leaf {row.index}: event {row.event_id} no longer matches its leaf hash"
                return report
    if latest is not None and tree.root(hashes, 0, latest.size) != bytes(latest.root_hash):
        report.problem = (f"the first {latest.size} leaves do not have the root of the signed checkpoint of "
                          f"{latest.size} leaves: the leaf table was rewritten")
    return report
