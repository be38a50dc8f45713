"""Hostile input: each case answers 4xx in the JSON error shape (core/errors.py) and writes nothing.

The cases came from fuzzing main on PostgreSQL (issue 14): NUL in URL segments and query values, deeply nested
JSON, day counts past datetime's range, the manifest of an unsealed snapshot, bodies over Django's limit, fields a
request cannot write, bad page sizes and forged cursors, ids past 64 bits.
"""

import base64
import json

import pytest
from django.apps import apps

from archive.models import Snapshot
from core.parsers import MAX_JSON_DEPTH, json_depth_exceeds
from catalogue.models import AccessRequest
from tests.factories import AccessRequestFactory, AIModelFactory, ProviderFactory, UserFactory, api_client


def row_counts() -> dict[str, int]:
    return {
        model._meta.label: model.objects.count()
        for app in ("catalogue", "archive", "knox", "auth")
        for model in apps.get_app_config(app).get_models()
    }


def assert_error(response, status: int | None = None) -> dict:
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    if status is not None:
        assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) >= {"status", "code", "detail"}, body
    assert body["status"] == response.status_code
    return body


@pytest.fixture
def world(db, curator):
    model = AIModelFactory(provider=ProviderFactory(slug="acme"), name="m-1")
    pending = AccessRequestFactory(model=model, user=UserFactory())
    return {"model": model, "request": pending, "curator": api_client(curator), "counts": row_counts()}


def unchanged(world):
    assert row_counts() == world["counts"]


NUL_PATHS = [
    "/api/v1/providers/ac\x00me/",
    "/api/v1/models/acme/m\x00/",
    "/api/v1/models/ac\x00me/m-1/snapshots/",
    "/api/v1/models/acme/m-1/snapshots/main\x00/",
    "/api/v1/models/acme/m-1/snapshots/main/manifest\x00",
    "/api/v1/models/acme/m-1/snapshots/main/files/a\x00b",
    "/api/v1/models/acme/m\x00/preservation/",
    "/api/v1/models/acme/m\x00/interviews/",
    "/api/v1/models/acme/m-1/reports/1\x00/",
    "/api/v1/models/acme/m-1/writings/x\x00/",
    "/hf/api/models/acme/m\x00",
    "/hf/acme/m-1/resolve/main/a\x00b",
    "/models/acme/m\x00/",
]


@pytest.mark.parametrize("path", NUL_PATHS)
@pytest.mark.parametrize("who", ["anonymous", "curator"])
def test_nul_in_path_is_400(world, path, who):
    client = world["curator"] if who == "curator" else api_client()
    body = assert_error(client.get(path), 400)
    assert "NUL" in body["detail"]
    assert_error(client.post(path, {}, format="json"), 400)
    unchanged(world)


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/models/?q=a%00b",
        "/api/v1/models/?provider=acme%00",
        "/api/v1/models/?family=%00",
        "/api/v1/providers/?ordering=%00",
        "/api/v1/events/?model=acme/m%00",
        "/api/v1/events/?sha256=%00",
        "/api/v1/access-requests/?status=%00",
        "/api/v1/commitments/?provider=%00",
        "/api/v1/retirement-feed/?provider=%00",
        "/hf/api/models/acme/m-1/tree/main?cursor=%00",
        "/api/v1/models/?a%00=1",
    ],
)
def test_nul_in_query_is_400(world, url):
    assert_error(world["curator"].get(url), 400)
    assert_error(api_client().get(url), 400)
    unchanged(world)


def test_deeply_nested_json_is_400(world):
    deep = "[" * 2000 + "]" * 2000
    for url in ("/api/v1/providers/", "/api/v1/models/", f"/api/v1/access-requests/{world['request'].pk}/approve/"):
        response = world["curator"].post(url, deep, content_type="application/json")
        body = assert_error(response, 400)
        assert "nested" in body["detail"]
    nested_value = json.dumps({"slug": "ok", "name": json.loads("[" * 40 + "]" * 40)})
    assert_error(world["curator"].post("/api/v1/providers/", nested_value, content_type="application/json"), 400)
    unchanged(world)


