from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from archive.descriptions import signing


class Command(BaseCommand):
    help = "Generate the archive's signing key at CODA_SIGNING_KEY_FILE if there is none, and record its public key."

    def handle(self, *args, **options):
        if not settings.CODA_SIGNING_KEY_FILE:
            raise CommandError("CODA_SIGNING_KEY_FILE is empty: no signing key to create.")
        path = Path(settings.CODA_SIGNING_KEY_FILE)
        created = signing.key_generate(path)
        row = signing.signing_key_record(signing.private_key_load())
        self.stdout.write(f"{'Generated' if created else 'Using'} signing key {path} (key_id {row.key_id})")
