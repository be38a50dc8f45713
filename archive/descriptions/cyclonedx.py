"""CycloneDX 1.6 ML-BOM (`bom.cdx.json`) of a sealed snapshot: the model as a `machine-learning-model` component
with the model-card fields Coda knows from inspection at seal (architecture, family, parameter count, dtypes,
formats, context length), and one `file` component per file with its SHA-256 (and MD5 when an OCFL mirror
computed it). A pure function of recorded facts (archive.descriptions.facts); the serial number is derived from
the revision, so the same snapshot always gives the same BOM."""

import json
import uuid

from archive.descriptions.facts import SnapshotFacts
from archive.descriptions.rocrate import access_policy

SPEC_VERSION = "1.6"
SCHEMA = "http://cyclonedx.org/schema/bom-1.6.schema.json"
BOM_NAME = "bom.cdx.json"
MEDIA_TYPE = "application/vnd.cyclonedx+json"
SERIAL_NAMESPACE = uuid.UUID("8f0c2a86-6a3e-5d52-9a51-3c6f1e0a9c1d")  # Coda's BOM namespace, fixed forever


def _prop(name: str, value) -> dict:
    return {"name": f"coda:{name}", "value": str(value)}


def _licenses(f: SnapshotFacts) -> list[dict]:
    if f.spdx_id:
        return [{"license": {"id": f.spdx_id}}]
    return [{"license": {"name": f.license}}] if f.license else []


def _model_card(f: SnapshotFacts) -> dict:
    inspection = f.inspection
    parameters = {}
    if inspection.get("model_type"):
        parameters["architectureFamily"] = str(inspection["model_type"])
    if inspection.get("architecture"):
        parameters["modelArchitecture"] = str(inspection["architecture"])
    card = {"bom-ref": f"model-card:{f.repo_id}@{f.revision}"}
    if parameters:
        card["modelParameters"] = parameters
    properties = []
    if inspection.get("parameter_count") is not None:
        properties.append(_prop("parameter_count", inspection["parameter_count"]))
    for dtype, count in sorted((inspection.get("parameters_by_dtype") or {}).items()):
        properties.append(_prop(f"parameters_by_dtype:{dtype}", count))
    if inspection.get("dtypes"):
        properties.append(_prop("dtypes", ",".join(inspection["dtypes"])))
    for fmt, count in sorted((inspection.get("formats") or {}).items()):
        properties.append(_prop(f"format:{fmt}", count))
    if inspection.get("context_length"):
        properties.append(_prop("context_length", inspection["context_length"]))
    if inspection.get("tensor_count") is not None:
        properties.append(_prop("tensor_count", inspection["tensor_count"]))
    if "complete" in inspection:
        properties.append(_prop("checkpoint_complete", "true" if inspection["complete"] else "false"))
    if properties:
        card["properties"] = properties
    if f.retirement is not None:
        card["considerations"] = {"useCases": [access_policy(f)]}
    return card


def _file_component(f: SnapshotFacts, x) -> dict:
    hashes = [{"alg": "SHA-256", "content": x.sha256}]
    if x.md5:
        hashes.append({"alg": "MD5", "content": x.md5})
    return {
        "type": "file",
        "bom-ref": f"file:{f.repo_id}@{f.revision}/{x.path}",
        "name": x.path,
        "mime-type": x.media_type,
        "hashes": hashes,
        "properties": [_prop("size", x.size), _prop("kind", x.kind), _prop("format", x.format)],
    }


def bom_build(f: SnapshotFacts) -> dict:
    """The CycloneDX 1.6 document of a snapshot."""
    supplier = {"name": f.provider_name}
    if f.provider_url:
        supplier["url"] = [f.provider_url]
    model = {
        "type": "machine-learning-model",
        "bom-ref": f"model:{f.repo_id}@{f.revision}",
        "supplier": supplier,
        "group": f.provider_slug,
        "name": f.name,
        "version": f.revision,
        "description": f.description or f"Snapshot {f.revision} of the AI model {f.repo_id}.",
        "modelCard": _model_card(f),
        "properties": [_prop("repo_id", f.repo_id), _prop("modality", f.modality), _prop("file_access", f.file_access),
                       _prop("lifecycle_status", f.lifecycle_status), _prop("sealed_at", f.sealed_at.isoformat())],
        "components": [_file_component(f, x) for x in f.files],
    }
    if f.title != f.name:
        model["properties"].append(_prop("display_name", f.title))
    if f.family:
        model["properties"].append(_prop("family", f.family))
    for label, day in (("release_date", f.release_date), ("deprecated_on", f.deprecated_on), ("retires_on", f.retires_on)):
        if day:
            model["properties"].append(_prop(label, day.isoformat()))
    if f.retirement is not None:
        model["properties"].append(_prop("retirement_reason_category", f.retirement.reason_category))
    if f.signing_key_id:
        model["properties"].append(_prop("signing_key_id", f.signing_key_id))
    licenses = _licenses(f)
    if licenses:
        model["licenses"] = licenses
    if f.url:
        model["externalReferences"] = [{"type": "website", "url": f.url}]
    return {
        "$schema": SCHEMA,
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": f"urn:uuid:{uuid.uuid5(SERIAL_NAMESPACE, f'{f.repo_id}@{f.revision}')}",
        "version": 1,
        "metadata": {
            "timestamp": f.sealed_at.isoformat(),
            "tools": {"components": [{"type": "application", "name": "Coda", "group": "archive.descriptions"}]},
            "supplier": {"name": f.publisher},
        },
        "components": [model],
    }


def bom_json(f: SnapshotFacts) -> bytes:
    return (json.dumps(bom_build(f), indent=2, ensure_ascii=False) + "\n").encode("utf-8")
