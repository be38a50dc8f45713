from django.core.management.base import BaseCommand, CommandError

from archive.sealing import keys
from core.exceptions import DomainError, UnavailableError


class Command(BaseCommand):
    help = "Make the archive's age sealing identity if there is none (KMS-wrapped with CODA_KMS_KEY_ID, else a local file)."

    def handle(self, *args, **options):
        try:
            row, created = keys.sealing_key_init()
        except (DomainError, UnavailableError) as exc:
            raise CommandError(getattr(exc, "message", str(exc))) from None
        self.stdout.write(f"{'Made' if created else 'Using'} sealing key {row.key_id} ({row.get_wrapping_display()}), "
                          f"recipient {row.recipient}")
