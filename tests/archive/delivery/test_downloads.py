"""Downloads: the permission matrix, streamed and ranged bytes, presigned URLs, access events."""

import hashlib
import time
import urllib.parse
import urllib.request

import pytest

from archive.models import EventType, PreservationEvent
from tests.access_matrix import CASES, ROLES, case
from tests.archive.helpers import preserve_now, random_bytes
from tests.factories import AIModelFactory, ProviderFactory, api_client, role_users

DATA = random_bytes(2 * 1024 * 1024 + 13, seed=11)
FILES = {"config.json": b'{"a": 1}', "weights/model.safetensors": DATA}


client_for = api_client  # tests.factories: a Bearer-token client, or anonymous


def file_url(snapshot, path: str, ref: str | None = None) -> str:
    model = snapshot.model
    return f"/api/v1/models/{model.provider.slug}/{model.name}/snapshots/{ref or snapshot.revision}/files/{path}"


def access_events():
    return PreservationEvent.objects.filter(event_type=EventType.ACCESS, detail__has_key="via")


@pytest.fixture
def preserved(transactional_db, staging_dir, monkeypatch):
    model = AIModelFactory(provider=ProviderFactory(slug="lab"), name="gated-model")
    snapshot = preserve_now(model, staging_dir, FILES, monkeypatch)
    return model, snapshot


# Every row of the shared table whose model is publicly listed: the model's file access, and a snapshot's override.
PUBLIC_METADATA = [row for row in CASES if row.metadata == "public"]


@pytest.mark.parametrize("row", PUBLIC_METADATA, ids=lambda row: row.id)
def test_download_permission_matrix(preserved, row):
    model, snapshot = preserved
    model.file_access = row.files
    model.save()
    snapshot.file_access = row.snapshot
    snapshot.save()
    users = role_users(model)
    for role in ROLES:
        before = access_events().count()
        response = client_for(users[role]).get(file_url(snapshot, "weights/model.safetensors"))
        assert response.status_code == row.file_status(role), (row.id, role, response.status_code)
        if response.status_code == 200:
            body = b"".join(response.streaming_content)
            assert hashlib.sha256(body).hexdigest() == hashlib.sha256(DATA).hexdigest()
            assert response["X-Coda-Sha256"] == hashlib.sha256(DATA).hexdigest()
            assert access_events().count() == before + 1, role
        else:
            body = response.json()
            assert body["code"] == "access_denied"
            assert model.repo_id in body["detail"]
            if row.level == "gated":
                assert "request access" in body["detail"] and "access-requests" in body["detail"]
            else:
                assert "restricted to curators" in body["detail"]
            assert access_events().count() == before, "a refused download is not an access"


def test_snapshot_override_applies_to_downloads(preserved):
    model, snapshot = preserved
    model.file_access = "public"
    model.save()
    snapshot.file_access = "restricted"
    snapshot.save()
    users = role_users(model)
    assert client_for(users["researcher"]).get(file_url(snapshot, "config.json")).status_code == 403
    assert client_for(users["curator"]).get(file_url(snapshot, "config.json")).status_code == 200


def test_restricted_metadata_model_is_404_not_403(preserved):
    model, snapshot = preserved
    model.metadata_access = "restricted"
    model.save()
    users = role_users(model)
    row = case("restricted", model.file_access)
    for role in ROLES:
        response = client_for(users[role]).get(file_url(snapshot, "config.json"))
        assert response.status_code == row.file_status(role), role
        if response.status_code == 404:
            assert response.json()["code"] == "model_not_found", role
    assert client_for(None).get(file_url(snapshot, "config.json")).status_code == 404
    assert client_for(users["researcher"]).get(file_url(snapshot, "config.json")).status_code == 404
    assert client_for(users["granted"]).get(file_url(snapshot, "config.json")).status_code == 200


def test_access_event_names_reader_file_and_way(preserved, curator):
    model, snapshot = preserved
    response = client_for(curator).get(file_url(snapshot, "config.json", ref="main"))
    assert b"".join(response.streaming_content) == FILES["config.json"]
    event = access_events().get()
    assert event.agent == "user:curator" and event.outcome == "success"
    assert event.snapshot_id == snapshot.pk and event.model_id == model.pk
    assert event.detail["path"] == "config.json" and event.detail["via"] == "stream"
    assert event.snapshot_file.path == "config.json" and event.location.name == "local"


