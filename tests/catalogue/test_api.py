from datetime import date, timedelta

import pytest
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from catalogue.models import AIModel, PlatformAvailability, Retirement, Tag
from tests.access_matrix import ROLES, case
from tests.factories import AIModelFactory, ProviderFactory, role_users

pytestmark = pytest.mark.django_db
MODELS = "/api/v1/models/"


def ids(response):
    return sorted(row["id"] for row in response.json()["results"])


@pytest.fixture
def catalogue(db):
    today = timezone.localdate()
    anthropic = ProviderFactory(slug="anthropic", name="Anthropic")
    openai = ProviderFactory(slug="openai", name="OpenAI")
    opus4 = AIModelFactory(provider=anthropic, name="claude-opus-4", family="Claude 4", description="frontier")
    opus3 = AIModelFactory(
        provider=anthropic,
        name="claude-3-opus-20240229",
        display_name="Claude 3 Opus",
        family="Claude 3",
        deprecated_on=today - timedelta(days=300),
        retires_on=today - timedelta(days=100),
        replacement=opus4,
    )
    gpt = AIModelFactory(
        provider=openai,
        name="gpt-4o",
        family="GPT-4o",
        deprecated_on=today - timedelta(days=10),
        retires_on=today + timedelta(days=50),
        description="omni model with vision",
    )
    legacy = AIModelFactory(provider=openai, name="gpt-3.5-turbo", family="GPT-3.5", legacy_on=today - timedelta(days=5))
    vision = Tag.objects.create(slug="vision", name="Vision")
    gpt.tags.add(vision)
    return {"opus3": opus3, "opus4": opus4, "gpt": gpt, "legacy": legacy}


def test_anonymous_reads_public_data(anon_client, catalogue):
    response = anon_client.get(MODELS)
    assert response.status_code == 200
    assert len(response.json()["results"]) == 4
    detail = anon_client.get(f"{MODELS}anthropic/claude-3-opus-20240229/").json()
    assert detail["status"] == "retired"
    assert detail["replacement"] == "anthropic/claude-opus-4"
    assert detail["notice_period_days"] == 200


def test_unknown_model_is_404_with_error_shape(anon_client, db):
    response = anon_client.get(f"{MODELS}nobody/nothing/")
    assert response.status_code == 404
    body = response.json()
    assert body["status"] == 404 and body["code"] == "model_not_found"
    assert "nobody/nothing" in body["detail"]


@pytest.mark.parametrize(
    "query,expected",
    [
        ("status=retired", ["anthropic/claude-3-opus-20240229"]),
        ("status=deprecated", ["openai/gpt-4o"]),
        ("status=legacy", ["openai/gpt-3.5-turbo"]),
        ("status=active", ["anthropic/claude-opus-4"]),
        ("provider=openai", ["openai/gpt-3.5-turbo", "openai/gpt-4o"]),
        ("family=claude%204", ["anthropic/claude-opus-4"]),
        ("has_replacement=true", ["anthropic/claude-3-opus-20240229"]),
        ("tag=vision", ["openai/gpt-4o"]),
        ("q=vision", ["openai/gpt-4o"]),
        ("q=opus", ["anthropic/claude-3-opus-20240229", "anthropic/claude-opus-4"]),
    ],
)
def test_model_filters(anon_client, catalogue, query, expected):
    response = anon_client.get(f"{MODELS}?{query}")
    assert response.status_code == 200, response.json()
    assert ids(response) == expected


def test_provider_id_filter(anon_client, catalogue):
    provider_id = catalogue["gpt"].provider_id
    assert ids(anon_client.get(f"{MODELS}?provider_id={provider_id}")) == ["openai/gpt-3.5-turbo", "openai/gpt-4o"]


def test_retiring_between_filter(anon_client, catalogue):
    today = timezone.localdate()
    after, before = today - timedelta(days=150), today + timedelta(days=60)
    assert ids(anon_client.get(f"{MODELS}?retiring_after={after}&retiring_before={before}")) == [
        "anthropic/claude-3-opus-20240229",
        "openai/gpt-4o",
    ]
    assert ids(anon_client.get(f"{MODELS}?retiring_after={today}")) == ["openai/gpt-4o"]


def test_bad_filter_value_is_400(anon_client, catalogue):
    response = anon_client.get(f"{MODELS}?status=sleeping")
    assert response.status_code == 400
    assert "status" in response.json()["errors"]


def test_ordering_by_retirement_and_cursor_pagination(anon_client, catalogue):
    first = anon_client.get(f"{MODELS}?ordering=retires_on&page_size=1").json()
    assert first["results"][0]["id"] == "anthropic/claude-3-opus-20240229"
    second = anon_client.get(first["next"]).json()
    assert second["results"][0]["id"] == "openai/gpt-4o"
    seen = [first["results"][0]["id"], second["results"][0]["id"]]
    page = second
    while page["next"]:
        page = anon_client.get(page["next"]).json()
        seen += [row["id"] for row in page["results"]]
    assert sorted(seen) == sorted(m.repo_id for m in AIModel.objects.all())


