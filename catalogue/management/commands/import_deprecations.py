from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from catalogue.deprecations import RowError, deprecations_import

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "data" / "deprecations.json"


class Command(BaseCommand):
    help = "Import published model deprecations (rows of model x platform) into the catalogue. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", default=str(DEFAULT_PATH), help="deprecations.json (default: bundled copy)")
        parser.add_argument("--strict", action="store_true", help="exit non-zero when any row was skipped")

    def handle(self, *args, path, strict, **options):
        try:
            report = deprecations_import(path=Path(path))
        except RowError as exc:
            raise CommandError(str(exc)) from None
        for error in report.errors:
            self.stderr.write(f"skipped {error}")
        self.stdout.write(
            f"{report.total} rows: {report.created} created, {report.updated} updated, "
            f"{report.unchanged} unchanged, {len(report.errors)} skipped"
        )
        if strict and report.errors:
            raise CommandError(f"{len(report.errors)} rows were skipped")
