"""CITATION.cff (Citation File Format 1.2.0), BibTeX, a formatted text citation and schema.org JSON-LD."""

import json
import re

from archive.citation.datacite import datacite_json, datacite_xml
from archive.citation.records import Citation

CFF_VERSION = "1.2.0"


# Inside a YAML double-quoted scalar: what YAML may not hold raw (outside its printable set: DEL, C1, U+FEFF,
# surrogates, U+FFFE/U+FFFF) or reads as a line break (NEL, LINE and PARAGRAPH SEPARATOR, folded into a space).
_YAML_ESCAPE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff\ufffe\uffff]")
# A line break in YAML's eyes (1.1, which PyYAML reads): it would end a comment and start a new key.
_YAML_BREAK = re.compile("[\r\n\x85\u2028\u2029]+")


def _yaml_str(value: str) -> str:
    """A YAML double-quoted scalar: a JSON string (valid YAML) with YAML's own non-printables escaped too."""
    return _YAML_ESCAPE.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(value, ensure_ascii=False))


def _yaml_comment(value: str) -> str:
    """Text for a YAML comment: one line, whatever it held."""
    return _YAML_BREAK.sub(" ", value)


def citation_cff(c: Citation) -> str:
    """CITATION.cff for the snapshot (type dataset; the provider as an entity author)."""
    lines = [
        f"cff-version: {CFF_VERSION}",
        f"message: {_yaml_str('If you use these model files, please cite this snapshot as below.')}",
        "type: dataset",
        f"title: {_yaml_str(c.title)}",
        "authors:",
        f"  - name: {_yaml_str(c.creator)}",
        f"version: {_yaml_str(c.revision)}",
        f"date-released: {_yaml_str(c.sealed.isoformat())}",
        f"url: {_yaml_str(c.url)}",
        "identifiers:",
        "  - type: other",
        f"    value: {_yaml_str(c.identifier)}",
        f"    description: {_yaml_str('Coda snapshot identifier (provider/name@revision)')}",
    ]
    if c.doi:
        lines += ["  - type: doi", f"    value: {_yaml_str(c.doi)}", f"doi: {_yaml_str(c.doi)}"]
    if c.description:
        lines.append(f"abstract: {_yaml_str(c.description)}")
    if c.license:
        lines.append(f"license-url: {_yaml_str(c.license)}" if c.license.startswith("http") else
                     f"# license: {_yaml_comment(c.license)}")
    lines.append("keywords:")
    lines += [f"  - {_yaml_str(k)}" for k in ("AI model", c.repo_id)]
    return "\n".join(lines) + "\n"


# LaTeX for the characters BibTeX or LaTeX treat specially. Braces become commands, not \\{ and \\}: BibTeX counts
# every brace, escaped or not, so a lone one would end the field early (`title = {{Model \\}}}`).
_BIBTEX = {"\\": r"\textbackslash{}", "{": r"\textbraceleft{}", "}": r"\textbraceright{}", "&": r"\&", "%": r"\%",
           "$": r"\$", "#": r"\#", "_": r"\_", "^": r"\textasciicircum{}", "~": r"\textasciitilde{}"}
_BIBTEX_SPECIAL = re.compile("[\\\\{}&%$#_^~]")


def _bibtex_escape(value: str) -> str:
    return _BIBTEX_SPECIAL.sub(lambda m: _BIBTEX[m.group()], " ".join(value.split()))


def bibtex(c: Citation) -> str:
    """A @misc entry keyed by provider, name and the revision's first 8 hex digits."""
    key = re.sub(r"[^A-Za-z0-9]+", "_", f"{c.repo_id}_{c.revision[:8]}")
    fields = [
        ("author", "{" + _bibtex_escape(c.creator) + "}"),
        ("title", "{" + _bibtex_escape(c.title) + "}"),
        ("year", str(c.year)),
        ("version", _bibtex_escape(c.revision)),
        ("publisher", "Coda"),
        ("howpublished", r"\url{" + c.url + "}"),
        ("url", c.url),
        ("note", _bibtex_escape(f"Model snapshot {c.identifier}")),
    ]
    if c.doi:
        fields.append(("doi", c.doi))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@misc{{{key},\n{body}\n}}\n"


def text(c: Citation) -> str:
    """One line in the DataCite recommended order: Creator (Year). Title (Version). Publisher. Identifier."""
    where = f"https://doi.org/{c.doi}" if c.doi else c.url
    withdrawn = f" Withdrawn {c.withdrawn.isoformat()}." if c.withdrawn else ""
    return f"{c.creator} ({c.year}). {c.title} ({c.identifier}) [AI model]. Coda. {where}{withdrawn}\n"


def json_ld(c: Citation) -> dict:
    """schema.org for the landing page: a SoftwareSourceCode and Dataset (the checkpoint's files)."""
    data = {
        "@context": "https://schema.org",
        "@type": ["SoftwareSourceCode", "Dataset"],
        "@id": c.url,
        "name": c.title,
        "identifier": [c.identifier] + ([f"https://doi.org/{c.doi}"] if c.doi else []),
        "version": c.revision,
        "url": c.url,
        "dateCreated": c.sealed.isoformat(),
        "creator": {"@type": "Organization", "name": c.creator, **({"url": c.provider_url} if c.provider_url else {})},
        "publisher": {"@type": "Organization", "name": "Coda"},
        "isBasedOn": [r.url for r in c.related if r.relation == "IsVersionOf"],
        "contentSize": f"{c.size} bytes",
        "encodingFormat": c.formats,
        "conditionsOfAccess": f"Files: {c.access} access",
        "citation": text(c).strip(),
    }
    if c.released:
        data["datePublished"] = c.released.isoformat()
    if c.license:
        data["license"] = c.license
    if c.description:
        data["description"] = c.description
    return data


FORMATS = {
    # format -> (content type, writer)
    "datacite.json": ("application/vnd.datacite.datacite+json", lambda c: json.dumps(datacite_json(c), indent=2) + "\n"),
    "datacite.xml": ("application/vnd.datacite.datacite+xml", datacite_xml),
    "citation.cff": ("application/x-yaml; charset=utf-8", citation_cff),
    "bibtex": ("application/x-bibtex; charset=utf-8", bibtex),
    "text": ("text/x-bibliography; charset=utf-8", text),
}


def render(fmt: str, c: Citation) -> tuple[str, str]:
    """(content type, body) of the citation in `fmt`, one of FORMATS."""
    content_type, writer = FORMATS[fmt]
    return content_type, writer(c)


def format_for_accept(accept: str) -> str | None:
    """The citation format an Accept header asks for by its media type (content negotiation), if any."""
    for part in accept.split(","):
        media = part.split(";")[0].strip().lower()
        for fmt, (content_type, _) in FORMATS.items():
            if media == content_type.split(";")[0]:
                return fmt
    return None
