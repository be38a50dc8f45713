from django.core.management.base import BaseCommand, CommandError

from archive.events import worker_agent
from archive.log import selectors, services


class Command(BaseCommand):
    help = ("The tamper-evident log (docs/log.md): `check` recomputes every leaf from its event and names the first "
            "bad one; `sign` signs a checkpoint now if the log grew; `backfill` adds leaves for events recorded "
            "while CODA_EVENT_LOG was false.")

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["check", "sign", "backfill"])

    def handle(self, *args, action, **options):
        if action == "backfill":
            self.stdout.write(f"{services.log_backfill()} leaves added; the log has {selectors.log_size()} leaves")
        elif action == "sign":
            checkpoint = services.checkpoint_sign(agent=worker_agent())
            self.stdout.write(checkpoint.note if checkpoint else "Nothing new to sign (or no signing key).")
        else:
            services.log_sequence()
            report = selectors.log_check()
            if not report.ok:
                raise CommandError(report.problem)
            self.stdout.write(f"log of {report.size} leaves verified against its events"
                              + (f" and the checkpoint of {report.checkpoint_size}" if report.checkpoint_size else ""))
