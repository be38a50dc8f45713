"""Clean free text stored before `core.text.validate_text` refused control characters: every field that now
carries the validator loses the characters it refuses (issue 26). Rows without such characters are not touched."""

from django.db import migrations

from core.text import clean_rows

FIELDS = {
    "exitinterview": ["protocol", "revision", "summary"],
    "interviewturn": ["speaker_name", "text"],
    "modelrequest": ["quote", "rationale", "responded_by", "summary"],
    "modelwriting": ["body", "review_note", "title"],
    "postdeploymentreport": ["body", "change_note", "title"],
    "writingseries": ["title"],
}


def clean(apps, schema_editor):
    cleaned = clean_rows(apps, "dossier", FIELDS)
    if cleaned:
        print(f"  dossier: cleaned control characters from {cleaned} rows")


class Migration(migrations.Migration):
    dependencies = [("dossier", "0002_free_text_validated")]
    operations = [migrations.RunPython(clean, migrations.RunPython.noop)]
