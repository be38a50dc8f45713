from django.db import migrations, models
from django.db.models import Value
from django.db.models.functions import Concat


def fill_repo_key(apps, schema_editor):
    AIModel = apps.get_model("catalogue", "AIModel")
    Provider = apps.get_model("catalogue", "Provider")
    for provider in Provider.objects.all():
        AIModel.objects.filter(provider=provider).update(repo_key=Concat(Value(f"{provider.slug}/"), "name"))


class Migration(migrations.Migration):
    dependencies = [
        ("catalogue", "0004_merge_20261127_0017"),
    ]

    operations = [
        migrations.AddField(
            model_name="aimodel",
            name="repo_key",
            field=models.CharField(default="", editable=False, max_length=265),
            preserve_default=False,
        ),
        migrations.RunPython(fill_repo_key, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="aimodel",
            name="repo_key",
            field=models.CharField(
                editable=False,
                help_text="'provider/name', stored and indexed so lists sort and page by it without computing it per row.",
                max_length=265,
                unique=True,
            ),
        ),
    ]
