"""Every export stays well-formed whatever text was stored (issue 26, parts 1 and 2), each read back by a parser
no one here wrote: lxml (DataCite XML, OAI-PMH, Atom), PyYAML (CITATION.cff), pybtex + pylatexenc (BibTeX),
feedparser (Atom), icalendar, json (DataCite JSON, RO-Crate, CycloneDX, the page's JSON-LD).

Stored text is written straight to the database (`QuerySet.update`, no validation): that is what rows saved
before the rule, or by a path that skipped it, would hold. Text the rule allows (CR, LF, U+2028, braces, quotes)
comes back from each format exactly as stored: no field can inject another."""

import json
import re
from datetime import date, timedelta

import feedparser
import icalendar
import pytest
import yaml
from datacite import schema45
from django.utils import timezone
from lxml import etree
from pybtex.database import parse_string
from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db

from archive.bags.export import bag_info
from archive.models import Snapshot
from archive.selectors import manifest_files
from catalogue.models import AIModel, Provider, Retirement
from dossier.models import ModelWriting, WritingStatus
from tests.archive.citation.snapshots import sealed_snapshot
from tests.factories import AIModelFactory, ProviderFactory, api_client

pytestmark = pytest.mark.django_db

# Every character the rule refuses that PostgreSQL can store (not NUL), then what it allows but formats treat
# specially: line and paragraph separators, markup, quotes, YAML and BibTeX syntax.
REFUSED = "".join(chr(c) for c in [*range(0x01, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0), 0xFFFE, 0xFFFF])
HOSTILE = "Hostile" + REFUSED + "\u2028\u2029 }{ <&> ]]> \"' \\ #: end"
CLEAN = "Hostile" + "\u2028\u2029 }{ <&> ]]> \"' \\ #: end"  # what the writers keep of it
OAI_NS = {"o": "http://www.openarchives.org/OAI/2.0/"}


@pytest.fixture
def hostile():
    lab = ProviderFactory(slug="lab", name="Lab")
    model = AIModelFactory(provider=lab, name="m1", retires_on=date(2026, 1, 5), deprecated_on=date(2025, 6, 1),
                           file_access="public")
    Retirement.objects.create(model=model, reason_category="cost")
    snapshot = sealed_snapshot(model, seq=0)
    ModelWriting.objects.create(model=model, slug="post", title="t", body="b", status=WritingStatus.PUBLISHED,
                                publish_at=timezone.now() - timedelta(days=1), allow_before_retirement=True)
    fields = dict(display_name=HOSTILE, family=HOSTILE, description=HOSTILE, license=HOSTILE, access_terms=HOSTILE)
    AIModel.objects.filter(pk=model.pk).update(**fields)
    Provider.objects.filter(pk=lab.pk).update(name=HOSTILE)
    Retirement.objects.filter(model=model).update(reason=HOSTILE, access_note=HOSTILE, preservation_statement=HOSTILE)
    ModelWriting.objects.filter(model=model).update(title=HOSTILE, body=HOSTILE)
    return AIModel.objects.get(pk=model.pk), snapshot


def get(path, **headers):
    response = api_client().get(path, **headers)
    assert response.status_code == 200, (path, response.status_code, response.content[:300])
    return response.content


def cite(snapshot, fmt):
    return get(f"/api/v1/models/lab/m1/snapshots/{snapshot.revision}/cite/{fmt}")


def test_datacite_xml_and_json(hostile):
    _, snapshot = hostile
    root = etree.fromstring(cite(snapshot, "datacite.xml"))
    titles = root.findall(".//{http://datacite.org/schema/kernel-4}title")
    assert titles[0].text == CLEAN
    negotiated = get(f"/api/v1/models/lab/m1/snapshots/{snapshot.revision}/",
                     HTTP_ACCEPT="application/vnd.datacite.datacite+xml")
    assert etree.fromstring(negotiated).findall(".//{http://datacite.org/schema/kernel-4}title")[0].text == CLEAN
    data = json.loads(cite(snapshot, "datacite.json"))
    assert schema45.validate(data) and data["titles"][0]["title"] == CLEAN
    assert data["descriptions"][0]["description"] == CLEAN.strip()


def test_citation_cff_parses(hostile):
    _, snapshot = hostile
    doc = yaml.safe_load(cite(snapshot, "citation.cff"))
    assert doc["title"] == CLEAN and doc["authors"][0]["name"] == CLEAN and doc["abstract"] == CLEAN.strip()
    assert doc["version"] == snapshot.revision


def _latex_to_text():
    db = get_default_latex_context_db()
    # Standard LaTeX text commands pylatexenc's table leaves out (or maps to a modifier letter): their glyphs.
    db.add_context_category("coda-test", prepend=True, macros=[
        MacroTextSpec("textbraceleft", "{"), MacroTextSpec("textbraceright", "}"),
        MacroTextSpec("textasciicircum", "^"), MacroTextSpec("textasciitilde", "~")])
    return LatexNodes2Text(latex_context=db, math_mode="verbatim", strict_latex_spaces=True)


