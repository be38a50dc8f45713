from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.exceptions import DomainError
from dossier.story import STORY_PATH, story_load


class Command(BaseCommand):
    help = "Load the bundled, sourced sample dossier (Claude 3 Opus's retirement). Idempotent; never overwrites."

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", default=str(STORY_PATH), help="story file (default: bundled copy)")

    def handle(self, *args, path, **options):
        try:
            report = story_load(path=Path(path))
        except DomainError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(str(report))
