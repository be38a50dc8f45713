"""Clean free text stored before `core.text.validate_text` refused control characters: every field that now
carries the validator loses the characters it refuses (issue 26). Rows without such characters are not touched."""

from django.db import migrations

from core.text import clean_text

FIELDS = {
    "snapshot": ["doi", "withdrawal_reason"],
    "snapshottag": ["message"],
}


def clean(apps, schema_editor):
    cleaned = 0
    for model_name, fields in FIELDS.items():
        model = apps.get_model("archive", model_name)
        for row in model.objects.only("pk", *fields).iterator():
            changes = {
                f: clean_text(getattr(row, f))
                for f in fields
                if getattr(row, f) and clean_text(getattr(row, f)) != getattr(row, f)
            }
            if changes:
                model.objects.filter(pk=row.pk).update(**changes)
                cleaned += 1
    if cleaned:
        print(f"  archive: cleaned control characters from {cleaned} rows")


class Migration(migrations.Migration):
    dependencies = [("archive", "0011_free_text_validated")]
    operations = [migrations.RunPython(clean, migrations.RunPython.noop)]
