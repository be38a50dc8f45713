"""/oai answers hostile input with OAI-PMH errors only (issue 26 part 3): forged resumption tokens are
badResumptionToken, characters XML cannot carry are badArgument whether they come by GET or POST, nothing
unsafe is echoed into <request> (and after badVerb/badArgument nothing at all, §3.2), and a deterministic fuzz of
all six verbs, GET and POST, gets a well-formed OAI-PMH answer every time."""

import base64
import json
from urllib.parse import quote

import pytest
from django.core import signing
from lxml import etree

from archive.oai import views as oai_views
from archive.oai.arguments import TOKEN_SALT, token_encode
from tests.factories import AIModelFactory, ProviderFactory

OAI = "{http://www.openarchives.org/OAI/2.0/}"
VERBS = ["Identify", "ListMetadataFormats", "ListSets", "ListIdentifiers", "ListRecords", "GetRecord"]
ARGUMENT_NAMES = ["verb", "identifier", "metadataPrefix", "from", "until", "set", "resumptionToken"]


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


# The issue's forged tokens: each was a 500 (KeyError, AttributeError, TypeError, PostgreSQL DataError).
ISSUE_TOKENS = [
    "eyJhZnRlciI6IiJ9",
    _b64('{"after":"","prefix":"oai_dc","set":7}'),
    _b64('{"after":"","prefix":"oai_dc","from":1}'),
    _b64('{"after":"a\\u0000","prefix":"oai_dc"}'),
]
GOOD_STATE = {"verb": "ListRecords", "prefix": "oai_dc", "from": None, "until": None, "set": None, "after": "lab/m-00"}


def _signed(**changes) -> str:
    """A token signed with Coda's own key and salt whose contents are wrong: the strict check, not the signature."""
    state = {**GOOD_STATE, **changes}
    return signing.dumps({k: v for k, v in state.items() if v is not ...}, salt=TOKEN_SALT)


SIGNED_BAD_TOKENS = [
    _signed(after=...),  # a key missing
    _signed(extra=1),  # a key too many
    _signed(set=7),
    _signed(**{"from": 1}),
    _signed(until=["2020-01-01"]),
    _signed(after="a\x00"),
    _signed(after="a\x01"),
    _signed(after=""),
    _signed(after="x" * 1000),
    _signed(prefix="marc"),
    _signed(prefix=None),
    _signed(verb="ListSets"),
    _signed(**{"from": "yesterday"}),
    _signed(**{"from": "2020-01-01", "until": "2030-01-01T00:00:00Z"}),
    _signed(set="provider:\ufffe"),
    signing.dumps(["after", "x"], salt=TOKEN_SALT),
    signing.dumps("x", salt=TOKEN_SALT),
    signing.dumps(GOOD_STATE, salt="another.salt"),
]


@pytest.fixture
def catalogue(db):
    lab = ProviderFactory(slug="lab", name="Lab")
    return [AIModelFactory(provider=lab, name=f"m-{i:02d}") for i in range(5)]


def _answer(response) -> etree._Element:
    """The answer as an OAI-PMH harvester reads it: HTTP 200, text/xml, well-formed, an OAI-PMH root."""
    assert response.status_code == 200, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("text/xml"), response["Content-Type"]
    root = etree.fromstring(response.content)
    assert root.tag == f"{OAI}OAI-PMH"
    return root


def _error(root) -> str | None:
    found = root.find(f"{OAI}error")
    return None if found is None else found.get("code")


def _request_attributes(root) -> dict:
    return dict(root.find(f"{OAI}request").attrib)


def _send(client, method: str, pairs: list[tuple[str, str]]):
    """Raw query/body bytes (lone surrogates are sent as the bytes a careless client would write for them)."""
    encoded = "&".join(
        f"{quote(k.encode('utf-8', 'surrogatepass'), safe='')}={quote(v.encode('utf-8', 'surrogatepass'), safe='')}"
        for k, v in pairs
    )
    if method == "GET":
        return client.get(f"/oai?{encoded}")
    return client.post("/oai", encoded, content_type="application/x-www-form-urlencoded")


