import logging

import django.db.models.functions.text
from django.db import migrations, models, transaction
from django.db.models.functions import Cast

logger = logging.getLogger("coda.catalogue")

# PostgreSQL only: a trigram index so `UPPER(search_text) LIKE UPPER('%term%')` (Django's icontains) is an
# index lookup instead of a scan of every model. SQLite has no such index and scans (fine at its scale).
SEARCH_INDEX = "catalogue_aimodel_search_trgm"


def create_search_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            # pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except Exception as exc:  # no privilege: search still works, it scans instead
        logger.warning("pg_trgm unavailable (%s); model search will scan without a trigram index", exc)
        return
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {SEARCH_INDEX} ON catalogue_aimodel USING gin (UPPER(search_text) gin_trgm_ops)"
    )
    schema_editor.execute("ANALYZE catalogue_aimodel")  # statistics for the new expression, so the planner uses it


def drop_search_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {SEARCH_INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("catalogue", "0005_model_repo_key"),
    ]

    operations = [
        migrations.AddField(
            model_name="aimodel",
            name="search_text",
            field=models.GeneratedField(
                db_persist=True,
                expression=django.db.models.functions.text.Concat(
                    "repo_key", models.Value("\n"), "display_name", models.Value("\n"), "family",
                    models.Value("\n"), "description", models.Value("\n"),
                    Cast("aliases", models.TextField()),
                    output_field=models.TextField(),
                ),
                output_field=models.TextField(),
            ),
        ),
        migrations.RunPython(create_search_index, drop_search_index),
    ]
