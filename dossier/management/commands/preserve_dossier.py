"""`manage.py preserve_dossier MODEL`: preserve a model's interview transcripts and reports as a new snapshot."""

from django.core.management.base import BaseCommand, CommandError

from catalogue import selectors
from core.exceptions import DomainError
from dossier.preservation import dossier_preserve


class Command(BaseCommand):
    help = "Write a model's interview transcripts and report versions to staging and ingest them as a new snapshot."

    def add_arguments(self, parser):
        parser.add_argument("model", help="provider/name")

    def handle(self, *args, model, **options):
        try:
            job = dossier_preserve(model=selectors.model_get(repo_id=model))
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(
            f"ingest job {job.pk} started for snapshot {job.snapshot_id} ({job.files_total} files); "
            f"follow it with GET /api/v1/ingest-jobs/{job.pk}/"
        )
