from django.core.management.base import BaseCommand, CommandError

from archive.sealing import keys
from core.exceptions import DomainError, UnavailableError


class Command(BaseCommand):
    help = "Make a new age sealing identity for new objects; older ones stay (wrapped) for the objects sealed to them."

    def handle(self, *args, **options):
        try:
            row = keys.sealing_key_create()
        except (DomainError, UnavailableError) as exc:
            raise CommandError(getattr(exc, "message", str(exc))) from None
        self.stdout.write(f"New sealing key {row.key_id} ({row.get_wrapping_display()}), recipient {row.recipient}")
