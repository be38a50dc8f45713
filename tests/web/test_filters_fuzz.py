"""Every query parameter the site's pages read, fuzzed without a browser (issue 26 part 4): no value is a 500.
A filter value the pages' own forms never send is a 400 in the site's error shape (Django's Bad Request page, as
its 404 is Django's Not Found); page numbers keep Django's documented fallback (the first or the last page)."""

from datetime import date
from urllib.parse import quote

import pytest
from django.test import Client

from tests.archive.citation.snapshots import sealed_snapshot
from tests.factories import AIModelFactory, CuratorFactory, ProviderFactory

# Each page and the query parameters its view reads (web/views.py).
PAGES = {
    "/": ["q", "provider", "status", "retirement_year", "preservation", "page", "sort"],
    "/timeline/": ["q", "provider", "status", "retirement_year", "preservation"],
    "/retirements/upcoming/": ["page"],
    "/providers/": ["page"],
    "/providers/lab/": ["page"],
    "/models/lab/kept/": ["snapshot", "files_page", "tab"],
    "/signup/": ["invitation"],
    "/accounts/login/": ["next"],
}
HOSTILE = [
    "", " ", "²", "١٢", "２０２４", "10000", "99999", "0", "00000", "-1", "+1", "1.5", "1e309", "NaN", "inf",
    "9" * 5000, "9223372036854775808", "18446744073709551616", " 2024", "2024 ", "2024\n", "0x7e8",
    "\x01", "a\x1fb", "\x7f", "\x85", "\ufeff", "\ufffe", "\uffff", "\ud800", "\U0001F600", "\u202e",
    "<script>alert(1)</script>", "' OR 1=1 --", "%", "%%00", "a" * 5000, "retired ", "RETIRED", "retired\x00",
    "provider:lab", "../../etc/passwd", "//evil.example/", "javascript:alert(1)",
]
# The pages other than the catalogue parse the same way (Django's paginator, a lookup by value): fewer values.
SHORT = ["", "²", "10000", "-1", "9" * 5000, "9223372036854775808", "1e309", "\x01", "\x7f", "\ufffe", "\ud800",
         "<script>alert(1)</script>", "%", "a" * 5000, "//evil.example/", "retired\x00"]
FILTERS = {"q", "provider", "status", "retirement_year", "preservation"}


def _url(path: str, pairs: list[tuple[str, str]]) -> str:
    """Raw bytes as a careless client writes them (a lone surrogate as its UTF-8-like bytes)."""
    query = "&".join(f"{quote(k)}={quote(v.encode('utf-8', 'surrogatepass'), safe='')}" for k, v in pairs)
    return f"{path}?{query}"


@pytest.fixture
def site(db):
    lab = ProviderFactory(slug="lab", name="Lab")
    kept = AIModelFactory(provider=lab, name="kept", retires_on=date(2024, 6, 1), deprecated_on=date(2024, 1, 1),
                          release_date=date(2023, 1, 1))
    AIModelFactory(provider=lab, name="other", retires_on=date(2031, 1, 1))
    sealed_snapshot(kept)
    curator = Client()
    curator.force_login(CuratorFactory())
    return {"anonymous": Client(), "curator": curator}


def _bad_request(response) -> None:
    assert response.status_code == 400, response.status_code
    assert response["Content-Type"].startswith("text/html")
    assert b"Bad Request (400)" in response.content


# --- the repros ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/timeline/"])
@pytest.mark.parametrize("year", ["10000", "%C2%B2", "0", "-1", "١٢", "9" * 5000])
def test_retirement_year_out_of_range_or_not_ascii_is_400(site, path, year):
    _bad_request(site["anonymous"].get(f"{path}?retirement_year={year}"))


@pytest.mark.parametrize("path", ["/", "/timeline/"])
def test_valid_filters_still_answer(site, path):
    client = site["anonymous"]
    for query in ("retirement_year=2024", "retirement_year=9999", "retirement_year=1", "retirement_year=",
                  "status=retired", "status=", "preservation=not_preserved", "provider=lab", "q=kept", "provider=nobody"):
        assert client.get(f"{path}?{query}").status_code == 200, query
    assert b"lab/kept" in client.get("/?retirement_year=2024").content or b"kept" in client.get("/?retirement_year=2024").content


@pytest.mark.parametrize("query", ["status=gone", "status=RETIRED", "preservation=lost", "q=a%01b", "provider=lab%1f",
                                   "q=%EF%BF%BE", "q=%C2%85", "retirement_year=2024%0A"])
def test_filter_values_no_form_sends_are_400(site, query):
    _bad_request(site["anonymous"].get(f"/?{query}"))
    _bad_request(site["anonymous"].get(f"/timeline/?{query}"))


def test_page_numbers_keep_djangos_fallback(site):
    client = site["anonymous"]
    for value in ("abc", "²", "-1", "0", "9223372036854775808", "9" * 5000, "1e309"):
        assert client.get(f"/?page={quote(value)}").status_code == 200, value
        assert client.get(f"/models/lab/kept/?files_page={quote(value)}").status_code == 200, value


# --- the fuzz ---------------------------------------------------------------------------------------


def test_fuzz_every_parameter_of_every_page(site):
    """Each page × each parameter it reads × hostile values (every one on the catalogue, a shorter list elsewhere),
    alone and after a valid value of the same name: never a 500; a filter is either honoured (200) or refused (400)."""
    client, count = site["anonymous"], 0
    for path, names in PAGES.items():
        for name in names:
            for value in HOSTILE if path == "/" else SHORT:
                for pairs in ([(name, value)], [(name, "2024"), (name, value)]):
                    response = client.get(_url(path, pairs))
                    assert response.status_code < 500, (path, pairs, response.status_code)
                    if name in FILTERS:
                        assert response.status_code in (200, 400), (path, pairs, response.status_code)
                    count += 1
    assert count > 1000


def test_fuzz_filters_as_a_curator(site):
    """A curator sees more models, through the same parsing: the same answers."""
    for name in PAGES["/"]:
        for value in SHORT:
            anonymous = site["anonymous"].get(_url("/", [(name, value)])).status_code
            assert site["curator"].get(_url("/", [(name, value)])).status_code == anonymous, (name, value)


def test_fuzz_all_filters_at_once(site):
    """Every filter hostile at the same time, in a few deterministic combinations: never a 500."""
    filters = PAGES["/"][:5]
    for offset in range(len(HOSTILE)):
        pairs = [(name, HOSTILE[(offset + i * 7) % len(HOSTILE)]) for i, name in enumerate(filters)]
        for path in ("/", "/timeline/"):
            assert site["anonymous"].get(_url(path, pairs)).status_code in (200, 400), pairs
