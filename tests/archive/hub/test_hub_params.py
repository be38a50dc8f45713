"""Every query parameter of /hf, fuzzed (issue 26 part 4): never a 500; a value Coda refuses is a 4xx in the Hub's
own error shape (a JSON object with "error", X-Error-Message), which the Hub clients turn into their exceptions.
A NUL stays the request guard's refusal (core/guard.py, the API's JSON shape, pinned by tests/core)."""

from urllib.parse import quote

import pytest

from archive.models import FileKind
from tests.archive.citation.snapshots import sealed_snapshot
from tests.factories import AIModelFactory, ProviderFactory

REPO = "/hf/api/models/lab/kept"
# Each endpoint and the query parameters its view reads (archive/hub/views.py, repos.py).
ENDPOINTS = {
    "/hf/api/models": ["cursor", "limit", "search", "author", "filter", "sort", "full", "expand", "expand[]",
                       "config", "cardData"],
    REPO: ["blobs"],
    f"{REPO}/revision/main": ["blobs"],
    f"{REPO}/tree/main": ["cursor", "recursive", "expand"],
    f"{REPO}/commits/main": ["cursor", "expand", "expand[]"],
    f"{REPO}/refs": ["include_prs"],
}
HOSTILE = [
    "", " ", "0", "-1", "+1", "1.5", "1e309", "NaN", "²", "١٢", "２", " 5", "1_000", "0x10",
    "9223372036854775807", "9223372036854775808", "18446744073709551616", "2147483648", "9" * 5000,
    "\x01", "\x7f", "\ufffe", "\ud800", "\U0001F600", "<x>", "' OR 1=1 --", "%", "a" * 5000, "a " * 2000,
    "true", "True", "1", "siblings", "lastModified", "-lastModified",
]


def _url(path: str, pairs: list[tuple[str, str]]) -> str:
    query = "&".join(f"{quote(k)}={quote(v.encode('utf-8', 'surrogatepass'), safe='')}" for k, v in pairs)
    return f"{path}?{query}"


@pytest.fixture
def hub(db):
    lab = ProviderFactory(slug="lab", name="Lab")
    kept = AIModelFactory(provider=lab, name="kept")
    for i in range(3):
        AIModelFactory(provider=lab, name=f"other-{i}")
    snapshot = sealed_snapshot(kept, files={f"dir/f{i}.json": (10, "json") for i in range(5)})
    snapshot.files.update(kind=FileKind.CONFIG)  # model files: the snapshot is the head of `main`


def _hub_error(response, status: int = 400) -> str:
    assert response.status_code == status, (response.status_code, response.content[:200])
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}, body
    assert response["X-Error-Message"]
    return body["error"]


# --- the issue's repro and its class -----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/hf/api/models", f"{REPO}/tree/main", f"{REPO}/commits/main"])
@pytest.mark.parametrize("cursor", ["9223372036854775808", "9223372036854775807", "2147483648", "9" * 5000,
                                    "-1", "²", " 1", "1_0", "", "abc"])
def test_cursor_not_issued_by_coda_is_400_in_the_hub_shape(client, hub, path, cursor):
    assert "cursor" in _hub_error(client.get(_url(path, [("cursor", cursor)])))


@pytest.mark.parametrize("limit", ["-1", "²", "1.5", "abc", "9" * 5000, " 5"])
def test_limit_not_an_integer_is_400(client, hub, limit):
    assert "limit" in _hub_error(client.get(_url("/hf/api/models", [("limit", limit)])))


def test_search_author_and_filter_are_bounded(client, hub):
    assert "search" in _hub_error(client.get(_url("/hf/api/models", [("search", "a " * 101)])))
    assert "author" in _hub_error(client.get(_url("/hf/api/models", [("author", "a" * 201)])))
    assert "filter" in _hub_error(client.get(_url("/hf/api/models", [("filter", str(i)) for i in range(21)])))


def test_cursors_coda_issues_still_page(client, hub):
    """The Link rel=next cursors keep working, and huge limits are held to the page maximum as before."""
    seen, url = [], "/hf/api/models?limit=1"
    while url:
        response = client.get(url)
        assert response.status_code == 200
        seen += [item["id"] for item in response.json()]
        link = response.get("Link", "")
        url = link[link.index("<") + 1 : link.index(">")].replace("http://testserver", "") if 'rel="next"' in link else None
    assert seen == ["lab/kept", "lab/other-0", "lab/other-1", "lab/other-2"]
    assert len(client.get("/hf/api/models?limit=99999999999999999999").json()) == 4
    assert len(client.get("/hf/api/models?limit=0").json()) == 1  # held to 1, as before
    assert client.get(f"{REPO}/tree/main?recursive=1").status_code == 200
    assert client.get("/hf/api/models?cursor=2147483647").json() == []
    assert client.get(f"{REPO}/tree/main?cursor=2147483647&recursive=1").json() == []


# --- the fuzz ---------------------------------------------------------------------------------------


def test_fuzz_every_parameter_of_every_endpoint(client, hub):
    """Each endpoint × each parameter it reads × each hostile value, alone and repeated: a 200, or a 4xx in the
    Hub's error shape; never a 500."""
    count = 0
    for path, names in ENDPOINTS.items():
        for name in names:
            for value in HOSTILE:
                for pairs in ([(name, value)], [(name, "1"), (name, value)]):
                    response = client.get(_url(path, pairs))
                    assert response.status_code < 500, (path, pairs, response.status_code)
                    if response.status_code >= 400:
                        _hub_error(response, response.status_code)
                    count += 1
    assert count > 1200


def test_nul_is_still_the_guards_refusal(client, hub):
    response = client.get("/hf/api/models?search=%00")
    assert response.status_code == 400 and "NUL" in response.json()["detail"]
