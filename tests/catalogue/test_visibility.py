"""One visibility rule on every surface (catalogue.permissions): the leaks a hostile tester found, one test each.
A restricted model is invisible to those not entitled to know it (404, never 403) and references to it are left
out; server-side paths, storage keys and raw storage errors reach curators only."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from archive.models import Blob, EventOutcome, EventType, IngestJob, Snapshot, StorageLocation
from archive.events import event_record
from catalogue.models import AccessRequest, Retirement
from tests.factories import AccessRequestFactory, AIModelFactory, ProviderFactory, api_client
from tests.archive.helpers import preserve_now

pytestmark = pytest.mark.django_db
SOURCE = "/srv/coda/staging/secret-lab/hidden-weights"
S3_ERROR = "An error occurred (AccessDenied) when calling PutObject on s3://coda-internal/blobs/uploads/1234"


@pytest.fixture
def lab(db, curator, researcher):
    """A public model replaced by a restricted one, both retiring; the restricted one has a failed ingest job."""
    today = timezone.localdate()
    provider = ProviderFactory(slug="lab")
    hidden = AIModelFactory(provider=provider, name="hidden-next", display_name="Hidden Next",
                            metadata_access="restricted", retires_on=today + timedelta(days=90))
    public = AIModelFactory(provider=provider, name="open-old", display_name="Open Old", replacement=hidden,
                            deprecated_on=today - timedelta(days=5), retires_on=today + timedelta(days=20))
    Retirement.objects.create(model=public, reason_category="superseded", registered_by=curator)
    snapshot = Snapshot.objects.create(model=hidden, state=Snapshot.State.FAILED, source=SOURCE)
    job = IngestJob.objects.create(snapshot=snapshot, state=IngestJob.State.FAILED, requested_by=curator,
                                   files_total=3, bytes_total=12345, error=S3_ERROR)
    granted = AccessRequestFactory(model=hidden, status=AccessRequest.Status.APPROVED,
                                   expires_at=timezone.now() + timedelta(days=3)).user
    return {"public": public, "hidden": hidden, "job": job, "snapshot": snapshot, "granted": granted,
            "curator": curator, "researcher": researcher}


def _roles(lab):
    """(user, may know the hidden model) for the four roles."""
    return [(None, False), (lab["researcher"], False), (lab["granted"], True), (lab["curator"], True)]


def test_ingest_job_of_a_hidden_model_is_a_missing_job(lab):
    url = f"/api/v1/ingest-jobs/{lab['job'].pk}/"
    missing = api_client(None).get("/api/v1/ingest-jobs/999999/")
    for user, knows in _roles(lab):
        response = api_client(user).get(url)
        if not knows:
            assert response.status_code == 404 and response.json()["code"] == missing.json()["code"] == "job_not_found"
            assert "hidden-next" not in response.content.decode()
            continue
        body = response.json()
        assert response.status_code == 200 and body["model"] == "lab/hidden-next"
        curator = user == lab["curator"]
        # Raw storage errors and who ran the job: curators only, even for those who may see the model.
        assert (body["error"] == S3_ERROR) is curator and ("coda-internal" in response.content.decode()) is curator
        assert (body["requested_by"] == lab["curator"].username) is curator


def test_replacement_is_left_out_of_the_model_detail_and_list(lab):
    for user, knows in _roles(lab):
        client = api_client(user)
        detail = client.get("/api/v1/models/lab/open-old/").json()
        assert detail["replacement"] == ("lab/hidden-next" if knows else None)
        listed = {m["id"]: m for m in client.get("/api/v1/models/?provider=lab").json()["results"]}
        assert listed["lab/open-old"]["replacement"] == detail["replacement"]
        retirement = client.get("/api/v1/retirements/").json()["results"][0]
        assert retirement["replacement"] == detail["replacement"]


def test_has_replacement_counts_only_a_visible_replacement(lab):
    for user, knows in _roles(lab):
        client = api_client(user)
        replaced = [m["id"] for m in client.get("/api/v1/models/?has_replacement=true").json()["results"]]
        not_replaced = [m["id"] for m in client.get("/api/v1/models/?has_replacement=false").json()["results"]]
        assert ("lab/open-old" in replaced) is knows
        assert ("lab/open-old" in not_replaced) is not knows
        assert ("lab/hidden-next" in not_replaced) is knows  # it has no replacement itself


def test_retirement_feeds_leave_out_a_hidden_replacement(lab):
    for user, knows in _roles(lab):
        client = Client()
        if user is not None:
            client.force_login(user)
        feed = client.get("/api/v1/retirement-feed/").json()
        entry = next(e for e in feed if e["id"] == "lab/open-old")
        assert entry["replacement"] == ("lab/hidden-next" if knows else None)
        assert ("lab/hidden-next" in [e["id"] for e in feed]) is knows
        for url in ("/feeds/retirements.atom", "/feeds/retirements.ics"):
            text = client.get(url).content.decode()
            assert "lab/open-old" in text, url
            assert ("hidden-next" in text) is knows, (url, user)
            assert ("Hidden Next" in text) is knows, (url, user)
            if not knows:
                assert "Replacement: none recorded." in text.replace("\r\n ", ""), url


def test_hub_model_info_leaves_out_a_hidden_replacement(lab, staging_dir, monkeypatch, transactional_db):
    preserve_now(lab["public"], staging_dir, {"config.json": b"{}"}, monkeypatch)
    for user, knows in _roles(lab):
        response = api_client(user).get("/hf/api/models/lab/open-old")
        assert response.status_code == 200
        assert response.json()["coda"]["replacement"] == ("lab/hidden-next" if knows else None)
        text = response.content.decode() + str(dict(response.items()))
        assert ("hidden-next" in text) is knows, user


def test_model_page_leaves_out_a_hidden_replacement(lab):
    for user, knows in _roles(lab):
        client = Client()
        if user is not None:
            client.force_login(user)
        html = client.get("/models/lab/open-old/").content.decode()
        assert ("hidden-next" in html) is knows and ("Hidden Next" in html) is knows
        if not knows:
            assert "<dt>Replacement</dt><dd>none recorded</dd>" in html


def test_provider_counts_only_visible_models(lab):
    for user, knows in _roles(lab):
        client = api_client(user)
        detail = client.get("/api/v1/providers/lab/").json()
        assert detail["model_count"] == (2 if knows else 1)
        listed = {p["slug"]: p for p in client.get("/api/v1/providers/").json()["results"]}
        assert listed["lab"]["model_count"] == detail["model_count"]


def test_events_without_a_model_are_for_curators(lab):
    location = StorageLocation.objects.create(name="primary", kind="filesystem", root_path="/srv/coda/blobs")
    blob = Blob.objects.create(sha256="ab" * 32, size=10)
    key = f"blobs/sha256/ab/ab/{blob.sha256}"
    event_record(event_type=EventType.FIXITY, outcome=EventOutcome.FAILURE, agent="worker:w1", blob=blob,
                 location=location, detail={"expected": blob.sha256, "key": key, "error": "NoSuchKey"})
    event_record(event_type=EventType.REPAIR, outcome=EventOutcome.FAILURE, agent="worker:w1", blob=blob,
                 location=location, detail={"error": f"cannot read {key}", "unrecoverable": True})
    for user, _ in _roles(lab):
        response = api_client(user).get(f"/api/v1/events/?sha256={blob.sha256}")
        events = response.json()["results"]
        if user == lab["curator"]:
            assert {e["type"] for e in events} == {"fixity check", "repair"}
            assert any(e["detail"].get("key") == key for e in events)
        else:
            assert events == [] and key not in response.content.decode(), user


def test_event_details_of_visible_models_carry_no_storage_keys(lab):
    public = lab["public"]
    key = "blobs/sha256/cd/cd/" + "cd" * 32
    event_record(event_type=EventType.INGESTION, outcome=EventOutcome.SUCCESS, agent="worker:w1", model=public,
                 detail={"path": "config.json", "key": key, "deduplicated": False})
    for user, _ in _roles(lab):
        events = api_client(user).get("/api/v1/events/?model=lab/open-old").json()["results"]
        assert [e["detail"]["path"] for e in events] == ["config.json"]
        assert ("key" in events[0]["detail"]) is (user == lab["curator"])


def test_event_model_filter_does_not_confirm_a_hidden_model(lab):
    event_record(event_type=EventType.INGESTION, outcome=EventOutcome.SUCCESS, agent="worker:w1", model=lab["hidden"],
                 detail={"path": "x"})
    for user, knows in _roles(lab):
        events = api_client(user).get("/api/v1/events/?model=lab/hidden-next").json()["results"]
        assert bool(events) is knows


def test_snapshot_source_and_keys_are_for_curators(lab):
    public = lab["public"]
    snapshot = Snapshot.objects.create(model=public, state=Snapshot.State.FAILED, source=SOURCE,
                                       manifest_key="manifests/lab/open-old.json")
    for user, _ in _roles(lab):
        client = api_client(user)
        detail = client.get(f"/api/v1/models/lab/open-old/snapshots/{snapshot.pk}/")
        listed = client.get("/api/v1/models/lab/open-old/snapshots/").json()["results"]
        curator = user == lab["curator"]
        assert detail.status_code == 200
        assert (detail.json()["source"] == SOURCE) is curator
        assert (listed[0]["source"] == SOURCE) is curator
        assert (detail.json()["manifest_key"] == snapshot.manifest_key) is curator
        if not curator:
            assert "/srv/coda" not in detail.content.decode() and "manifests/" not in detail.content.decode()
