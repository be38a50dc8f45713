"""CycloneDX 1.6 ML-BOM of a snapshot, accepted by cyclonedx-python-lib's strict JSON validator for schema 1.6
(written by the CycloneDX project, from the dev lock), with a hash for every file and the model card fields
inspection found."""

import json

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from tests.archive.synthetic_model import sha256


def strict_errors(text: str):
    return JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)


def test_bom_is_valid_cyclonedx_1_6_with_every_file_hashed(described, anon_client):
    model, snapshot, files = described
    response = anon_client.get(f"/api/v1/models/{model.repo_id}/snapshots/{snapshot.revision}/bom.cdx.json")
    assert response.status_code == 200 and response["Content-Type"] == "application/vnd.cyclonedx+json"
    text = response.content.decode()
    assert strict_errors(text) is None

    bom = json.loads(text)
    assert bom["specVersion"] == "1.6"
    (component,) = bom["components"]
    assert component["type"] == "machine-learning-model" and component["version"] == snapshot.revision
    assert component["supplier"]["name"] == model.provider.name
    assert component["licenses"] == [{"license": {"id": "Apache-2.0"}}]
    card = component["modelCard"]
    assert card["modelParameters"] == {"architectureFamily": "gpt2", "modelArchitecture": "GPT2LMHeadModel"}
    props = {p["name"]: p["value"] for p in card["properties"]}
    assert props["coda:parameter_count"] == str(snapshot.inspection["parameter_count"]) and props["coda:dtypes"] == "F32"
    assert props["coda:format:safetensors"] == "1"
    hashed = {c["name"]: {h["alg"]: h["content"] for h in c["hashes"]} for c in component["components"]}
    assert hashed == {path: {"SHA-256": sha256(data)} for path, data in files.items()}
    assert snapshot.inspection["parameter_count"] > 0

    # Same snapshot, same document (serial number from the revision).
    assert anon_client.get(f"/api/v1/models/{model.repo_id}/snapshots/{snapshot.revision}/bom.cdx.json").content == response.content


def test_strict_validator_refuses_a_broken_bom(described, anon_client):
    """The validator is really checking: a file hash that is not hex, or an unknown component type, is refused."""
    model, snapshot, _ = described
    bom = anon_client.get(f"/api/v1/models/{model.repo_id}/snapshots/{snapshot.revision}/bom.cdx.json").json()
    bom["components"][0]["components"][0]["hashes"][0]["content"] = "not-a-digest"
    assert strict_errors(json.dumps(bom)) is not None
    bom = anon_client.get(f"/api/v1/models/{model.repo_id}/snapshots/{snapshot.revision}/bom.cdx.json").json()
    bom["components"][0]["type"] = "ai-model"
    assert strict_errors(json.dumps(bom)) is not None
