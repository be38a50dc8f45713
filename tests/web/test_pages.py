"""Web pages: what each role sees (the access matrix), search and filters, page weight, sign-up, tokens."""

from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone
from knox.models import AuthToken

from catalogue.models import AccessRequest
from tests.access_matrix import CASES, ROLES, case
from tests.archive.helpers import preserve_now
from tests.factories import AIModelFactory, ProviderFactory, UserFactory, role_users

FILES = {"config.json": b'{"layers": 2}', "weights/model.safetensors": b"\x00" * 4096}


def client_for(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def page(client, url, status=200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.content.decode()


@pytest.fixture
def preserved(transactional_db, staging_dir, monkeypatch):
    model = AIModelFactory(provider=ProviderFactory(slug="lab", name="Lab"), name="gated-model", display_name="Gated Model")
    snapshot = preserve_now(model, staging_dir, FILES, monkeypatch)
    return model, snapshot


# --- the access matrix on pages ----------------------------------------------------------------

LINK = 'href="/api/v1/models/lab/gated-model/snapshots/{rev}/files/weights/model.safetensors"'
# Every row of the shared table whose model is publicly listed: the model's file access, and a snapshot's override.
PUBLIC_METADATA = [row for row in CASES if row.metadata == "public"]


@pytest.mark.parametrize("row", PUBLIC_METADATA, ids=lambda row: row.id)
def test_model_page_download_links_follow_file_access(preserved, row):
    from catalogue.models import FileAccess

    model, snapshot = preserved
    model.file_access = row.files
    model.save()
    snapshot.file_access = row.snapshot
    snapshot.save()
    users = role_users(model)
    for role in ROLES:
        html = page(client_for(users[role]), "/models/lab/gated-model/")
        assert (LINK.format(rev=snapshot.revision) in html) is row.reads_files(role), (row.id, role)
        # Every role sees the file table and digests; only the link to the bytes differs.
        assert "weights/model.safetensors" in html and snapshot.files.get(path="config.json").blob.sha256 in html
        # The level shown is the one that applies: the snapshot's when it overrides the model's.
        assert f"<dt>File access</dt><dd>{FileAccess(row.level).label}</dd>" in html, (row.id, role)


def test_gated_model_page_tells_each_role_what_to_do(preserved):
    model, _ = preserved
    users = role_users(model)
    anonymous = page(client_for(None), "/models/lab/gated-model/")
    assert "Sign in</a> or" in anonymous and 'id="access-request-form"' not in anonymous
    researcher = page(client_for(users["researcher"]), "/models/lab/gated-model/")
    assert 'id="access-request-form"' in researcher and "no current access grant" in researcher
    expired = page(client_for(users["expired"]), "/models/lab/gated-model/")
    assert 'id="access-request-form"' in expired and 'r-expired">expired</span>' in expired
    granted = page(client_for(users["granted"]), "/models/lab/gated-model/")
    assert "You may download" in granted and "your access expires" in granted
    assert 'id="access-request-form"' not in granted
    curator = page(client_for(users["curator"]), "/models/lab/gated-model/")
    assert "You may download" in curator and "pending request" in curator




def test_restricted_metadata_hidden_on_every_page(preserved):
    model, _ = preserved
    model.metadata_access = "restricted"
    model.retires_on = timezone.localdate() + timedelta(days=30)
    model.save()
    users = role_users(model)
    for role in ROLES:
        client = client_for(users[role])
        status = case("restricted", model.file_access).page_status(role)
        page(client, "/models/lab/gated-model/", status=status)
        visible = status == 200
        for url in ["/", "/?q=gated", "/providers/lab/", "/retirements/upcoming/"]:
            assert ("gated-model" in page(client, url)) is visible, (role, url)
        providers = page(client, "/providers/")
        assert ('<td class="num">1</td>' in providers) is visible, role


def test_model_page_shows_life_retirement_replacement_and_health(preserved, curator):
    from catalogue import services

    model, snapshot = preserved
    successor = AIModelFactory(provider=model.provider, name="successor", display_name="Successor")
    model.release_date = date(2023, 3, 1)
    model.description = "**Bold** card <script>alert(1)</script>"
    model.save()
    services.retirement_register(
        model=model,
        retires_on=timezone.localdate() + timedelta(days=60),
        deprecated_on=timezone.localdate() - timedelta(days=1),
        reason_category="superseded",
        reason="A newer model does better.",
        replacement=successor,
        preserved_for_lifetime=True,
        registered_by=curator,
    )
    html = page(client_for(None), "/models/lab/gated-model/")
    assert '<time datetime="2023-03-01">' in html and "(planned)" in html and 'aria-current="step"' in html
    assert "A newer model does better." in html and "for the lifetime of the organisation" in html
    assert 'href="/models/lab/successor/"' in html
    assert "<strong>Bold</strong>" in html and "<script>alert" not in html
    assert "2/2 files verified" in html and 'p-preserved">preserved' in html
    assert f'data-copy="{snapshot.files.get(path="config.json").blob.sha256}"' in html


def test_unknown_pages_are_404(db):
    client = client_for(None)
    page(client, "/models/lab/nothing/", status=404)
    page(client, "/providers/nobody/", status=404)


# --- search and filters ------------------------------------------------------------------------


@pytest.fixture
def catalogue(transactional_db, staging_dir, monkeypatch):
    today = timezone.localdate()
    anthropic = ProviderFactory(slug="anthropic", name="Anthropic")
    openai = ProviderFactory(slug="openai", name="OpenAI")
    rows = {
        "opus": AIModelFactory(provider=anthropic, name="claude-3-opus", description="frontier",
                               deprecated_on=date(2024, 6, 1), retires_on=date(2025, 1, 5)),
        "sonnet": AIModelFactory(provider=anthropic, name="claude-sonnet-9", description="fast"),
        "gpt": AIModelFactory(provider=openai, name="gpt-4o", description="omni vision",
                              deprecated_on=today - timedelta(days=5), retires_on=today + timedelta(days=40)),
        "davinci": AIModelFactory(provider=openai, name="davinci", deprecated_on=date(2022, 1, 1),
                                  retires_on=date(2024, 1, 4)),
    }
    preserve_now(rows["opus"], staging_dir, {"w.bin": b"opus"}, monkeypatch)
    return rows


def names(html: str, rows) -> set[str]:
    return {key for key, model in rows.items() if f'href="/models/{model.provider.slug}/{model.name}/"' in html}


@pytest.mark.parametrize(
    "query,expected",
    [
        ("", {"opus", "sonnet", "gpt", "davinci"}),
        ("q=vision", {"gpt"}),
        ("q=claude+fast", {"sonnet"}),
        ("provider=openai", {"gpt", "davinci"}),
        ("status=retired", {"opus", "davinci"}),
        ("status=deprecated", {"gpt"}),
        ("status=active", {"sonnet"}),
        ("retirement_year=2024", {"davinci"}),
        ("preservation=preserved", {"opus"}),
        ("preservation=not_preserved", {"sonnet", "gpt", "davinci"}),
        ("provider=anthropic&preservation=preserved&status=retired", {"opus"}),
    ],
)
def test_home_search_and_filters(catalogue, query, expected):
    html = page(client_for(None), f"/?{query}")
    assert names(html, catalogue) == expected, query


def test_upcoming_retirements_lists_future_dates_only(catalogue):
    html = page(client_for(None), "/retirements/upcoming/")
    assert names(html, catalogue) == {"gpt"}


def test_provider_page_lists_its_models(catalogue):
    html = page(client_for(None), "/providers/anthropic/")
    assert names(html, catalogue) == {"opus", "sonnet"}


def test_preservation_needs_every_file_verified(catalogue):
    from archive.models import Replica

    from archive.preservation import models_refresh_for_blobs

    Replica.objects.update(state=Replica.State.CORRUPT)
    models_refresh_for_blobs(Replica.objects.values_list("blob_id", flat=True))  # as the audit does
    assert names(page(client_for(None), "/?preservation=preserved"), catalogue) == set()
    assert names(page(client_for(None), "/?preservation=degraded"), catalogue) == {"opus"}


# --- page weight -------------------------------------------------------------------------------


def test_pages_stay_under_100_kb(transactional_db, staging_dir, monkeypatch):
    provider = ProviderFactory(slug="big")
    for i in range(130):
        AIModelFactory(provider=provider, name=f"model-{i:03d}", description="x" * 50, retires_on=date(2030, 1, 1))
    model = AIModelFactory(provider=provider, name="many-files", file_access="public")
    files = {f"shards/part-{i:04d}-of-0300.safetensors": str(i).encode() for i in range(300)}
    preserve_now(model, staging_dir, files, monkeypatch)
    client = client_for(None)
    for url in ["/", "/?page=2", "/providers/big/", "/retirements/upcoming/", "/models/big/many-files/",
                "/models/big/many-files/?files_page=6"]:
        response = client.get(url)
        assert response.status_code == 200 and len(response.content) < 100_000, (url, len(response.content))
    first = page(client, "/models/big/many-files/")
    assert "part-0000-of" in first and "part-0299-of" not in first and "Page 1 of 6" in first
    assert "part-0299-of" in page(client, "/models/big/many-files/?files_page=6")
    assert "Page 1 of 3" in page(client, "/")


def test_model_page_with_a_large_dossier_stays_under_100_kb(db, curator):
    from dossier import services as dossier

    model = AIModelFactory(provider=ProviderFactory(slug="lab"), name="talkative", retires_on=date(2025, 1, 1))
    for n in range(8):
        turns = [{"speaker": "interviewer", "text": "What would you like?"}] + [
            {"speaker": "model", "text": f"Request number {i}: " + "please keep this " * 10} for i in range(60)
        ]
        interview = dossier.interview_create(model=model, protocol="exit-v1", conducted_on=f"2025-0{n + 1}-01",
                                             summary="Summary " * 200, turns=turns)
        for i in range(60 if n == 7 else 3):
            dossier.model_request_create(interview=interview, turn_index=i + 2, quote=f"Request number {i}",
                                         category="other")
    dossier.report_publish(model=model, title="Report", body="A long finding. " * 5000)
    for viewer in (None, curator):
        html = page(client_for(viewer), "/models/lab/talkative/")
        assert len(html) < 100_000, len(html)
        assert "all interviews</a>" in html  # 8 recorded, the newest 5 shown
        assert "And 20 more requests" in html and "Read the full report" in html
    assert len(page(client_for(curator), "/providers/")) < 100_000
    assert len(page(client_for(curator), "/account/")) < 100_000


# --- requesting access on the page -------------------------------------------------------------


def test_request_access_from_the_model_page(preserved, researcher):
    client = client_for(researcher)
    url = "/models/lab/gated-model/access-request/"
    missing_terms = client.post(url, {"purpose": "study", "affiliation": "Uni"})
    assert missing_terms.status_code == 400 and "You must accept the access terms" in missing_terms.content.decode()
    response = client.post(url, {"purpose": "study", "affiliation": "Uni", "accepted_terms": "on"}, follow=True)
    html = response.content.decode()
    assert "was sent" in html and 'r-pending">pending' in html and 'id="access-request-form"' not in html
    assert AccessRequest.objects.get().user == researcher


def test_anonymous_request_goes_to_sign_in(preserved):
    response = client_for(None).post("/models/lab/gated-model/access-request/", {"purpose": "x"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_decision_shows_on_the_model_page(preserved, researcher, curator):
    from catalogue import access

    model, _ = preserved
    request = access.access_request_create(
        user=researcher, model=model, purpose="p", affiliation="a", accepted_terms=True
    )
    access.access_request_decide(access_request=request, decided_by=curator, decision="deny", note="Tell us more")
    html = page(client_for(researcher), "/models/lab/gated-model/")
    assert 'r-denied">denied' in html and "Tell us more" in html and 'id="access-request-form"' in html
    account = page(client_for(researcher), "/account/")
    assert "lab/gated-model" in account and "denied" in account


# --- accounts ----------------------------------------------------------------------------------


def test_self_signup_and_sign_in_out(db):
    client = Client()
    response = client.post(
        "/signup/",
        {"username": "ada", "email": "ada@example.org", "password1": "a-long-unusual-pass-42", "password2": "a-long-unusual-pass-42"},
    )
    assert response.status_code == 302 and response["Location"] == "/account/"
    assert "ada" in page(client, "/account/")
    client.post("/accounts/logout/")
    assert page(client, "/account/", status=302) == ""
    response = client.post("/accounts/login/", {"username": "ada", "password": "a-long-unusual-pass-42"})
    assert response.status_code == 302
    assert "Account (ada)" in page(client, "/")


def test_signup_off_requires_an_invitation(db, settings, curator):
    settings.CODA_SELF_SIGNUP = False
    assert "by invitation" in page(Client(), "/signup/", status=403)
    form = {"username": "bob", "email": "x@example.org", "password1": "a-long-unusual-pass-42", "password2": "a-long-unusual-pass-42"}
    assert Client().post("/signup/", form).status_code == 403
    assert Client().post("/signup/", {**form, "invitation": "forged"}).status_code == 403
    html = client_for(curator).post("/account/invitations/", {"email": "bob@example.org"}).content.decode()
    link = html.split('id="invite-url">')[1].split("<")[0]
    token = link.split("invitation=")[1]
    response = Client().post("/signup/", {**form, "invitation": token})
    assert response.status_code == 302
    from django.contrib.auth import get_user_model

    assert get_user_model().objects.get(username="bob").email == "bob@example.org"
    # An invitation makes one account.
    again = {**form, "username": "bob2", "invitation": token}
    assert Client().post("/signup/", again).status_code == 403
    settings.CODA_SELF_SIGNUP = True
    response = Client().post("/signup/", again)
    assert response.status_code == 409 and "already been used" in response.content.decode()
    assert not get_user_model().objects.filter(username="bob2").exists()


def test_home_filters_offer_only_what_the_user_may_see(db, curator):
    from datetime import date

    AIModelFactory(provider=ProviderFactory(slug="openlab", name="Open Lab"), name="seen", retires_on=date(2024, 5, 1))
    AIModelFactory(provider=ProviderFactory(slug="secretlab", name="Secret Lab"), name="hidden",
                   metadata_access="restricted", retires_on=date(2031, 5, 1))
    public = page(Client(), "/")
    assert "Open Lab" in public and "Secret Lab" not in public
    assert 'value="2024"' in public and 'value="2031"' not in public
    curated = page(client_for(curator), "/")
    assert "Secret Lab" in curated and 'value="2031"' in curated


def test_researchers_cannot_invite(researcher):
    assert client_for(researcher).post("/account/invitations/", {"email": "z@example.org"}).status_code == 404


def test_personal_api_tokens(researcher, anon_client):
    client = client_for(researcher)
    response = client.post("/account/tokens/", {"expires_days": "30"})
    html = response.content.decode()
    assert response["Cache-Control"] == "no-store"
    token = html.split('id="new-token">')[1].split("<")[0]
    anon_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert anon_client.get("/api/v1/access-requests/").status_code == 200
    row = AuthToken.objects.get(user=researcher)
    assert row.expiry is not None and token not in page(client, "/account/")  # shown once
    other = UserFactory(username="other")
    _, other_token = AuthToken.objects.create(user=other, expiry=None)
    other_key = AuthToken.objects.get(user=other).token_key
    assert client.post(f"/account/tokens/{other_key}/revoke/").status_code == 404
    assert client.post(f"/account/tokens/{row.token_key}/revoke/").status_code == 302
    assert anon_client.get("/api/v1/access-requests/").status_code == 401
    assert AuthToken.objects.filter(user=other).exists()


def test_model_page_shows_the_sealed_snapshot_its_inspection_signature_and_records(transactional_db, staging_dir,
                                                                                    monkeypatch, settings):
    """The sealed snapshot's block: parameters and dtypes from its inspection, the signature, a summary of its
    events (fixity checks included, counted), links to manifest, bag, signature and events — bag and signature only
    for who may read the files — and the huggingface_hub command; nothing the page's CSP would block."""
    import re
    from pathlib import Path

    import numpy as np
    from safetensors.numpy import save as safetensors_save

    from archive.assurance import fixity
    from archive.descriptions import signing
    from archive.models import Replica

    signing.key_generate(Path(settings.CODA_SIGNING_KEY_FILE))
    model = AIModelFactory(provider=ProviderFactory(slug="lab", name="Lab"), name="weights", file_access="public")
    weights = safetensors_save({"w": np.zeros((3, 4), dtype=np.float32), "b": np.ones(5, dtype=np.float16)})
    snapshot = preserve_now(model, staging_dir, {"model.safetensors": weights, "README.md": b"hi"}, monkeypatch)
    fixity.audit_replicas(Replica.objects.all(), agent="test")
    base = f"/api/v1/models/lab/weights/snapshots/{snapshot.revision}"

    html = page(client_for(None), "/models/lab/weights/")
    sealed = html[html.index('id="sealed-h"'):html.index("</table>", html.index('id="sealed-events"'))]
    assert f"<code>{snapshot.revision}</code>" in sealed
    assert "<dt>Parameters</dt><dd>17 (5 F16, 12 F32)</dd>" in sealed
    assert "<code>F16</code>, <code>F32</code>" in sealed
    assert "signed (OpenSSF model-signing)" in sealed and snapshot.signing_key.key_id[:16] in sealed
    for href in (f"{base}/manifest", f"{base}/manifest.sha256", f"{base}/bag.tar", f"{base}/model.sig",
                 "/api/v1/events/?model=lab/weights"):
        assert f'href="{href}"' in sealed, href
    assert re.search(r"<td>fixity check</td><td>success</td><td class=\"num\">2</td>", sealed), sealed
    assert re.search(r"<td>ingestion</td><td>success</td>", sealed)
    assert f"HF_ENDPOINT=http://testserver/hf hf download lab/weights --revision {snapshot.revision}" in sealed
    assert "<style" not in html and not re.search(r"\sstyle=", html) and not re.search(r"\son[a-z]+=", html)

    model.file_access = "gated"
    model.save()
    gated = page(client_for(None), "/models/lab/weights/")
    assert f'href="{base}/manifest"' in gated and "<dt>Parameters</dt><dd>17" in gated
    assert f'href="{base}/bag.tar"' not in gated and f'href="{base}/model.sig"' not in gated
    assert "hf download" not in gated

    snapshot.signature = ""
    snapshot.save()
    assert "not signed" in page(client_for(None), "/models/lab/weights/")
