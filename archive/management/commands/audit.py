import json

from django.core.management.base import BaseCommand, CommandError

from archive.assurance import fixity
from archive.events import worker_agent
from archive.storage.locations import locations_sync
from archive.models import Replica
from archive.preservation import blobs_released
from catalogue import selectors
from core.exceptions import NotFoundError


class Command(BaseCommand):
    help = "Fixity audit: re-read stored copies, compare SHA-256, repair bad ones. MODEL, --all, or the due batch."

    def add_arguments(self, parser):
        parser.add_argument("model", nargs="?", help="provider/name: audit every copy of this model's files")
        parser.add_argument("--all", action="store_true", help="audit every replica in the archive")

    def handle(self, *args, model, all, **options):
        locations_sync()
        if model and all:
            raise CommandError("Give MODEL or --all, not both.")
        if model:
            try:
                replicas = fixity.replicas_of_model(selectors.model_get(repo_id=model))
            except NotFoundError as exc:
                raise CommandError(exc.message) from None
        elif all:
            replicas = Replica.objects.exclude(blob__in=blobs_released())  # deleted on withdrawal: not owed
        else:
            replicas = fixity.replicas_due()
        report = fixity.audit_replicas(replicas, agent=worker_agent().replace("worker", "cli"))
        self.stdout.write(json.dumps(report.as_dict(), indent=2))
        if report.unrecoverable:
            raise CommandError(f"{report.unrecoverable} file(s) have no verified copy left.")
