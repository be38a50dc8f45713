"""The recorded facts a snapshot's descriptions (RO-Crate, CycloneDX) are written from, gathered once from the
database: the model and its provider, the retirement, the files with the digests recorded at ingest and the
inspection made at seal. Never a read of the stored bytes."""

import mimetypes
import posixpath
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings

from archive import selectors
from archive.models import Snapshot
from catalogue.permissions import file_access_level

# Media types for the formats Coda recognises that have no registered type; the rest by extension.
FORMAT_MEDIA_TYPES = {"safetensors": "application/octet-stream", "gguf": "application/octet-stream",
                      "pytorch": "application/octet-stream", "onnx": "application/octet-stream"}
# Published specifications of those formats (RO-Crate: a format's web page beside its media type).
FORMAT_SPECS = {
    "safetensors": ("https://github.com/huggingface/safetensors", "safetensors"),
    "gguf": ("https://github.com/ggml-org/ggml/blob/master/docs/gguf.md", "GGUF"),
    "onnx": ("https://onnx.ai/onnx/repo-docs/IR.html", "ONNX"),
    "pytorch": ("https://pytorch.org/docs/stable/notes/serialization.html", "PyTorch serialization"),
}
EXTRA_TYPES = {".md": "text/markdown", ".jsonl": "application/jsonl", ".model": "application/octet-stream",
               ".txt": "text/plain", ".json": "application/json", ".yaml": "application/yaml", ".yml": "application/yaml"}
# Licences as Hugging Face and providers write them -> SPDX identifiers (exact case, as the SPDX list has them).
SPDX_IDS = {
    "apache-2.0": "Apache-2.0", "mit": "MIT", "bsd-2-clause": "BSD-2-Clause", "bsd-3-clause": "BSD-3-Clause",
    "cc0-1.0": "CC0-1.0", "cc-by-4.0": "CC-BY-4.0", "cc-by-sa-4.0": "CC-BY-SA-4.0", "cc-by-nc-4.0": "CC-BY-NC-4.0",
    "cc-by-nc-sa-4.0": "CC-BY-NC-SA-4.0", "cc-by-nd-4.0": "CC-BY-ND-4.0", "gpl-2.0": "GPL-2.0-only",
    "gpl-3.0": "GPL-3.0-only", "lgpl-3.0": "LGPL-3.0-only", "agpl-3.0": "AGPL-3.0-only", "mpl-2.0": "MPL-2.0",
    "openrail": "OpenRAIL", "unlicense": "Unlicense",
}


@dataclass(frozen=True)
class FileFacts:
    path: str
    size: int
    sha256: str
    md5: str  # "" unless the bytes passed into an OCFL mirror
    kind: str
    format: str
    media_type: str


@dataclass(frozen=True)
class RetirementFacts:
    reason_category: str
    reason: str
    access_after_retirement: str
    access_note: str
    preservation_statement: str
    preserved_until: date | None
    preserved_for_lifetime: bool


@dataclass(frozen=True)
class SnapshotFacts:
    repo_id: str
    name: str
    title: str
    description: str
    provider_slug: str
    provider_name: str
    provider_url: str
    publisher: str
    license: str
    spdx_id: str  # "" when the licence is not a known SPDX identifier
    modality: str
    family: str
    release_date: date | None
    deprecated_on: date | None
    retires_on: date | None
    lifecycle_status: str
    revision: str
    doi: str
    sealed_at: datetime
    preserved_by: str
    file_access: str
    signing_key_id: str
    inspection: dict
    files: tuple[FileFacts, ...]
    retirement: RetirementFacts | None = None
    url: str = ""  # the snapshot's landing page, when the caller knows the site's address


def media_type(path: str, fmt: str) -> str:
    """The file's media type from its recorded format, else its extension (never its bytes)."""
    if fmt in FORMAT_MEDIA_TYPES:
        return FORMAT_MEDIA_TYPES[fmt]
    ext = posixpath.splitext(path)[1].lower()
    return EXTRA_TYPES.get(ext) or mimetypes.guess_type(path, strict=False)[0] or "application/octet-stream"


def spdx_id(license_text: str) -> str:
    return SPDX_IDS.get(license_text.strip().lower(), "")


def snapshot_facts(snapshot: Snapshot, *, url: str = "") -> SnapshotFacts:
    """The facts of a sealed snapshot (SnapshotNotFound otherwise); `url` its landing page when known."""
    entries = selectors.manifest_files(snapshot)
    md5s = dict(snapshot.files.values_list("path", "blob__md5"))
    model = snapshot.model
    retirement = getattr(model, "retirement", None) if hasattr(model, "retirement") else None
    user = snapshot.created_by
    return SnapshotFacts(
        repo_id=model.repo_id,
        name=model.name,
        title=model.display_name or model.name,
        description=model.description.strip(),
        provider_slug=model.provider.slug,
        provider_name=model.provider.name,
        provider_url=model.provider.website,
        publisher=settings.CODA_BAG_SOURCE_ORGANIZATION,
        license=model.license.strip(),
        spdx_id=spdx_id(model.license),
        modality=model.modality,
        family=model.family,
        release_date=model.release_date,
        deprecated_on=model.deprecated_on,
        retires_on=model.retires_on,
        lifecycle_status=model.status,
        revision=snapshot.revision,
        doi=snapshot.doi,
        sealed_at=snapshot.sealed_at,
        preserved_by=user.get_username() if user else "",
        file_access=file_access_level(model, snapshot),
        signing_key_id=snapshot.signing_key.key_id if snapshot.signing_key_id else "",
        inspection=snapshot.inspection or {},
        files=tuple(
            FileFacts(path=e["path"], size=e["size"], sha256=e["sha256"], md5=md5s.get(e["path"]) or "",
                      kind=e["kind"], format=e["format"], media_type=media_type(e["path"], e["format"]))
            for e in entries
        ),
        retirement=RetirementFacts(
            reason_category=retirement.reason_category, reason=retirement.reason.strip(),
            access_after_retirement=retirement.access_after_retirement, access_note=retirement.access_note.strip(),
            preservation_statement=retirement.preservation_statement.strip(),
            preserved_until=retirement.preserved_until, preserved_for_lifetime=retirement.preserved_for_lifetime,
        ) if retirement is not None else None,
        url=url,
    )
