"""RO-Crate 1.1 metadata of a snapshot, checked by tools no one here wrote: `rocrate-validator` (PyPI
roc-validator, from its own lock in tests/clients/rocrate-validator, synced by `make test-clients`) passes it at
the REQUIRED level, and ro-crate-py (`rocrate`, main dev lock) reads it back with every file entity."""

import json
import subprocess
from pathlib import Path
from urllib.parse import unquote

import pytest
import rocrate
from rocrate.rocrate import ROCrate

from tests.archive.synthetic_model import sha256

ROOT = Path(__file__).resolve().parents[3]
VALIDATOR_PYTHON = ROOT / "var" / "test-venvs" / "rocrate-validator" / "bin" / "python"
OFFLINE = ROOT / "tests" / "clients" / "rocrate-validator" / "validate_offline.py"
# The validator fetches the crate's @context. Tests have no network, so it is answered from the RO-Crate JSON-LD
# context that ro-crate-py ships (RO-Crate 1.3's, which keeps every 1.1 term with the same IRI).
CONTEXT_FILE = Path(rocrate.__file__).parent / "data" / "ro-crate.jsonld"
VALIDATOR = VALIDATOR_PYTHON
needs_validator = pytest.mark.skipif(not VALIDATOR.exists(), reason="run `make test-clients` (rocrate-validator venv)")


def validate(crate_dir: Path, tmp_path: Path) -> tuple[bool, dict]:
    """rocrate-validator on `crate_dir` at the REQUIRED level, RO-Crate 1.1 profile; (passed, its JSON report)."""
    report = tmp_path / f"report-{crate_dir.name}.json"
    done = subprocess.run(
        [str(VALIDATOR_PYTHON), str(OFFLINE), "--serve", f"https://w3id.org/ro/crate/1.1/context={CONTEXT_FILE}", "--",
         "validate", str(crate_dir), "-p", "ro-crate-1.1", "-l", "required", "-f", "json", "-o", str(report),
         "--no-paging", "--no-cache"],
        capture_output=True, text=True, timeout=300, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert report.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(report.read_text())
    return result.get("passed") is True, result


def materialise(directory: Path, files: dict[str, bytes], metadata: bytes) -> Path:
    """The snapshot's files as a Hub download lays them out, with the served metadata beside them."""
    for path, data in files.items():
        (directory / path).parent.mkdir(parents=True, exist_ok=True)
        (directory / path).write_bytes(data)
    (directory / "ro-crate-metadata.json").write_bytes(metadata)
    return directory


@needs_validator
def test_served_crate_passes_the_validator_and_reads_back(described, anon_client, tmp_path):
    model, snapshot, files = described
    response = anon_client.get(f"/api/v1/models/{model.repo_id}/snapshots/{snapshot.revision}/ro-crate-metadata.json")
    assert response.status_code == 200 and response["Content-Type"] == "application/ld+json"
    crate_dir = materialise(tmp_path / "crate", files, response.content)

    passed, report = validate(crate_dir, tmp_path)
    assert passed, json.dumps(report, indent=1)[:4000]
    stats = report["statistics"]
    assert stats["total_checks_by_severity"]["REQUIRED"] > 30 and stats["total_skipped_checks"] == 0  # really checked

    crate = ROCrate(crate_dir)
    by_name = {e["name"]: e for e in crate.get_entities() if e.type == "File"}
    assert set(by_name) == set(files)
    for path, data in files.items():
        entity = by_name[path]
        assert entity["sha256"] == sha256(data) and int(entity["contentSize"]) == len(data)
        assert entity["encodingFormat"]
        assert (crate_dir / unquote(entity.id)).is_file()
    assert by_name["config.json"]["encodingFormat"] == "application/json"
    spec = [f for f in by_name["model.safetensors"]["encodingFormat"] if not isinstance(f, str)]
    assert [(f.id, f.type) for f in spec] == [("https://github.com/huggingface/safetensors", "WebSite")]
    assert by_name["odd name ü.txt"].id == "odd%20name%20%C3%BC.txt"
    root = crate.root_dataset
    assert root["identifier"] == snapshot.revision
    assert root["license"].id == "https://spdx.org/licenses/Apache-2.0"
    assert root["author"]["name"] == model.provider.name and root["author"].type == "Organization"
    retirement = root["subjectOf"]
    assert retirement.type == "Event" and retirement["startDate"] == "2025-01-10"
    assert retirement["endDate"] == model.retires_on.isoformat()
    assert "Replaced by a larger model." in retirement["description"]
    assert "researchers only" in root["conditionsOfAccess"] and "Ask the curators." in root["conditionsOfAccess"]


@needs_validator
def test_validator_refuses_a_crate_without_its_required_parts(described, anon_client, tmp_path):
    """The same check fails once a REQUIRED part is gone: proof it is really checking."""
    model, snapshot, files = described
    doc = anon_client.get(f"/api/v1/models/{model.repo_id}/snapshots/{snapshot.revision}/ro-crate-metadata.json").json()
    descriptor = next(e for e in doc["@graph"] if e["@id"] == "ro-crate-metadata.json")
    del descriptor["about"]
    crate_dir = materialise(tmp_path / "broken", files, json.dumps(doc).encode())
    passed, report = validate(crate_dir, tmp_path)
    assert not passed


def test_restricted_files_hide_the_descriptions(described, anon_client):
    model, snapshot, _ = described
    model.file_access = "restricted"
    model.save()
    for name in ("ro-crate-metadata.json", "bom.cdx.json"):
        response = anon_client.get(f"/api/v1/models/{model.repo_id}/snapshots/{snapshot.revision}/{name}")
        assert response.status_code == 403 and snapshot.files.first().blob.sha256 not in response.content.decode()
    model.metadata_access = "restricted"
    model.save()
    for name in ("ro-crate-metadata.json", "bom.cdx.json"):
        response = anon_client.get(f"/api/v1/models/{model.repo_id}/snapshots/{snapshot.revision}/{name}")
        assert response.status_code == 404
