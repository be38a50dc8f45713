"""DataCite Metadata Schema 4.5: the JSON form (the REST API's attributes) and its XML, written by the `datacite`
package's own 4.5 writer so both carry exactly the same fields."""

from archive.citation.records import Citation
from core.text import clean_tree

SCHEMA_VERSION = "http://datacite.org/schema/kernel-4"
MIME_TYPES = {"safetensors": "application/vnd.safetensors", "gguf": "application/x-gguf",
              "pytorch": "application/x-pytorch", "onnx": "application/onnx", "json": "application/json",
              "text": "text/plain"}


def datacite_json(c: Citation) -> dict:
    """The DataCite 4.5 record of a snapshot (resourceTypeGeneral Model)."""
    data = {
        "types": {"resourceTypeGeneral": "Model", "resourceType": "AI model checkpoint"},
        "creators": [{"name": c.creator, "nameType": "Organizational"}],
        "titles": [{"title": c.title}, {"title": c.identifier, "titleType": "AlternativeTitle"}],
        "publisher": {"name": "Coda"},
        "publicationYear": str(c.year),
        "alternateIdentifiers": [{"alternateIdentifier": c.identifier, "alternateIdentifierType": "Coda"}],
        "url": c.url,
        "version": c.revision,
        "sizes": [f"{c.size} bytes", f"{c.file_count} files"],
        "formats": [MIME_TYPES.get(fmt, fmt) for fmt in c.formats],
        "dates": [{"date": c.sealed.isoformat(), "dateType": "Created"}],
        "rightsList": [{"rights": f"Files: {c.access} access"}],
        "relatedIdentifiers": [
            {"relatedIdentifier": r.url, "relatedIdentifierType": "URL", "relationType": r.relation,
             "resourceTypeGeneral": r.resource_type}
            for r in c.related
        ],
        "schemaVersion": SCHEMA_VERSION,
    }
    if c.doi:
        data["doi"] = c.doi
    if c.released:
        data["dates"].append({"date": c.released.isoformat(), "dateType": "Issued"})
    if c.withdrawn:
        data["dates"].append({"date": c.withdrawn.isoformat(), "dateType": "Withdrawn",
                              "dateInformation": c.withdrawal_reason})
    if c.license:
        data["rightsList"].insert(0, {"rights": c.license})
    if c.description:
        data["descriptions"] = [{"description": c.description, "descriptionType": "Abstract"}]
    return data


def datacite_xml(c: Citation) -> str:
    """The same record as DataCite 4.5 XML."""
    return _schema45().tostring(datacite_json(c))


def datacite_valid(data: dict) -> bool:
    return _schema45().validate(data)


def model_datacite_json(*, model, url: str) -> dict:
    """A DataCite 4.5 record for a model that has no sealed snapshot yet (OAI-PMH harvests every model); its text
    cleaned of what XML 1.0 cannot carry (`core.text`)."""
    year = (model.release_date or model.created_at.date()).year
    data = {
        "types": {"resourceTypeGeneral": "Model", "resourceType": "AI model"},
        "creators": [{"name": model.provider.name, "nameType": "Organizational"}],
        "titles": [{"title": model.display_name or model.name}],
        "publisher": {"name": "Coda"},
        "publicationYear": str(year),
        "alternateIdentifiers": [{"alternateIdentifier": model.repo_id, "alternateIdentifierType": "Coda"}],
        "url": url,
        "schemaVersion": SCHEMA_VERSION,
    }
    if model.license:
        data["rightsList"] = [{"rights": model.license}]
    if model.description.strip():
        data["descriptions"] = [{"description": model.description.strip()[:2000], "descriptionType": "Abstract"}]
    return clean_tree(data)


def datacite_etree(data: dict):
    """The DataCite 4.5 XML of a JSON record as an lxml element (for embedding, as OAI-PMH does)."""
    return _schema45().dump_etree(data)


def _schema45():
    """The `datacite` library's 4.5 schema module, imported on first use: importing it loads jsonschema's format
    checkers, whose RFC 3987 grammar takes about two seconds to build, in every process that loads the URLconf."""
    from datacite import schema45

    return schema45
