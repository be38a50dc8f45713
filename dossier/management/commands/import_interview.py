"""`manage.py import_interview MODEL FILE [--format json|markdown]`: the CLI door to interview_import."""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from catalogue import selectors
from core.exceptions import DomainError
from dossier import services, transcripts


class Command(BaseCommand):
    help = "Import an exit interview (transcript, summary, requests) from a JSON or Markdown file (docs/interview-formats.md)."

    def add_arguments(self, parser):
        parser.add_argument("model", help="provider/name")
        parser.add_argument("file", help="interview file (.json or .md)")
        parser.add_argument("--format", choices=["json", "markdown"], help="default: from the extension or content")

    def handle(self, *args, model, file, format, **options):
        path = Path(file)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {file}: {exc}") from None
        try:
            ai_model = selectors.model_get(repo_id=model)
            fmt = format or transcripts.detect_format(path.name, text)
            interview = services.interview_import(model=ai_model, text=text, fmt=fmt)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(
            f"imported interview {interview.pk} of {ai_model.repo_id}: {interview.turns.count()} turns, "
            f"{interview.requests.count()} requests"
        )