def test_list_query_count_is_constant(anon_client, django_assert_num_queries, db):
    for i in range(30):
        model = AIModelFactory(name=f"m{i}")
        model.tags.add(Tag.objects.get_or_create(slug=f"t{i % 3}", name="t")[0])
        PlatformAvailability.objects.create(model=model, platform="p", identifier=f"m{i}")
        Retirement.objects.create(model=model, reason_category="cost")
    # page of ids, the page's rows, tags, platforms
    with django_assert_num_queries(4) as small:
        anon_client.get(f"{MODELS}?page_size=5")
    with django_assert_num_queries(4) as large:
        response = anon_client.get(f"{MODELS}?page_size=30")
    assert len(response.json()["results"]) == 30
    assert len(small.captured_queries) == len(large.captured_queries)


# --- writes under each role -------------------------------------------------------------------

RETIREMENT = {
    "model": "anthropic/claude-opus-4",
    "deprecated_on": "2026-01-01",
    "retires_on": "2026-07-01",
    "reason_category": "superseded",
    "reason": "A newer model serves users better.",
    "access_after_retirement": "by_request",
    "preservation_statement": "Weights preserved.",
    "preserved_for_lifetime": True,
}


def test_anonymous_write_is_401(anon_client, catalogue):
    response = anon_client.post("/api/v1/retirements/", RETIREMENT, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Bearer"


def test_researcher_write_is_403(researcher_client, catalogue):
    for url, body in [
        ("/api/v1/retirements/", RETIREMENT),
        (MODELS, {"provider": "openai", "name": "new"}),
        ("/api/v1/providers/", {"slug": "new"}),
    ]:
        response = researcher_client.post(url, body, format="json")
        assert response.status_code == 403, url
        assert response.json()["code"] == "permission_denied"
    assert researcher_client.patch(f"{MODELS}openai/gpt-4o/", {"family": "x"}, format="json").status_code == 403
    assert not Retirement.objects.exists()


def test_curator_registers_retirement(curator_client, catalogue):
    response = curator_client.post("/api/v1/retirements/", RETIREMENT, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["model"] == "anthropic/claude-opus-4"
    assert body["registered_by"] == "curator"
    assert body["notice_period_days"] == 181
    retirement = Retirement.objects.get()
    assert retirement.model.retires_on == date(2026, 7, 1)
    assert curator_client.get(body["url"]).json()["id"] == retirement.pk
    listed = curator_client.get("/api/v1/retirements/?provider=anthropic").json()["results"]
    assert [r["model"] for r in listed] == ["anthropic/claude-opus-4"]
    assert curator_client.get("/api/v1/retirements/?provider=openai").json()["results"] == []


def test_curator_updates_retirement(curator_client, catalogue):
    url = curator_client.post("/api/v1/retirements/", RETIREMENT, format="json").json()["url"]
    response = curator_client.patch(url, {"retires_on": "2026-08-01", "access_note": "paid users"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["retires_on"] == "2026-08-01"
    assert response.json()["access_note"] == "paid users"


def test_retirement_validation_errors_are_400(curator_client, catalogue):
    bad = dict(RETIREMENT, retires_on="2025-01-01")
    response = curator_client.post("/api/v1/retirements/", bad, format="json")
    assert response.status_code == 400
    assert "before the deprecation announcement" in response.json()["detail"]
    missing = dict(RETIREMENT, model="anthropic/nope")
    response = curator_client.post("/api/v1/retirements/", missing, format="json")
    assert response.status_code == 400
    assert "anthropic/nope" in response.json()["errors"]["model"][0]
    selfrep = dict(RETIREMENT, replacement="anthropic/claude-opus-4")
    response = curator_client.post("/api/v1/retirements/", selfrep, format="json")
    assert response.status_code == 400 and "itself" in response.json()["detail"]
    assert not Retirement.objects.exists()


def test_curator_creates_and_updates_models_and_providers(curator_client, db):
    assert curator_client.post("/api/v1/providers/", {"slug": "acme", "name": "Acme"}, format="json").status_code == 201
    response = curator_client.post(
        MODELS, {"provider": "acme", "name": "acme-1", "tags": ["open-weights"], "parameter_count": 7}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["tags"] == ["open-weights"]
    dup = curator_client.post(MODELS, {"provider": "acme", "name": "acme-1"}, format="json")
    assert dup.status_code == 409 and dup.json()["code"] == "model_exists"
    bad = curator_client.post(MODELS, {"provider": "acme", "name": "bad name"}, format="json")
    assert bad.status_code == 400 and "name" in bad.json()["errors"]
    patched = curator_client.patch(f"{MODELS}acme/acme-1/", {"family": "Acme 1"}, format="json")
    assert patched.json()["family"] == "Acme 1"
    assert patched.json()["tags"] == ["open-weights"]
    retagged = curator_client.patch(f"{MODELS}acme/acme-1/", {"tags": ["chat", "legacy"]}, format="json")
    assert sorted(retagged.json()["tags"]) == ["chat", "legacy"]  # the answer shows the new tags, not the prefetched
    listed = curator_client.get(MODELS, {"provider": "acme"}).json()["results"]
    assert [sorted(m["tags"]) for m in listed] == [["chat", "legacy"]]
    assert curator_client.get("/api/v1/providers/acme/").json()["model_count"] == 1


def test_staff_user_is_curator(db):
    from tests.factories import UserFactory

    staff = UserFactory(username="staff", is_staff=True)
    client = APIClient()
    client.force_authenticate(staff)
    assert client.post("/api/v1/providers/", {"slug": "x"}, format="json").status_code == 201


def test_token_scheme_token_is_accepted(curator, catalogue):
    _, token = AuthToken.objects.create(user=curator, expiry=None)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.post("/api/v1/providers/", {"slug": "viatoken"}, format="json").status_code == 201


def test_bad_expired_and_revoked_tokens_are_401(curator, catalogue):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer coda_notavalidtoken")
    assert client.get(MODELS).status_code == 401
    instance, token = AuthToken.objects.create(user=curator, expiry=timedelta(days=1))
    instance.expiry = timezone.now() - timedelta(seconds=1)
    instance.save()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get(MODELS).status_code == 401
    instance, token = AuthToken.objects.create(user=curator, expiry=None)
    instance.delete()  # revoked
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get(MODELS).status_code == 401


def test_tokens_are_hashed_at_rest(curator):
    instance, token = AuthToken.objects.create(user=curator, expiry=None)
    assert token.startswith("coda_")
    assert token not in instance.digest and instance.digest != token


def test_schema_and_docs(anon_client, db):
    schema = anon_client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/models/{provider}/{name}/" in schema.content
    docs = anon_client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"cdn.jsdelivr" not in docs.content


def test_restricted_metadata_is_hidden_from_anonymous_and_researchers(anon_client, researcher_client, curator_client, catalogue):
    from catalogue.models import AccessRequest

    gpt = catalogue["gpt"]
    gpt.metadata_access = "restricted"
    gpt.save()
    for client in (anon_client, researcher_client):
        assert "openai/gpt-4o" not in ids(client.get(MODELS))
        assert client.get(f"{MODELS}openai/gpt-4o/").status_code == 404
    assert "openai/gpt-4o" in ids(curator_client.get(MODELS))
    AccessRequest.objects.create(
        user=researcher_client.user, model=gpt, purpose="study", affiliation="lab", accepted_terms=True, status="approved"
    )
    assert researcher_client.get(f"{MODELS}openai/gpt-4o/").status_code == 200
    assert "openai/gpt-4o" in ids(researcher_client.get(MODELS))


@pytest.mark.parametrize("metadata", ["public", "restricted"])
def test_model_detail_and_list_follow_the_access_matrix(catalogue, metadata):
    """All five roles, from the shared table (tests/access_matrix.py): detail 200/404 and list membership agree."""
    gpt = catalogue["gpt"]
    gpt.metadata_access = metadata
    gpt.save()
    row = case(metadata, gpt.file_access)
    users = role_users(gpt)
    for role in ROLES:
        client = APIClient()
        if users[role] is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {AuthToken.objects.create(user=users[role], expiry=None)[1]}")
        assert client.get(f"{MODELS}openai/gpt-4o/").status_code == row.page_status(role), role
        assert ("openai/gpt-4o" in ids(client.get(MODELS))) is row.sees_model(role), role
        assert ("openai/gpt-4o" in ids(client.get(f"{MODELS}?q=gpt"))) is row.sees_model(role), role


@pytest.mark.parametrize("ordering", ["id", "-id", "retires_on", "created_at", "-updated_at"])
def test_every_ordering_keeps_the_query_count(anon_client, django_assert_max_num_queries, ordering, db):
    for i in range(12):
        AIModelFactory(name=f"m{i:02d}")
    with django_assert_max_num_queries(4):
        first = anon_client.get(f"{MODELS}?ordering={ordering}&page_size=5").json()
    with django_assert_max_num_queries(4):
        second = anon_client.get(first["next"]).json()
    ids_seen = [r["id"] for r in first["results"] + second["results"]]
    assert len(set(ids_seen)) == 10


def test_repo_key_follows_a_provider_rename(db):
    model = AIModelFactory(provider=ProviderFactory(slug="old"), name="m")
    assert model.repo_key == "old/m"
    provider = model.provider
    provider.slug = "new"
    provider.save()
    model.refresh_from_db()
    assert model.repo_key == "new/m"
