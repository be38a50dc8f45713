"""Clean free text stored before `core.text.validate_text` refused control characters: every field that now
carries the validator loses the characters it refuses (issue 26). Rows without such characters are not touched."""

from django.db import migrations

from core.text import clean_rows

FIELDS = {
    "snapshot": ["doi", "withdrawal_reason"],
    "snapshottag": ["message"],
}


def clean(apps, schema_editor):
    cleaned = clean_rows(apps, "archive", FIELDS)
    if cleaned:
        print(f"  archive: cleaned control characters from {cleaned} rows")


class Migration(migrations.Migration):
    dependencies = [("archive", "0011_free_text_validated")]
    operations = [migrations.RunPython(clean, migrations.RunPython.noop)]