def bib_fields(bib: bytes) -> dict:
    entries = parse_string(bib.decode(), "bibtex").entries
    assert len(entries) == 1
    entry = next(iter(entries.values()))
    to_text = _latex_to_text()
    fields = {name: to_text.latex_to_text(value) for name, value in entry.fields.items()}
    # pybtex parses authors into names; the provider is one braced organisation name.
    fields["author"] = " and ".join(to_text.latex_to_text(str(person)) for person in entry.persons["author"])
    return fields


def test_bibtex_parses(hostile):
    _, snapshot = hostile
    fields = bib_fields(cite(snapshot, "bibtex"))
    assert fields["title"] == " ".join(CLEAN.split())  # BibTeX reads any run of white space as one space
    assert fields["author"] == " ".join(CLEAN.split())


def test_text_and_rocrate_and_bom(hostile):
    _, snapshot = hostile
    assert CLEAN in cite(snapshot, "text").decode()
    base = f"/api/v1/models/lab/m1/snapshots/{snapshot.revision}/"
    json.loads(get(base + "ro-crate-metadata.json"))
    json.loads(get(base + "bom.cdx.json"))


@pytest.mark.parametrize("prefix", ["oai_dc", "oai_datacite"])
def test_oai_records_are_well_formed(hostile, prefix):
    for query in (f"verb=GetRecord&metadataPrefix={prefix}&identifier=oai:coda:lab/m1",
                  f"verb=ListRecords&metadataPrefix={prefix}"):
        root = etree.fromstring(get(f"/oai?{query}"))
        assert not root.findall("o:error", OAI_NS), etree.tostring(root)[:500]
        assert CLEAN in etree.tostring(root, encoding="unicode").replace("&lt;", "<").replace("&amp;", "&").replace("&gt;", ">")


def test_feeds_are_well_formed(hostile):
    for path in ("/feeds/retirements.atom", "/feeds/writings.atom", "/feeds/models/lab/m1/writings.atom"):
        body = get(path)
        etree.fromstring(body)
        feed = feedparser.parse(body)
        assert not feed.bozo, (path, feed.bozo_exception)
        assert feed.entries and any(CLEAN in entry.title for entry in feed.entries), path
    calendar = icalendar.Calendar.from_ical(get("/feeds/retirements.ics"))
    events = list(calendar.walk("VEVENT"))
    assert events and CLEAN in str(events[0]["summary"])


def test_model_page_and_its_json_ld(hostile):
    html = get("/models/lab/m1/").decode()
    found = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert found and json.loads(found.group(1))["name"] == CLEAN


def test_bag_info_keeps_one_line_per_tag(hostile):
    model, snapshot = hostile
    snapshot = Snapshot.objects.select_related("model__provider", "model__retirement").get(pk=snapshot.pk)
    tags = bag_info(snapshot=snapshot, files=manifest_files(snapshot), today=date(2026, 1, 1))
    text = "".join(f"{label}: {value}\n" for label, value in tags)
    lines = text.splitlines()  # str.splitlines breaks on U+2028, U+0085 ... too: a reader's widest view
    assert len(lines) == len(tags)
    assert all(re.match(r"^[A-Za-z-]+: ", line) for line in lines)
    assert dict(tags)["Coda-Retirement-Reason"] == " ".join(CLEAN.split())


# --- part 2: no field injects another; each comes back exactly as stored -----------------------------------

INJECTIONS = {
    "license": "MIT\rtitle: INJECTED-TITLE",
    "license_separator": "MIT\u2028version: INJECTED-VERSION",
    "license_next_line": "MIT\n\u0085abstract: INJECTED",
}


@pytest.mark.parametrize("license", INJECTIONS.values(), ids=INJECTIONS.keys())
def test_cff_license_cannot_inject_a_key(license):
    model = AIModelFactory(provider=ProviderFactory(slug="lab", name="Lab"), name="m1", display_name="Model",
                           description="About: it.\r\nversion: 0\u2028title: no")
    AIModel.objects.filter(pk=model.pk).update(license=license)
    snapshot = sealed_snapshot(model)
    doc = yaml.safe_load(cite(snapshot, "citation.cff"))
    assert doc["title"] == "Model" and doc["version"] == snapshot.revision
    assert doc["abstract"] == "About: it.\r\nversion: 0\u2028title: no"
    assert set(doc) == {"cff-version", "message", "type", "title", "authors", "version", "date-released", "url",
                        "identifiers", "abstract", "keywords"}


@pytest.mark.parametrize("name", ["Model }", "Model {", "{Model}}", "a\\b", "50% & $5 #1 a_b ^x ~y", "Café \"quoted\""])
def test_bibtex_fields_come_back_exactly(name):
    model = AIModelFactory(provider=ProviderFactory(slug="lab", name=name), name="m1", display_name=name)
    snapshot = sealed_snapshot(model)
    fields = bib_fields(cite(snapshot, "bibtex"))
    assert fields["title"] == name and fields["author"] == name
    assert fields["version"] == snapshot.revision
