"""Clean free text stored before `core.text.validate_text` refused control characters: every field that now
carries the validator loses the characters it refuses (issue 26). Rows without such characters are not touched."""

from django.db import migrations

from core.text import clean_rows

FIELDS = {
    "accesschange": ["reason"],
    "accessrequest": ["affiliation", "decision_note", "purpose"],
    "aimodel": ["access_terms", "description", "display_name", "family", "license", "withdrawal_reason"],
    "platformavailability": ["identifier", "notes", "post_retirement_access", "status_on_source"],
    "provider": ["name"],
    "retirement": ["access_note", "preservation_statement", "reason"],
    "tag": ["name"],
}


def clean(apps, schema_editor):
    cleaned = clean_rows(apps, "catalogue", FIELDS)
    if cleaned:
        print(f"  catalogue: cleaned control characters from {cleaned} rows")


class Migration(migrations.Migration):
    dependencies = [("catalogue", "0010_free_text_validated")]
    operations = [migrations.RunPython(clean, migrations.RunPython.noop)]
