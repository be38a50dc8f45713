import json

from django.core.management.base import BaseCommand

from archive.assurance import leftovers
from archive.storage.locations import locations_sync
from archive.models import StorageLocation


class Command(BaseCommand):
    help = "Abort stale multipart uploads, resume abandoned ingests, report (or --delete) orphaned objects."

    def add_arguments(self, parser):
        parser.add_argument("--orphans", action="store_true", help="list objects no replica refers to")
        parser.add_argument("--delete", action="store_true", help="with --orphans: delete them (leaves deletion events)")

    def handle(self, *args, orphans, delete, **options):
        locations_sync()
        agent = "cli:sweep_leftovers"
        result = {
            "multipart_uploads_aborted": leftovers.multipart_uploads_abort(agent=agent),
            "ingest_files_requeued": leftovers.stale_ingests_resume(),
        }
        if orphans:
            result["orphans"] = {}
            for location in StorageLocation.objects.filter(is_active=True):
                keys = leftovers.orphans_find(location)
                result["orphans"][location.name] = keys
                if delete:
                    leftovers.orphans_delete(location, keys, agent=agent)
        self.stdout.write(json.dumps(result, indent=2))