def test_ranged_download(preserved, curator):
    _, snapshot = preserved
    client = client_for(curator)
    response = client.get(file_url(snapshot, "weights/model.safetensors"), HTTP_RANGE="bytes=100-1048675")
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 100-1048675/{len(DATA)}"
    assert b"".join(response.streaming_content) == DATA[100:1048676]
    suffix = client.get(file_url(snapshot, "weights/model.safetensors"), HTTP_RANGE="bytes=-10")
    assert b"".join(suffix.streaming_content) == DATA[-10:]
    bad = client.get(file_url(snapshot, "weights/model.safetensors"), HTTP_RANGE=f"bytes={len(DATA)}-")
    assert bad.status_code == 416 and bad.json()["code"] == "range_not_satisfiable"


def test_missing_file_and_snapshot_are_404(preserved, curator):
    _, snapshot = preserved
    client = client_for(curator)
    assert client.get(file_url(snapshot, "nope.bin")).json()["code"] == "file_not_found"
    assert client.get(file_url(snapshot, "config.json", ref="f" * 40)).status_code == 404


def test_bad_expires_is_400(preserved, curator):
    _, snapshot = preserved
    response = client_for(curator).get(file_url(snapshot, "config.json") + "?expires=soon")
    assert response.status_code == 400 and "expires" in response.json()["errors"]


def test_session_user_downloads_through_the_page_link(preserved, client):
    model, snapshot = preserved
    users = role_users(model)
    client.force_login(users["granted"])
    response = client.get(file_url(snapshot, "config.json"))
    assert response.status_code == 200 and b"".join(response.streaming_content) == FILES["config.json"]


# --- S3: presigned URLs ------------------------------------------------------------------------


@pytest.fixture
def preserved_s3(s3_location, transactional_db, staging_dir, monkeypatch):
    model = AIModelFactory(provider=ProviderFactory(slug="lab"), name="s3-model")
    return model, preserve_now(model, staging_dir, FILES, monkeypatch)


def _expires(location: str) -> int:
    """Lifetime of a presigned URL in seconds (SigV4 states it; SigV2 gives an absolute epoch time)."""
    query = urllib.parse.parse_qs(urllib.parse.urlparse(location).query)
    if "X-Amz-Expires" in query:
        return int(query["X-Amz-Expires"][0])
    if "Expires" in query:
        return round((int(query["Expires"][0]) - time.time()) / 10) * 10
    raise AssertionError(f"no expiry in {location}")


@pytest.fixture
def plaintext_at_rest(settings):
    """Files stored in plaintext (CODA_ENCRYPT_AT_REST=none), asked for before `preserved_s3` ingests: presigned
    redirects are given for plaintext copies only (a sealed copy is streamed, decrypted)."""
    settings.CODA_ENCRYPT_AT_REST = "none"


def test_s3_download_redirects_to_presigned_url(plaintext_at_rest, preserved_s3):
    """Tests plaintext copies (see plaintext_at_rest): an entitled user of the gated model is redirected."""
    model, snapshot = preserved_s3
    users = role_users(model)
    client = client_for(users["granted"])
    response = client.get(file_url(snapshot, "weights/model.safetensors"))
    assert response.status_code == 302
    assert _expires(response["Location"]) == 900
    # The presigned URL really serves the exact bytes.
    assert hashlib.sha256(urllib.request.urlopen(response["Location"]).read()).hexdigest() == hashlib.sha256(DATA).hexdigest()
    event = access_events().get()
    assert event.detail["via"] == "presigned_url" and event.detail["expires_in"] == 900
    assert _expires(client.get(file_url(snapshot, "config.json") + "?expires=60")["Location"]) == 60
    assert _expires(client.get(file_url(snapshot, "config.json") + "?expires=86400")["Location"]) == 3600


def test_s3_no_presigned_url_without_access(preserved_s3):
    model, snapshot = preserved_s3
    users = role_users(model)
    for role in ("anonymous", "researcher", "expired"):
        response = client_for(users[role]).get(file_url(snapshot, "weights/model.safetensors"))
        assert response.status_code == 403, role
        assert "Location" not in response and "X-Amz" not in response.content.decode()
    assert not access_events().exists()


def test_s3_downloads_stream_when_redirects_are_off(preserved_s3, settings, s3_location):
    """CODA_DOWNLOAD_S3_REDIRECT=false: the bytes come through Coda and nothing names the storage."""
    settings.CODA_DOWNLOAD_S3_REDIRECT = False
    model, snapshot = preserved_s3
    client = client_for(role_users(model)["granted"])
    response = client.get(file_url(snapshot, "weights/model.safetensors"))
    assert response.status_code == 200 and "Location" not in response
    body = b"".join(response.streaming_content)
    assert body == DATA and s3_location.bucket.encode() not in body
    assert s3_location.bucket not in str(response.headers)
    assert access_events().get().detail["via"] == "stream"
