"""Free-text model search (catalogue.selectors.search_models) over the database-kept `search_text`; status as a
WHERE clause (status_q) equal to the derived status."""

import itertools
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalogue.models import AIModel, LifecycleStatus, lifecycle_status
from catalogue.selectors import search_models, status_expression, status_q
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


SEARCH_INDEX = "catalogue_aimodel_search_trgm"  # catalogue/migrations/0006 and 0009


@pytest.fixture
def catalogue(db):
    """2,000 models, bulk-loaded as an import would, with statistics current: big enough that the planner
    weighs a scan against the index on costs (on two rows it scans whatever indexes exist)."""
    provider = ProviderFactory(slug="lab")
    words = ["chat", "vision", "code", "audio", "embedding"]
    AIModel.objects.bulk_create(
        [
            AIModel(
                provider=provider, name=f"model-{i:04d}", repo_key=f"lab/model-{i:04d}", display_name=f"Model {i}",
                family=f"family-{i % 50}", description=f"A {words[i % 5]} model, number {i}. " * 3,
            )
            for i in range(2000)
        ],
        batch_size=500,
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE catalogue_aimodel")


def test_api_search_is_index_backed_on_postgresql(anon_client, catalogue):
    # The statement the API runs to find a page of matches (the narrow, ordered, limited one), as sent.
    with CaptureQueriesContext(connection) as queries:
        response = anon_client.get("/api/v1/models/", {"q": "MODEL-004 Chat", "page_size": 50})
    assert response.status_code == 200
    assert [m["id"] for m in response.json()["results"]] == ["lab/model-0040", "lab/model-0045"]  # every database
    search_sql = next(q["sql"] for q in queries.captured_queries if "LIKE" in q["sql"])
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [SEARCH_INDEX])
            assert "gin (upper(search_text) gin_trgm_ops)" in cursor.fetchone()[0]
            # Planner left to its own costs (no enable_seqscan tricks): it picks the trigram index over a scan.
            cursor.execute("EXPLAIN " + search_sql)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        assert f"Bitmap Index Scan on {SEARCH_INDEX}" in plan, plan
        assert "Seq Scan on catalogue_aimodel " not in plan, plan
    else:  # SQLite has no trigram index: the same LIKE per term, over a scan (fine at its scale)
        assert connection.vendor == "sqlite"
        assert search_sql.count("LIKE") == 2


def test_status_q_selects_exactly_the_models_of_each_derived_status(db):
    today = date(2026, 6, 1)
    days = [None, today - timedelta(days=1), today, today + timedelta(days=1)]
    provider = ProviderFactory(slug="lab")
    AIModel.objects.bulk_create(
        [
            AIModel(provider=provider, name=f"m{n}", repo_key=f"lab/m{n}", legacy_on=legacy, deprecated_on=deprecated, retires_on=retires)
            for n, (legacy, deprecated, retires) in enumerate(itertools.product(days, repeat=3))
            if not (deprecated and retires and retires < deprecated)  # the model's check constraint
        ]
    )
    derived = {
        m.name: lifecycle_status(deprecated_on=m.deprecated_on, legacy_on=m.legacy_on, retires_on=m.retires_on, today=today)
        for m in AIModel.objects.all()
    }
    assert set(derived.values()) == set(LifecycleStatus)  # every status is represented
    annotated = AIModel.objects.annotate(lifecycle_status=status_expression(today))
    for size in range(len(LifecycleStatus) + 1):
        for statuses in itertools.combinations(LifecycleStatus, size):
            expected = sorted(name for name, status in derived.items() if status in statuses)
            assert sorted(AIModel.objects.filter(status_q(statuses, today)).values_list("name", flat=True)) == expected
            assert sorted(annotated.filter(lifecycle_status__in=statuses).values_list("name", flat=True)) == expected
