"""`manage.py export_interview MODEL ID [--format json|markdown]`: write an interview file to stdout."""

from django.core.management.base import BaseCommand, CommandError

from catalogue import selectors
from core.exceptions import DomainError
from dossier import selectors as dossier_selectors
from dossier import services


class Command(BaseCommand):
    help = "Export an exit interview in the import format (JSON or Markdown) to standard output."

    def add_arguments(self, parser):
        parser.add_argument("model", help="provider/name")
        parser.add_argument("interview", type=int, help="interview id")
        parser.add_argument("--format", choices=["json", "markdown"], default="json")

    def handle(self, *args, model, interview, format, **options):
        try:
            ai_model = selectors.model_get(repo_id=model)
            row = dossier_selectors.interview_get(model=ai_model, pk=interview)
            self.stdout.write(services.interview_export(interview=row, fmt=format), ending="")
        except DomainError as exc:
            raise CommandError(exc.message) from None
