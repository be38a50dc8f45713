"""RO-Crate 1.1 metadata (`ro-crate-metadata.json`) of a sealed snapshot: the model as the Root Data Entity, one
File entity per file (size, SHA-256, encoding format), the provider as an Organization, the retirement as an Event
about the model (dates, reason, access policy), the revision id as identifier, the licence where known. A pure
function of recorded facts (archive.descriptions.facts); `prefix` is where the files sit below the crate root
("" beside the files as a Hub download lays them out, "data/" at the root of a BagIt bag)."""

import json
from urllib.parse import quote

from archive.descriptions.facts import FORMAT_SPECS, SnapshotFacts

CONTEXT = "https://w3id.org/ro/crate/1.1/context"
CONFORMS_TO = "https://w3id.org/ro/crate/1.1"
METADATA_NAME = "ro-crate-metadata.json"
ACCESS_AFTER_RETIREMENT = {
    "none": "No access after retirement.",
    "paid_api": "Available through a paid API after retirement.",
    "by_request": "Available on request after retirement.",
    "researchers_only": "Available to researchers only after retirement.",
    "public_weights": "Weights published after retirement.",
}


def file_id(path: str, prefix: str = "") -> str:
    """A file's @id: its path relative to the crate root, percent-encoded as a relative URI reference."""
    return quote(prefix + path, safe="/")


def _provider_id(f: SnapshotFacts) -> str:
    return f.provider_url or f"#provider-{f.provider_slug}"


def _license(f: SnapshotFacts) -> tuple[dict | str | None, list[dict]]:
    if f.spdx_id:
        url = f"https://spdx.org/licenses/{f.spdx_id}"
        return {"@id": url}, [{"@id": url, "@type": "CreativeWork", "name": f.spdx_id, "identifier": f.spdx_id}]
    return (f.license or None), []


def access_policy(f: SnapshotFacts) -> str:
    words = [f"Files: {f.file_access} access in Coda."]
    if f.retirement is not None:
        words.append(ACCESS_AFTER_RETIREMENT.get(f.retirement.access_after_retirement, f.retirement.access_after_retirement))
        if f.retirement.access_note:
            words.append(f.retirement.access_note)
    return " ".join(words)


def _retirement(f: SnapshotFacts) -> dict | None:
    if f.retirement is None and not (f.deprecated_on or f.retires_on):
        return None
    event = {"@id": "#retirement", "@type": "Event", "name": f"Retirement of {f.repo_id}", "about": {"@id": "./"}}
    if f.deprecated_on:
        event["startDate"] = f.deprecated_on.isoformat()
    if f.retires_on:
        event["endDate"] = f.retires_on.isoformat()
    r = f.retirement
    if r is not None:
        event["keywords"] = r.reason_category
        parts = [r.reason or f"Reason: {r.reason_category}.", access_policy(f)]
        if r.preservation_statement:
            parts.append(r.preservation_statement)
        if r.preserved_for_lifetime:
            parts.append("Preserved for the lifetime of the archive.")
        elif r.preserved_until:
            parts.append(f"Preserved until {r.preserved_until.isoformat()}.")
        event["description"] = " ".join(parts)
    return event


def crate_build(f: SnapshotFacts, *, prefix: str = "") -> dict:
    """The RO-Crate 1.1 metadata document of a snapshot."""
    provider = {"@id": _provider_id(f), "@type": "Organization", "name": f.provider_name}
    if f.provider_url:
        provider["url"] = f.provider_url
    publisher = {"@id": "#publisher", "@type": "Organization", "name": f.publisher}
    license_value, license_entities = _license(f)
    identifiers = [f.revision] + ([f"https://doi.org/{f.doi}"] if f.doi else [])
    root = {
        "@id": "./",
        "@type": "Dataset",
        "name": f"{f.title} ({f.repo_id}), snapshot {f.revision}",
        "description": f.description or f"Snapshot {f.revision} of the AI model {f.repo_id}, preserved by {f.publisher}.",
        "identifier": identifiers[0] if len(identifiers) == 1 else identifiers,
        "alternateName": f"{f.repo_id}@{f.revision}",
        "version": f.revision,
        "datePublished": (f.release_date or f.sealed_at.date()).isoformat(),
        "dateCreated": f.sealed_at.isoformat(),
        "author": {"@id": provider["@id"]},
        "publisher": {"@id": publisher["@id"]},
        "conditionsOfAccess": access_policy(f),
        "creativeWorkStatus": f.lifecycle_status,
        "contentSize": str(sum(x.size for x in f.files)),
        "hasPart": [{"@id": file_id(x.path, prefix)} for x in f.files],
    }
    if license_value is not None:
        root["license"] = license_value
    if f.retires_on:
        root["expires"] = f.retires_on.isoformat()
    if f.url:
        root["url"] = f.url
    graph = [
        {"@id": METADATA_NAME, "@type": "CreativeWork", "conformsTo": {"@id": CONFORMS_TO}, "about": {"@id": "./"}},
        root,
    ]
    specs_used = {}
    for x in f.files:
        entity = {"@id": file_id(x.path, prefix), "@type": "File", "name": x.path, "contentSize": str(x.size),
                  "sha256": x.sha256, "encodingFormat": x.media_type}
        if x.format in FORMAT_SPECS:
            spec_url, spec_name = FORMAT_SPECS[x.format]
            entity["encodingFormat"] = [x.media_type, {"@id": spec_url}]
            specs_used[spec_url] = spec_name
        graph.append(entity)
    graph += [{"@id": url, "@type": "WebSite", "name": name} for url, name in sorted(specs_used.items())]
    graph += [provider, publisher, *license_entities]
    retirement = _retirement(f)
    if retirement is not None:
        root["subjectOf"] = {"@id": retirement["@id"]}
        graph.append(retirement)
    return {"@context": CONTEXT, "@graph": graph}


def crate_json(f: SnapshotFacts, *, prefix: str = "") -> bytes:
    return (json.dumps(crate_build(f, prefix=prefix), indent=2, ensure_ascii=False) + "\n").encode("utf-8")
