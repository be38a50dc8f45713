"""Citations of a snapshot, each checked by an independent reader: DataCite 4.5 JSON by the `datacite` package's
schema validator, its XML parsed back, CITATION.cff by `cffconvert --validate` (its own locked environment),
BibTeX and JSON-LD parsed."""

import json
import os
import subprocess
from pathlib import Path
from xml.etree import ElementTree

import pytest
from datacite import schema45

from tests.archive.citation.snapshots import sealed_snapshot
from tests.factories import AIModelFactory, CuratorFactory, ProviderFactory, api_client

ROOT = Path(__file__).resolve().parents[3]
CFFCONVERT = Path(os.environ.get("CODA_TEST_CFFCONVERT_VENV", ROOT / "var" / "test-venvs" / "cffconvert")) / "bin" / "cffconvert"
NS = {"d": "http://datacite.org/schema/kernel-4"}

pytestmark = pytest.mark.django_db


@pytest.fixture
def family():
    """An old model replaced by a newer one, the old one with two sealed snapshots."""
    lab = ProviderFactory(slug="acme", name="Acme AI")
    new = AIModelFactory(provider=lab, name="widget-2", display_name="Widget 2")
    old = AIModelFactory(provider=lab, name="widget-1", display_name="Widget 1 {beta} & co", license="apache-2.0",
                         description="A retired *widget*.", replacement=new)
    first = sealed_snapshot(old, seq=0)
    second = sealed_snapshot(old, seq=5, doi="10.1234/widget-1")
    return {"old": old, "new": new, "first": first, "second": second}


def cite(model, snapshot, fmt, user=None, **headers):
    url = f"/api/v1/models/{model.repo_id}/snapshots/{snapshot.revision}/cite/{fmt}"
    return api_client(user).get(url, **headers)


def test_datacite_json_valid_and_complete(family):
    old, second = family["old"], family["second"]
    response = cite(old, second, "datacite.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.datacite.datacite+json"
    data = json.loads(response.content)
    assert schema45.validate(data), list(schema45.validator.iter_errors(data))
    assert data["types"]["resourceTypeGeneral"] == "Model"
    assert data["creators"] == [{"name": "Acme AI", "nameType": "Organizational"}]
    assert data["version"] == second.revision
    assert data["publicationYear"] == str(second.sealed_at.year)
    assert data["doi"] == "10.1234/widget-1"
    assert data["alternateIdentifiers"][0]["alternateIdentifier"] == f"acme/widget-1@{second.revision}"
    assert data["sizes"] == ["1088 bytes", "2 files"]
    assert set(data["formats"]) == {"application/vnd.safetensors", "application/json"}
    assert {"rights": "apache-2.0"} in data["rightsList"]
    relations = {r["relationType"]: r["relatedIdentifier"] for r in data["relatedIdentifiers"]}
    assert relations["IsObsoletedBy"].endswith("/models/acme/widget-2/")
    assert relations["IsVersionOf"].endswith("/models/acme/widget-1/")
    assert relations["IsNewVersionOf"].endswith(f"?snapshot={family['first'].revision}")
    # the replacement names the model it obsoletes
    newer = sealed_snapshot(family["new"], seq=9)
    data = json.loads(cite(family["new"], newer, "datacite.json").content)
    assert {"relationType": "Obsoletes"}.items() <= next(r for r in data["relatedIdentifiers"] if r["relationType"] == "Obsoletes").items()


def test_datacite_xml_carries_the_same_fields(family):
    old, second = family["old"], family["second"]
    data = json.loads(cite(old, second, "datacite.json").content)
    response = cite(old, second, "datacite.xml")
    assert response.status_code == 200
    root = ElementTree.fromstring(response.content)
    assert root.find("d:identifier", NS).text == data["doi"]
    assert root.find("d:resourceType", NS).get("resourceTypeGeneral") == "Model"
    assert root.find("d:creators/d:creator/d:creatorName", NS).text == "Acme AI"
    assert root.find("d:version", NS).text == data["version"]
    assert root.find("d:publicationYear", NS).text == data["publicationYear"]
    assert [e.text for e in root.findall("d:sizes/d:size", NS)] == data["sizes"]
    found = {(e.get("relationType"), e.text) for e in root.findall("d:relatedIdentifiers/d:relatedIdentifier", NS)}
    assert found == {(r["relationType"], r["relatedIdentifier"]) for r in data["relatedIdentifiers"]}
    assert schema45.tostring(data) == response.content.decode()


def test_citation_cff_accepted_by_cffconvert(family, tmp_path):
    if not CFFCONVERT.exists():
        if os.environ.get("CODA_REQUIRE_SERVICES") == "1":
            pytest.fail(f"cffconvert missing at {CFFCONVERT}: run make test-clients")
        pytest.skip(f"cffconvert missing at {CFFCONVERT}: run make test-clients")
    response = cite(family["old"], family["second"], "citation.cff")
    assert response.status_code == 200
    (tmp_path / "CITATION.cff").write_bytes(response.content)
    check = subprocess.run([CFFCONVERT, "--validate", "-i", str(tmp_path / "CITATION.cff")],
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    bibtex = subprocess.run([CFFCONVERT, "-f", "bibtex", "-i", str(tmp_path / "CITATION.cff")],
                            capture_output=True, text=True, timeout=60)
    assert family["second"].revision in bibtex.stdout


def test_bibtex_and_text(family):
    old, second = family["old"], family["second"]
    bib = cite(old, second, "bibtex").content.decode()
    assert bib.startswith("@misc{acme_widget_1_")
    assert bib.count("{") == bib.count("}")  # braces in the title are escaped, the entry balanced
    assert r"Widget 1 \textbraceleft{}beta\textbraceright{} \& co" in bib  # BibTeX counts every brace: commands, not \{ \}
    assert f"version = {{{second.revision}}}" in bib
    text = cite(old, second, "text").content.decode()
    assert text.startswith(f"Acme AI ({second.sealed_at.year}). Widget 1 {{beta}} & co (acme/widget-1@{second.revision})")
    assert "https://doi.org/10.1234/widget-1" in text


def test_accept_negotiation_on_snapshot_url(family):
    old, second = family["old"], family["second"]
    url = f"/api/v1/models/{old.repo_id}/snapshots/{second.revision}/"
    response = api_client().get(url, HTTP_ACCEPT="application/x-bibtex")
    assert response.status_code == 200 and response.content.startswith(b"@misc{")
    response = api_client().get(url, HTTP_ACCEPT="application/vnd.datacite.datacite+json")
    assert schema45.validate(json.loads(response.content))
    assert api_client().get(url).json()["revision"] == second.revision  # the usual answer otherwise


def test_unknown_format_and_hidden_models(family):
    old, second = family["old"], family["second"]
    assert cite(old, second, "ris").status_code == 404
    old.metadata_access = "restricted"
    old.save()
    assert cite(old, second, "datacite.json").status_code == 404
    assert cite(old, second, "datacite.json", user=CuratorFactory()).status_code == 200


def test_hidden_replacement_left_out(family):
    family["new"].metadata_access = "restricted"
    family["new"].save()
    data = json.loads(cite(family["old"], family["second"], "datacite.json").content)
    assert "IsObsoletedBy" not in {r["relationType"] for r in data["relatedIdentifiers"]}
