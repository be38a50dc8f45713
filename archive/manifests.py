"""Manifests and revision ids. The recipe (docs/revision-id.md): one line per file,
`path<TAB>size<TAB>sha256<LF>`, sorted by the UTF-8 bytes of the path; the revision id is the
first 40 hex characters of the SHA-256 of those lines."""

import hashlib
import json
from collections.abc import Iterable

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