def test_depth_limit_counts_levels():
    assert not json_depth_exceeds(json.loads("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH), MAX_JSON_DEPTH)
    assert json_depth_exceeds(json.loads("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)), MAX_JSON_DEPTH)
    assert json_depth_exceeds({"a": [{"b": [[]]}]}, 4) and not json_depth_exceeds({"a": [{"b": []}]}, 4)


@pytest.mark.parametrize("decision", ["approve", "deny", "revoke"])
@pytest.mark.parametrize("days", [3_000_000, 10**30, 0, -1])
def test_expires_in_days_out_of_range_is_400(world, decision, days):
    url = f"/api/v1/access-requests/{world['request'].pk}/{decision}/"
    body = assert_error(world["curator"].post(url, {"expires_in_days": days}, format="json"), 400)
    assert "expires_in_days" in body["errors"]
    assert AccessRequest.objects.get(pk=world["request"].pk).status == AccessRequest.Status.PENDING
    unchanged(world)


def test_grant_with_huge_expiry_is_400(world):
    url = "/api/v1/models/acme/m-1/access-grants/"
    body = assert_error(world["curator"].post(url, {"user": "x", "expires_in_days": 3_000_000}, format="json"), 400)
    assert "expires_in_days" in body["errors"]
    unchanged(world)


@pytest.mark.parametrize("suffix", ["manifest", "manifest.sha256", "bag.tar"])
def test_unsealed_snapshot_has_no_manifest(world, suffix):
    snapshot = Snapshot.objects.create(model=world["model"], source="/nowhere", state=Snapshot.State.INGESTING)
    counts = row_counts()
    url = f"/api/v1/models/acme/m-1/snapshots/{snapshot.pk}/{suffix}"
    body = assert_error(world["curator"].get(url), 404)
    assert "not sealed" in body["detail"]
    assert row_counts() == counts


def test_oversize_body_is_413_json(world, settings):
    body = b'{"slug": "' + b"a" * (30 * 1024 * 1024) + b'"}'
    response = world["curator"].post("/api/v1/providers/", body, content_type="application/json")
    assert assert_error(response, 413)["code"] == "request_too_large"
    unchanged(world)


def test_oversize_multipart_field_is_413_json(world, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024  # the middleware cannot size multipart; the parser refuses
    response = world["curator"].post("/api/v1/providers/", {"slug": "a" * 4096}, format="multipart")
    assert assert_error(response, 413)["code"] == "request_too_large"
    unchanged(world)


@pytest.mark.parametrize(
    "url, payload, field",
    [
        ("/api/v1/models/acme/m-1/", {"status": "retired"}, "status"),
        ("/api/v1/models/acme/m-1/", {"id": "other/name"}, "id"),
        ("/api/v1/models/acme/m-1/", {"preservation_status": "preserved"}, "preservation_status"),
        ("/api/v1/models/acme/m-1/", {"provider": "acme"}, "provider"),
        ("/api/v1/models/acme/m-1/", {"display_name": "ok", "bogus": 1}, "bogus"),
        ("/api/v1/providers/acme/", {"model_count": 3}, "model_count"),
        ("/api/v1/providers/", {"slug": "new", "created_at": "2020-01-01T00:00:00Z"}, "created_at"),
    ],
)
def test_fields_that_cannot_be_written_are_400_naming_them(world, url, payload, field):
    method = world["curator"].post if url.endswith("providers/") else world["curator"].patch
    body = assert_error(method(url, payload, format="json"), 400)
    assert field in body["errors"] and field in body["detail"]
    assert world["model"].display_name == type(world["model"]).objects.get(pk=world["model"].pk).display_name
    unchanged(world)


def test_non_curator_cannot_write_access_fields(world, researcher):
    client = api_client(researcher)
    counts = row_counts()
    response = client.patch("/api/v1/models/acme/m-1/", {"metadata_access": "restricted"}, format="json")
    assert_error(response, 403)
    assert row_counts() == counts


@pytest.mark.parametrize("size", ["0", "-1", "501", str(10**12), "abc", "1.5", "²", ""])
@pytest.mark.parametrize("url", ["/api/v1/models/", "/api/v1/providers/", "/api/v1/events/", "/api/v1/access-requests/"])
def test_page_size_out_of_range_is_400(world, url, size):
    body = assert_error(world["curator"].get(url, {"page_size": size}), 400)
    assert "page_size" in body["errors"]


def test_page_size_in_range_pages(world):
    AIModelFactory(provider=world["model"].provider, name="m-2")
    body = world["curator"].get("/api/v1/models/", {"page_size": "1"}).json()
    assert len(body["results"]) == 1 and body["next"]


def _cursor(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    ["garbage", "é", "!!!", "cD0x\n", _cursor("o=-5"), _cursor("r=x"), _cursor("p=\x00")],
)
@pytest.mark.parametrize("url", ["/api/v1/models/", "/api/v1/events/", "/api/v1/access-requests/"])
def test_garbage_cursor_is_400_not_404(world, url, cursor):
    body = assert_error(world["curator"].get(url, {"cursor": cursor}), 400)
    assert "cursor" in body["errors"]


@pytest.mark.parametrize("url", ["/api/v1/events/", "/api/v1/access-requests/"])  # ordered by a timestamp
def test_forged_cursor_position_is_400(world, url):
    body = assert_error(world["curator"].get(url, {"cursor": _cursor("p=not-a-date")}), 400)
    assert "cursor" in body["errors"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/access-requests/9999999999999999999999999/",
        "/api/v1/access-requests/9999999999999999999999999/approve/",
        "/api/v1/retirements/9999999999999999999999999/",
        "/api/v1/ingest-jobs/9999999999999999999999999/",
        "/api/v1/models/acme/m-1/snapshots/9999999999999999999999999/",
        "/api/v1/models/acme/m-1/reports/9999999999999999999999999/",
        "/api/v1/models/acme/m-1/snapshots/\u00b2/",
    ],
)
def test_ids_past_64_bits_are_404(world, url):
    assert_error(world["curator"].get(url), 404)
    assert_error(world["curator"].post(url, {}, format="json"))
    unchanged(world)


def test_provider_id_past_64_bits_is_400(world):
    body = assert_error(world["curator"].get("/api/v1/models/", {"provider_id": "9" * 30}), 400)
    assert "provider_id" in body["errors"]


def test_unknown_api_route_is_json_404(world):
    assert_error(api_client().get("/api/v1/no-such-thing/"), 404)
    assert_error(api_client().get("/api/v1/access-requests/abc/"), 404)
