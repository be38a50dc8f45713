"""The archival manifest format (coda-manifest/1) and revision ids: a format that outlives the software, built
here from the models with plain functions, never with an API serializer.

Revision ids. The recipe (docs/revision-id.md): one line per file,
`path<TAB>size<TAB>sha256<LF>`, sorted by the UTF-8 bytes of the path; the revision id is the
first 40 hex characters of the SHA-256 of those lines."""

import datetime as dt
import hashlib
import json
from collections.abc import Iterable

from archive.models import Replica, Snapshot, StorageLocation
from archive.sealing.keys import key_records_put
from archive.storage.base import blob_key
from catalogue.models import Retirement

MANIFEST_FORMAT = "coda-manifest/1"


def manifest_lines(files: Iterable[tuple[str, int, str]]) -> str:
    rows = sorted(files, key=lambda row: row[0].encode("utf-8"))
    return "".join(f"{path}\t{size}\t{sha256}\n" for path, size, sha256 in rows)


def revision_id(files: Iterable[tuple[str, int, str]]) -> str:
    return hashlib.sha256(manifest_lines(files).encode("utf-8")).hexdigest()[:40]


def sha256sum_text(files: Iterable[tuple[str, int, str]]) -> str:
    """`sha256sum -c` compatible: '<digest>  <path>' per line."""
    rows = sorted(files, key=lambda row: row[0].encode("utf-8"))
    return "".join(f"{sha256}  {path}\n" for path, _size, sha256 in rows)


def manifest_document(
    *, repo_id: str, revision: str, sealed_at: str, files: list[dict], retirement: dict | None,
    object_keys: dict[str, str] | None = None,
) -> dict:
    """`object_keys` maps a digest to its object's key at the location holding this manifest, for blobs that are
    not at the content-addressed key blobs/sha256/ab/cd/<digest> (large uploads kept where they were uploaded)."""
    document = {
        "format": MANIFEST_FORMAT,
        "model": repo_id,
        "revision": revision,
        "sealed_at": sealed_at,
        "revision_recipe": "sha256 over 'path\\tsize\\tsha256\\n' lines sorted by UTF-8 path bytes; first 40 hex",
        "files": sorted(files, key=lambda f: f["path"].encode("utf-8")),
        "retirement": retirement,
    }
    if object_keys:
        document["object_keys"] = dict(sorted(object_keys.items()))
    return document


def manifest_bytes(document: dict) -> bytes:
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def _iso_date(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def _iso_datetime(value: dt.datetime | None) -> str | None:
    """ISO 8601 in UTC with 'Z' for a zero offset (the form the manifests have always used)."""
    if not value:
        return None
    text = value.astimezone(dt.timezone.utc).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def retirement_summary(retirement: Retirement) -> dict:
    """The retirement record as the manifest keeps it."""
    registered_by = retirement.registered_by
    return {
        "id": retirement.id,
        "reason_category": retirement.reason_category,
        "reason": retirement.reason,
        "access_after_retirement": retirement.access_after_retirement,
        "access_note": retirement.access_note,
        "preservation_statement": retirement.preservation_statement,
        "preserved_until": _iso_date(retirement.preserved_until),
        "preserved_for_lifetime": retirement.preserved_for_lifetime,
        "registered_by": registered_by.username if registered_by is not None else None,
        "registered_at": _iso_datetime(retirement.registered_at),
    }


def manifest_document_for(snapshot: Snapshot, files=None, location: StorageLocation | None = None) -> dict:
    """The manifest stored next to the blobs: files, digests and a summary of the retirement record; for the
    copy kept at `location`, also the keys of its objects that are not at their content-addressed key."""
    files = files if files is not None else list(snapshot.files.select_related("blob").order_by("path"))
    retirement = Retirement.objects.filter(model=snapshot.model).first()
    summary = None
    if retirement is not None:
        summary = retirement_summary(retirement)
        summary.update(
            retires_on=str(snapshot.model.retires_on or ""),
            deprecated_on=str(snapshot.model.deprecated_on or ""),
            replacement=snapshot.model.replacement.repo_id if snapshot.model.replacement_id else None,
        )
    return manifest_document(
        repo_id=snapshot.model.repo_id,
        revision=snapshot.revision,
        sealed_at=snapshot.sealed_at.isoformat(),
        files=[
            {"path": f.path, "size": f.blob.size, "sha256": f.blob.sha256, "kind": f.kind, "format": f.format}
            for f in files
        ],
        retirement=summary,
        object_keys=_object_keys_at(location, files) if location is not None else None,
    ) | ({"sealed": sealed} if location is not None and (sealed := _sealed_at(location, files)) else {})


def _sealed_at(location: StorageLocation, files) -> dict[str, dict]:
    """For the copy at `location`: each sealed object's ciphertext digest and size, age header size and archive key
    (by the blob's plaintext SHA-256), so the catalogue can be rebuilt from this location alone."""
    rows = Replica.objects.filter(location=location, blob_id__in={f.blob_id for f in files},
                                  sealed_with__isnull=False).select_related("blob", "sealed_with")
    return {r.blob.sha256: {"ciphertext_sha256": r.ciphertext_sha256, "ciphertext_size": r.ciphertext_size,
                            "header_size": r.age_header_size, "archive_key_id": r.sealed_with.key_id}
            for r in sorted(rows, key=lambda r: r.blob.sha256)}


def _object_keys_at(location: StorageLocation, files) -> dict[str, str]:
    keys = Replica.objects.filter(location=location, blob_id__in={f.blob_id for f in files}).values_list(
        "blob__sha256", "key"
    )
    return {sha256: key for sha256, key in keys if key != blob_key(sha256)}


def manifest_put(backend, key: str, document: dict) -> None:
    """Write a snapshot's manifest at a location, after the public records of the archive keys its sealed copies
    there are sealed to (so the location alone can rebuild the catalogue, keys included)."""
    key_records_put(backend, {entry["archive_key_id"] for entry in document.get("sealed", {}).values()})
    backend.put_bytes(key, manifest_bytes(document))
