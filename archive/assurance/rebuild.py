"""Rebuild the catalogue's archive records from what a storage location holds: its manifests name every
sealed snapshot's model, files, sizes and digests (and the retirement summary)."""

import json
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.dateparse import parse_datetime

from archive.models import Blob, EventOutcome, EventType, Replica, SealingKey, Snapshot, SnapshotFile, StorageLocation
from archive.events import event_record
from archive.ingest import manifests
from archive.ingest.sources import classify
from archive.sealing import description, keys
from archive.storage import ocfl
from archive.storage.base import blob_key
from archive.storage.locations import backend_for
from catalogue import services as catalogue_services
from catalogue.models import AIModel, Retirement


@dataclass
class RebuildReport:
    snapshots_created: int = 0
    snapshots_present: int = 0
    files: int = 0
    replicas: int = 0
    missing_objects: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    keys_restored: list = field(default_factory=list)  # archive sealing keys recreated from keys/sealing/


def catalogue_rebuild(*, location: StorageLocation, agent: str) -> RebuildReport:
    """Recreate models, snapshots, files, blobs and replicas from the location's manifests. Replicas whose
    object exists with the right size are recorded as stored (not verified: run an audit to prove them)."""
    report = RebuildReport()
    backend = backend_for(location)
    if location.kind == StorageLocation.Kind.OCFL:
        for root, inventory in backend.inventories():
            if not inventory.get("id", "").startswith(ocfl.ID_SCHEME):
                continue  # not a snapshot: a log checkpoint's object (archive/log/services.py)
            try:
                _restore(_ocfl_document(root, inventory, backend), location=location, backend=backend,
                         report=report, agent=agent)
            except (ValueError, KeyError, TypeError) as exc:
                report.errors.append(f"{root}: {exc}")
        return report
    try:  # the archive keys first: the sealed copies below are recorded as sealed to them
        report.keys_restored = keys.key_records_restore(backend)
    except ValueError as exc:
        report.errors.append(str(exc))
    for key in backend.list_keys("manifests/"):
        if not key.endswith(".json"):
            continue
        try:
            with backend.open(key) as stream:
                document = json.loads(stream.read(64 * 1024 * 1024))
            for entry in document["files"]:  # sealed copies: the ciphertext's facts, by plaintext digest
                if entry["sha256"] in document.get("sealed", {}):
                    entry["sealed"] = document["sealed"][entry["sha256"]]
            _restore(document, location=location, backend=backend, report=report, agent=agent)
        except (ValueError, KeyError, TypeError) as exc:
            report.errors.append(f"{key}: {exc}")
    return report


def _ocfl_document(root: str, inventory: dict, backend) -> dict:
    """An OCFL object read as the manifest it mirrors: model and revision from its id, files from the head state,
    sizes from the content files, each digest's object key its content path (the retirement stays in the message)."""
    repo_id, revision = ocfl.object_id_parse(inventory["id"])
    files, keys = [], {}
    for digest, paths in inventory["manifest"].items():
        keys[digest] = f"{root}/{paths[0]}"
    for path, content in ocfl.content_files(inventory):
        digest = next(d for d, paths in inventory["manifest"].items() if content in paths)
        files.append({"path": path, "sha256": digest, "size": backend.size_of(f"{root}/{content}")})
    if any(f["size"] is None for f in files):
        raise ValueError(f"content missing from OCFL object {inventory['id']}")
    described = next((f for f in files if f["path"] == description.NAME), None)
    if described is not None and any(f["path"].endswith(description.SUFFIX) for f in files):
        # Sealed files: the snapshot's files are the plaintexts encryption.json describes, held as <path>.age.
        document = description.encryption_parse(backend.read_small(keys[described["sha256"]]))
        by_sealed_path = {f["path"]: f for f in files}
        for entry in document["files"]:
            held = by_sealed_path.pop(entry["sealed_path"])
            if held["sha256"] != entry["ciphertext_sha256"] or held["size"] != entry["ciphertext_size"]:
                raise ValueError(f"{entry['sealed_path']} is not the ciphertext encryption.json describes")
            keys[entry["sha256"]] = keys[held["sha256"]]
            by_sealed_path[entry["path"]] = {
                "path": entry["path"], "sha256": entry["sha256"], "size": entry["size"],
                "sealed": {k: entry[k] for k in ("ciphertext_sha256", "ciphertext_size", "header_size",
                                                 "archive_key_id")},
            }
        by_sealed_path.pop(description.NAME)
        files = list(by_sealed_path.values())
    created = inventory["versions"][inventory["head"]]["created"]
    if manifests.revision_id((f["path"], f["size"], f["sha256"]) for f in files) != revision:
        raise ValueError(f"OCFL object {inventory['id']} does not hold the files of revision {revision}")
    return {"model": repo_id, "revision": revision, "sealed_at": created, "files": files, "retirement": None,
            "object_keys": keys}


