"""The retirement dossier's models move to their own app (dossier/migrations/0001_initial takes them over).
Only Django's state changes: the tables, their rows, constraints and indexes stay exactly as they are (the
dossier models keep the `catalogue_*` table names)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('catalogue', '0006_model_search_text'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='interviewturn',
                    name='interview',
                ),
                migrations.RemoveField(
                    model_name='modelrequest',
                    name='interview',
                ),
                migrations.RemoveField(
                    model_name='modelrequest',
                    name='turn',
                ),
                migrations.RemoveField(
                    model_name='modelwriting',
                    name='model',
                ),
                migrations.RemoveField(
                    model_name='modelwriting',
                    name='reviewed_by',
                ),
                migrations.RemoveField(
                    model_name='modelwriting',
                    name='series',
                ),
                migrations.RemoveField(
                    model_name='postdeploymentreport',
                    name='author',
                ),
                migrations.RemoveField(
                    model_name='postdeploymentreport',
                    name='model',
                ),
                migrations.RemoveField(
                    model_name='writingseries',
                    name='model',
                ),
                migrations.DeleteModel(
                    name='ExitInterview',
                ),
                migrations.DeleteModel(
                    name='InterviewTurn',
                ),
                migrations.DeleteModel(
                    name='ModelRequest',
                ),
                migrations.DeleteModel(
                    name='ModelWriting',
                ),
                migrations.DeleteModel(
                    name='PostDeploymentReport',
                ),
                migrations.DeleteModel(
                    name='WritingSeries',
                ),
            ],
            database_operations=[],
        ),
    ]
