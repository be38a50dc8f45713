"""Import of a BagIt bag (verified with the Library of Congress `bagit` package) as a new snapshot, and the
post-seal cross-check of the ingested digests against the bag's manifest."""

from dataclasses import dataclass
from pathlib import Path

import bagit

from archive import selectors
from archive.bags.export import BagInvalid
from archive.ingest.services import snapshot_ingest_start
from archive.ingest.sources import resolve_staging_dir
from archive.models import IngestJob, Snapshot


@dataclass
class BagImport:
    job: IngestJob
    expected: dict[str, str]  # snapshot path → sha256 from the bag's manifest (empty if it has none)
    bag_revision: str | None  # Coda-Revision from bag-info.txt, if the bag came from Coda


def bag_import_start(*, path: str, model, requested_by=None) -> BagImport:
    """Verify the bag (structure, Payload-Oxum, every manifest and tag manifest digest), then ingest its
    data/ directory as a new snapshot of `model`. The bag must lie inside CODA_STAGING_ROOTS."""
    directory = resolve_staging_dir(path)  # confined before a byte is read
    try:
        bag = bagit.Bag(str(directory))
        bag.validate(processes=1)
    except bagit.BagValidationError as exc:
        details = "; ".join(str(d) for d in exc.details[:5]) or exc.message
        raise BagInvalid(f"{directory} is not a valid bag: {details}") from None
    except bagit.BagError as exc:
        raise BagInvalid(f"{directory} is not a valid bag: {exc}") from None
    expected = {}
    for name, digests in bag.entries.items():
        if name.startswith("data/") and "sha256" in digests:
            expected[name[len("data/"):]] = digests["sha256"]
    revision = bag.info.get("Coda-Revision")
    job = snapshot_ingest_start(model=model, source=str(Path(directory) / "data"), requested_by=requested_by)
    return BagImport(job=job, expected=expected, bag_revision=revision if isinstance(revision, str) else None)


def bag_import_check(*, snapshot: Snapshot, expected: dict[str, str]) -> list[str]:
    """After the seal: the digests Coda computed while ingesting must equal the bag's manifest (the files could
    have changed between validation and ingest). Returns the problems, empty when they agree."""
    if not expected:
        return []
    recorded = {f["path"]: f["sha256"] for f in selectors.manifest_files(snapshot)}
    problems = [f"{p}: bag says {d}, ingested {recorded.get(p)}" for p, d in sorted(expected.items()) if recorded.get(p) != d]
    problems += [f"{p}: ingested but not in the bag's manifest" for p in sorted(set(recorded) - set(expected))]
    return problems