@transaction.atomic
def _restore(document: dict, *, location, backend, report: RebuildReport, agent: str) -> None:
    provider_slug, _, name = document["model"].partition("/")
    provider = catalogue_services.provider_get_or_create(slug=provider_slug)
    model = AIModel.objects.filter(provider=provider, name=name).first()
    if model is None:
        model = catalogue_services.model_create(provider=provider, name=name)
    retirement = document.get("retirement")
    if retirement and not Retirement.objects.filter(model=model).exists():
        Retirement.objects.create(
            model=model,
            reason_category=retirement.get("reason_category") or "other",
            reason=retirement.get("reason") or "",
            access_after_retirement=retirement.get("access_after_retirement") or "none",
            access_note=retirement.get("access_note") or "",
            preservation_statement=retirement.get("preservation_statement") or "",
            preserved_until=retirement.get("preserved_until") or None,
            preserved_for_lifetime=bool(retirement.get("preserved_for_lifetime")),
        )
    revision = document["revision"]
    if Snapshot.objects.filter(model=model, revision=revision, state=Snapshot.State.SEALED).exists():
        report.snapshots_present += 1
        return
    snapshot = Snapshot.objects.create(
        model=model,
        revision=revision,
        state=Snapshot.State.SEALED,
        source=f"rebuilt from {location.name}",
        sealed_at=parse_datetime(document["sealed_at"]),
        manifest_key=f"manifests/{document['model']}/{revision}.json",
    )
    for entry in document["files"]:
        blob, _ = Blob.objects.get_or_create(sha256=entry["sha256"], defaults={"size": entry["size"]})
        kind, fmt = classify(entry["path"])
        SnapshotFile.objects.create(
            snapshot=snapshot, path=entry["path"], size=entry["size"], blob=blob,
            kind=entry.get("kind") or kind, format=entry.get("format") or fmt,
            state=SnapshotFile.State.STORED, bytes_done=entry["size"],
        )
        report.files += 1
        candidates = [document.get("object_keys", {}).get(blob.sha256), blob_key(blob.sha256)]
        sealed = entry.get("sealed")
        stored_size = sealed["ciphertext_size"] if sealed else blob.size
        key = next((k for k in candidates if k and backend.size_of(k) == stored_size), None)
        seal_fields, unknown_key = {}, False
        if key is None:
            report.missing_objects.append(next(k for k in candidates if k))
        elif sealed:
            archive_key = SealingKey.objects.filter(key_id=sealed["archive_key_id"]).first()
            if archive_key is None:  # the key rows went with the database: the custodians' identities open it
                report.errors.append(f"{entry['path']}: sealed to archive key {sealed['archive_key_id']}, not in "
                                     "this database (open it with a custodian's identity; see encryption.json)")
                unknown_key = True
            else:
                seal_fields = {"sealed_with": archive_key, "ciphertext_sha256": sealed["ciphertext_sha256"],
                               "ciphertext_size": sealed["ciphertext_size"], "age_header_size": sealed["header_size"]}
        if key is not None and not unknown_key:
            _, created = Replica.objects.get_or_create(
                blob=blob, location=location, defaults={"key": key, "state": Replica.State.STORED, **seal_fields}
            )
            report.replicas += int(created)
    event_record(event_type=EventType.INGESTION, outcome=EventOutcome.SUCCESS, agent=agent, model=model,
                 snapshot=snapshot, location=location,
                 detail={"rebuilt_from": location.name, "revision": revision, "files": len(document["files"])})
    report.snapshots_created += 1
