import json
from dataclasses import asdict

from django.core.management.base import BaseCommand, CommandError

from archive.assurance import fixity
from archive.storage.locations import locations_sync
from archive.models import Replica, StorageLocation
from archive.assurance.rebuild import catalogue_rebuild


class Command(BaseCommand):
    help = "Rebuild snapshots, files, blobs and replicas from the manifests a storage location holds."

    def add_arguments(self, parser):
        parser.add_argument("--from-location", required=True, metavar="NAME")
        parser.add_argument("--no-verify", action="store_true", help="do not re-read the restored copies")

    def handle(self, *args, from_location, no_verify, **options):
        locations_sync()
        location = StorageLocation.objects.filter(name=from_location).first()
        if location is None:
            names = ", ".join(StorageLocation.objects.values_list("name", flat=True))
            raise CommandError(f"No storage location named {from_location!r} (configured: {names}).")
        report = catalogue_rebuild(location=location, agent="cli:rebuild_catalogue")
        self.stdout.write(json.dumps(asdict(report), indent=2))
        if not no_verify:
            audit = fixity.audit_replicas(
                Replica.objects.filter(location=location, state=Replica.State.STORED), agent="cli:rebuild_catalogue"
            )
            self.stdout.write(json.dumps({"verification": audit.as_dict()}, indent=2))
        if report.errors:
            raise CommandError(f"{len(report.errors)} manifest(s) could not be restored.")