# --- the issue's repros -----------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("verb", ["ListRecords", "ListIdentifiers"])
@pytest.mark.parametrize("token", ISSUE_TOKENS + SIGNED_BAD_TOKENS)
def test_forged_resumption_token_is_bad_resumption_token(client, catalogue, method, verb, token):
    root = _answer(_send(client, method, [("verb", verb), ("resumptionToken", token)]))
    assert _error(root) == "badResumptionToken"
    assert _request_attributes(root) == {"verb": verb, "resumptionToken": token}  # not badArgument: echoed


def test_list_sets_never_issued_a_token(client, catalogue):
    token = token_encode({**GOOD_STATE, "verb": "ListSets"})
    assert _error(_answer(client.get("/oai", {"verb": "ListSets", "resumptionToken": token}))) == "badResumptionToken"


def test_a_token_is_signed_and_only_for_its_own_verb(client, catalogue, monkeypatch):
    monkeypatch.setattr(oai_views, "PAGE_SIZE", 2)
    root = _answer(client.get("/oai", {"verb": "ListIdentifiers", "metadataPrefix": "oai_dc"}))
    token = root.find(f".//{OAI}resumptionToken").text
    assert token and signing.loads(token, salt=TOKEN_SALT)["after"] == "lab/m-01"
    for forged in (token[:-1] + ("A" if token[-1] != "A" else "B"), _b64(json.dumps(signing.loads(token, salt=TOKEN_SALT)))):
        assert _error(_answer(client.get("/oai", {"verb": "ListIdentifiers", "resumptionToken": forged}))) == "badResumptionToken"
    assert _error(_answer(client.get("/oai", {"verb": "ListRecords", "resumptionToken": token}))) == "badResumptionToken"
    seen = [h.text for h in root.iter(f"{OAI}identifier")]
    while token:
        page = _answer(client.post("/oai", {"verb": "ListIdentifiers", "resumptionToken": token}))
        assert _error(page) is None
        seen += [h.text for h in page.iter(f"{OAI}identifier")]
        token = page.find(f".//{OAI}resumptionToken").text
    assert seen == [f"oai:coda:lab/m-{i:02d}" for i in range(5)]


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("identifier", ["oai:coda:a\x00b", "\x00", "\x01", "\uffff", "\ufffe", "oai:coda:lab/m-00\x1f",
                                        "\x7f", "\x85"])
def test_character_xml_cannot_carry_is_bad_argument_and_not_echoed(client, catalogue, method, identifier):
    root = _answer(_send(client, method, [("verb", "GetRecord"), ("identifier", identifier), ("metadataPrefix", "oai_dc")]))
    assert _error(root) == "badArgument"
    assert _request_attributes(root) == {}


def test_post_body_nul_is_checked_not_only_the_query_string(client, catalogue):
    """The repro: POST /oai with identifier=oai:coda:a%00b in the body was a 500."""
    response = client.post("/oai", "verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:coda:a%00b",
                           content_type="application/x-www-form-urlencoded")
    assert _error(_answer(response)) == "badArgument"


def test_nul_in_get_query_is_an_oai_error_not_the_guard_json(client, catalogue):
    root = _answer(client.get("/oai?verb=ListRecords&metadataPrefix=oai_dc&set=provider:%00"))
    assert _error(root) == "badArgument"
    assert _error(_answer(client.get("/oai?verb=Identify&%00=1"))) == "badArgument"
    assert _error(_answer(client.get("/oai?verb=Ident%00ify"))) == "badVerb"


@pytest.mark.parametrize("query, code", [
    ({"verb": "Dance"}, "badVerb"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "yesterday"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "２０２０-01-01"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": ""}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "set": ""}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "set": "colour:<red>"}, "badArgument"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2020-01-01", "until": "2030-01-01T00:00:00Z"}, "badArgument"),
])
def test_bad_verb_or_argument_echoes_no_attribute(client, catalogue, query, code):
    root = _answer(client.get("/oai", query))
    assert _error(root) == code
    assert _request_attributes(root) == {}


