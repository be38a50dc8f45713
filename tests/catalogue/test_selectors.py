"""Free-text model search (catalogue.selectors.search_models) over the database-kept `search_text`."""

import pytest
from django.db import connection

from catalogue.models import AIModel
from catalogue.selectors import search_models
from tests.factories import AIModelFactory, ProviderFactory

pytestmark = pytest.mark.django_db


def found(query: str) -> list[str]:
    return sorted(m.repo_key for m in search_models(AIModel.objects.all(), query))


@pytest.fixture
def models(db):
    anthropic = ProviderFactory(slug="anthropic")
    openai = ProviderFactory(slug="openai")
    AIModelFactory(
        provider=anthropic, name="claude-3-opus-20240229", display_name="Claude 3 Opus", family="Claude 3",
        description="Frontier model, retired in 2026.", aliases=["claude-3-opus-latest"],
    )
    AIModelFactory(provider=openai, name="gpt-4o", display_name="GPT-4o", family="GPT-4o", description="omni, vision")


@pytest.mark.parametrize(
    "query,expected",
    [
        ("anthropic/claude-3-opus", ["anthropic/claude-3-opus-20240229"]),  # the `provider/name` id
        ("OPENAI", ["openai/gpt-4o"]),  # provider slug, any case
        ("claude 3 opus", ["anthropic/claude-3-opus-20240229"]),  # every term must occur somewhere
        ("opus vision", []),  # ...in the same model
        ("frontier", ["anthropic/claude-3-opus-20240229"]),  # description
        ("opus-latest", ["anthropic/claude-3-opus-20240229"]),  # aliases
        ("gpt-4o", ["openai/gpt-4o"]),
        ("4oomni", []),  # never across two fields (family "GPT-4o" then description "omni")
        ("", ["anthropic/claude-3-opus-20240229", "openai/gpt-4o"]),
    ],
)
def test_search_fields_and_terms(models, query, expected):
    assert found(query) == expected


def test_search_text_follows_edits_and_provider_renames(models):
    model = AIModel.objects.get(name="gpt-4o")
    model.description = "retired with a blog"
    model.save()
    assert found("blog") == ["openai/gpt-4o"]
    assert found("vision") == []
    provider = model.provider
    provider.slug = "oai"
    provider.save()
    assert found("oai/gpt") == ["oai/gpt-4o"]
    assert found("openai") == []


def test_search_text_is_kept_by_the_database_for_bulk_writes(models):
    AIModel.objects.filter(name="gpt-4o").update(display_name="Omni Four")
    assert found("omni four") == ["openai/gpt-4o"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="trigram index exists on PostgreSQL only")
def test_postgresql_search_uses_trigram_index(models):
    with connection.cursor() as cursor:
        # Two rows would be scanned anyway: forbid plain scans so the plan shows the index can serve the LIKE.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        plan = search_models(AIModel.objects.order_by(), "opus").only("pk").explain()
    assert "Bitmap Index Scan on catalogue_aimodel_search_trgm" in plan, plan
