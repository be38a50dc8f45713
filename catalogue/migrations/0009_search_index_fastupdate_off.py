import logging

from django.db import migrations

logger = logging.getLogger("coda.catalogue")

SEARCH_INDEX = "catalogue_aimodel_search_trgm"  # created by 0006 on PostgreSQL when pg_trgm is available


def search_index_fastupdate_off(apps, schema_editor):
    """PostgreSQL: write the trigram index directly instead of through GIN's pending list.

    With fastupdate (GIN's default) rows inserted after the index was built wait in an unsorted pending list
    until the next (auto)vacuum or until it outgrows gin_pending_list_limit (4 MB). Every search has to read
    that list, and the planner prices it in: after 10,000 models were bulk-loaded (a 3.4 MB list) it chose a
    sequential scan over the index for every search (benchmarks/api_scale.py). Models are written rarely and
    searched often, so each write pays the index update instead.
    """
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [SEARCH_INDEX])
        if cursor.fetchone()[0] is None:
            logger.warning("%s is missing (pg_trgm was unavailable at migration 0006): model search scans", SEARCH_INDEX)
            return
        cursor.execute(f"ALTER INDEX {SEARCH_INDEX} SET (fastupdate = off)")
        cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [SEARCH_INDEX])  # what is already pending


def search_index_fastupdate_default(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER INDEX IF EXISTS {SEARCH_INDEX} RESET (fastupdate)")


class Migration(migrations.Migration):
    dependencies = [
        ("catalogue", "0008_withdrawal_embargo"),
    ]

    operations = [
        migrations.RunPython(search_index_fastupdate_off, search_index_fastupdate_default),
    ]