def test_other_errors_echo_the_arguments_escaped(client, catalogue):
    identifier = 'oai:coda:<lab>&"m"\u2028\t'
    root = _answer(client.get("/oai", {"verb": "GetRecord", "identifier": identifier, "metadataPrefix": "oai_dc"}))
    assert _error(root) == "idDoesNotExist"
    assert _request_attributes(root) == {"verb": "GetRecord", "identifier": identifier, "metadataPrefix": "oai_dc"}
    root = _answer(client.get("/oai", {"verb": "ListRecords", "metadataPrefix": "marc&<"}))
    assert _error(root) == "cannotDisseminateFormat" and _request_attributes(root)["metadataPrefix"] == "marc&<"


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_every_control_character_by_get_and_post(client, catalogue, method):
    """Each character of C0, DEL and C1, U+FFFE and U+FFFF in a value: tab, LF and CR are text (echoed, escaped);
    the others are badArgument (XML 1.0 cannot carry them, or Coda's one rule for text refuses them, core.text)."""
    for code in [*range(0x00, 0x20), *range(0x7F, 0xA0), 0xFFFE, 0xFFFF]:
        value = f"oai:coda:lab/m{chr(code)}"
        root = _answer(_send(client, method, [("verb", "ListMetadataFormats"), ("identifier", value)]))
        legal = code in (0x09, 0x0A, 0x0D)
        assert _error(root) == ("idDoesNotExist" if legal else "badArgument"), hex(code)
        assert _request_attributes(root) == ({"verb": "ListMetadataFormats", "identifier": value} if legal else {})


def test_unreadable_post_body_is_bad_argument(client, catalogue):
    response = client.post("/oai", b"--x\r\nbroken", content_type="multipart/form-data; boundary=x")
    assert _error(_answer(response)) in ("badArgument", "badVerb")
    response = client.post("/oai", b"--\r\n", content_type="multipart/form-data")  # no boundary at all
    assert _error(_answer(response)) == "badArgument"


# --- the fuzz -----------------------------------------------------------------------------------------

VALID = {
    "Identify": [],
    "ListMetadataFormats": [("identifier", "oai:coda:lab/m-00")],
    "ListSets": [],
    "ListIdentifiers": [("metadataPrefix", "oai_dc")],
    "ListRecords": [("metadataPrefix", "oai_datacite"), ("set", "provider:lab")],
    "GetRecord": [("identifier", "oai:coda:lab/m-00"), ("metadataPrefix", "oai_dc")],
}
HOSTILE = [
    "", " ", "\x00", "a\x00b", "".join(map(chr, range(0x20))), "".join(map(chr, range(0x7F, 0xA0))),
    "\ufffe", "\uffff", "\ud800", "x\udfffy", "\ufeff", "\u2028", "\U0001F600", "\ufffd",
    "9" * 5000, "9223372036854775808", "-1", "1e309", "NaN", "0",
    "2020-13-45", "0000-01-01", "9999-12-31T23:59:59Z", "2020-01-01T00:00:00+01:00", "٢٠٢٠-01-01",
    *ISSUE_TOKENS, SIGNED_BAD_TOKENS[0], "not-a-token", "a:b:c", "=", "A" * 20000,
    "<x>&amp;\"'", "]]>", "oai:coda:", "oai:coda:lab/m-00", "provider:", "status:retired", "oai_dc", "marc",
    "GetRecord", "Identify",
]
HOSTILE_KEYS = ["\x00", "\x01", "verb\x00", "\uffff", "<a>", "verb ", "VERB", "resumptionToken\x00"]


def _fuzz_cases():
    for verb in VERBS:
        base = [("verb", verb), *VALID[verb]]
        yield base
        for name in ARGUMENT_NAMES:
            for value in HOSTILE:
                yield [(k, v) for k, v in base if k != name] + [(name, value)]
            yield base + [(name, "oai_dc")]  # a repeated argument (or one too many)
            yield base + [(name, "")]
        for key in HOSTILE_KEYS:
            yield base + [(key, "x")]
    yield []
    yield [("verb", "ListRecords"), ("verb", "ListRecords"), ("metadataPrefix", "oai_dc")]


def test_fuzz_every_answer_is_well_formed_oai_pmh(client, catalogue):
    count = 0
    for pairs in _fuzz_cases():
        for method in ("GET", "POST"):
            response = _send(client, method, pairs)
            try:
                root = _answer(response)
            except (AssertionError, etree.XMLSyntaxError) as exc:
                raise AssertionError(f"{method} {pairs!r:.300}: {exc}") from None
            if _error(root) in ("badVerb", "badArgument"):
                assert _request_attributes(root) == {}, (method, pairs)
            count += 1
    assert count > 3900  # about 4,000 requests, a few seconds
