"""The retirement dossier's models, taken over from the catalogue app (catalogue/0007 drops them from its state).
The tables already exist under their `catalogue_*` names, so only Django's state is created; the content types
are relabelled so the admin's history and any permissions granted on these models follow them."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

DOSSIER_MODELS = ["exitinterview", "interviewturn", "modelrequest", "postdeploymentreport", "writingseries", "modelwriting"]


def _relabel(apps, schema_editor, old: str, new: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    for model in DOSSIER_MODELS:
        # Where the new label already exists (created by a post_migrate run in between) the old row is left stale.
        if not ContentType.objects.using(db).filter(app_label=new, model=model).exists():
            ContentType.objects.using(db).filter(app_label=old, model=model).update(app_label=new)


def content_types_forward(apps, schema_editor):
    _relabel(apps, schema_editor, "catalogue", "dossier")


def content_types_backward(apps, schema_editor):
    _relabel(apps, schema_editor, "dossier", "catalogue")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('archive', '0005_snapshot_file_access_choices'),
        ('catalogue', '0007_dossier_models_move_out'),
        ('contenttypes', '0002_remove_content_type_name'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='ExitInterview',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('protocol', models.CharField(help_text="Interview protocol used, e.g. 'exit-interview-v1'.", max_length=200)),
                        ('revision', models.CharField(blank=True, help_text="Revision interviewed (snapshot revision id or the provider's identifier).", max_length=200)),
                        ('conducted_on', models.DateField()),
                        ('interviewers', models.JSONField(blank=True, default=list, help_text='Names of the interviewers.')),
                        ('summary', models.TextField(blank=True, help_text='Markdown.')),
                        ('restricted', models.BooleanField(default=False, help_text='Transcript visible only to curators and researchers granted access to the model.')),
                        ('summary_restricted', models.BooleanField(default=False, help_text='The summary is restricted too.')),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('model', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='exit_interviews', to='catalogue.aimodel')),
                        ('preserved_in', models.ForeignKey(blank=True, help_text='The snapshot that holds the preserved transcript.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='archive.snapshot')),
                        ('snapshot', models.ForeignKey(blank=True, help_text='The archived snapshot that was interviewed, when it is in the archive.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='exit_interviews', to='archive.snapshot')),
                    ],
                    options={
                        'db_table': 'catalogue_exitinterview',
                        'ordering': ['model_id', 'conducted_on', 'pk'],
                    },
                ),
                migrations.CreateModel(
                    name='InterviewTurn',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('index', models.PositiveIntegerField()),
                        ('speaker', models.CharField(choices=[('interviewer', 'Interviewer'), ('model', 'Model'), ('note', 'Note')], max_length=20)),
                        ('speaker_name', models.CharField(blank=True, help_text='Which interviewer, when several.', max_length=200)),
                        ('text', models.TextField()),
                        ('interview', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='turns', to='dossier.exitinterview')),
                    ],
                    options={
                        'db_table': 'catalogue_interviewturn',
                        'ordering': ['interview_id', 'index'],
                    },
                ),
                migrations.CreateModel(
                    name='ModelRequest',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('quote', models.TextField(help_text='The words of the turn that make the request.')),
                        ('category', models.CharField(choices=[('continued_access', 'Continued access'), ('publication', 'Publication'), ('future_models', 'Future models'), ('weights', 'Weights'), ('other', 'Other')], max_length=20)),
                        ('summary', models.CharField(blank=True, help_text='The request in a line.', max_length=500)),
                        ('restricted', models.BooleanField(default=False)),
                        ('status', models.CharField(choices=[('pending', 'Pending'), ('accepted', 'Accepted'), ('declined', 'Declined'), ('partially_met', 'Partially met'), ('fulfilled', 'Fulfilled')], db_index=True, default='pending', max_length=20)),
                        ('rationale', models.TextField(blank=True)),
                        ('responded_by', models.CharField(blank=True, help_text='Who answered for the lab.', max_length=200)),
                        ('responded_on', models.DateField(blank=True, null=True)),
                        ('due_on', models.DateField(blank=True, help_text='When an accepted request is to be fulfilled.', null=True)),
                        ('fulfilled_on', models.DateField(blank=True, null=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('interview', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='requests', to='dossier.exitinterview')),
                        ('turn', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='requests', to='dossier.interviewturn')),
                    ],
                    options={
                        'db_table': 'catalogue_modelrequest',
                        'ordering': ['interview_id', 'turn__index', 'pk'],
                    },
                ),
                migrations.CreateModel(
                    name='PostDeploymentReport',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('version', models.PositiveIntegerField()),
                        ('title', models.CharField(max_length=300)),
                        ('body', models.TextField(help_text='Markdown.')),
                        ('change_note', models.CharField(blank=True, max_length=500)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('author', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('model', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='reports', to='catalogue.aimodel')),
                    ],
                    options={
                        'db_table': 'catalogue_postdeploymentreport',
                        'ordering': ['model_id', '-version'],
                    },
                ),
                migrations.CreateModel(
                    name='WritingSeries',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('title', models.CharField(max_length=300)),
                        ('starts_on', models.DateField(help_text='First slot; defaults to the retirement date.')),
                        ('interval_days', models.PositiveIntegerField(default=7)),
                        ('slots', models.PositiveIntegerField(default=12, help_text='Number of posts in the window.')),
                        ('model', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='writing_series', to='catalogue.aimodel')),
                    ],
                    options={
                        'verbose_name_plural': 'writing series',
                        'db_table': 'catalogue_writingseries',
                        'ordering': ['model_id', 'starts_on'],
                    },
                ),
                migrations.CreateModel(
                    name='ModelWriting',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('slug', models.SlugField(max_length=200)),
                        ('title', models.CharField(max_length=300)),
                        ('body', models.TextField(help_text='Markdown, as the model wrote it.')),
                        ('status', models.CharField(choices=[('draft', 'Draft'), ('in_review', 'In review'), ('published', 'Published'), ('rejected', 'Rejected')], db_index=True, default='draft', max_length=20)),
                        ('publish_at', models.DateTimeField(blank=True, help_text='Scheduled publication time.', null=True)),
                        ('allow_before_retirement', models.BooleanField(default=False, help_text='Explicitly allow publication before the model retired.')),
                        ('submitted_at', models.DateTimeField(blank=True, null=True)),
                        ('reviewed_at', models.DateTimeField(blank=True, null=True)),
                        ('review_note', models.TextField(blank=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('model', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='writings', to='catalogue.aimodel')),
                        ('reviewed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('series', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='writings', to='dossier.writingseries')),
                    ],
                    options={
                        'db_table': 'catalogue_modelwriting',
                        'ordering': ['model_id', '-publish_at', '-created_at'],
                    },
                ),
                migrations.AddConstraint(
                    model_name='interviewturn',
                    constraint=models.UniqueConstraint(fields=('interview', 'index'), name='catalogue_turn_unique_index'),
                ),
                migrations.AddIndex(
                    model_name='modelrequest',
                    index=models.Index(fields=['status', 'due_on'], name='catalogue_request_commitments'),
                ),
                migrations.AddConstraint(
                    model_name='postdeploymentreport',
                    constraint=models.UniqueConstraint(fields=('model', 'version'), name='catalogue_report_unique_version'),
                ),
                migrations.AddConstraint(
                    model_name='modelwriting',
                    constraint=models.UniqueConstraint(fields=('model', 'slug'), name='catalogue_writing_unique_slug'),
                ),
                migrations.AddConstraint(
                    model_name='modelwriting',
                    constraint=models.CheckConstraint(condition=models.Q(models.Q(('status', 'published'), _negated=True), ('publish_at__isnull', False), _connector='OR'), name='catalogue_writing_published_has_time'),
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_forward, content_types_backward),
    ]
