"""`manage.py preserve MODEL SOURCE [--wait] [--create]`: the CLI door to snapshot ingest."""

import os
import sys
import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from archive import selectors
from archive.ingest import manifests, services
from archive.models import IngestJob
from catalogue import selectors as catalogue_selectors
from catalogue import services as catalogue_services
from core.units import size_label
from core.exceptions import DomainError, NotFoundError


POLL_FIRST = 0.02  # seconds between the first two looks at the job
POLL_MAX = 0.25  # ... growing to this: one cheap query four times a second


class Command(BaseCommand):
    help = "Preserve a model's files (a staging directory or s3://bucket/prefix) as a new snapshot."
    # Django's system checks load every URLconf (and with it the API's and OAI's imports: datacite, jsonschema),
    # 3-5 s on each run of a command a curator runs per model; `manage.py check`, migrate and the servers run them.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("model", help="provider/name")
        parser.add_argument("source", help="directory under CODA_STAGING_ROOTS, or s3://bucket/prefix")
        parser.add_argument("--wait", action="store_true", help="show progress until the snapshot is sealed or fails")
        parser.add_argument("--create", action="store_true", help="register the model (and provider) if unknown")
        parser.add_argument("--timeout", type=float, default=None, help="give up waiting after SECONDS")

    def handle(self, *args, model, source, wait, create, timeout, **options):
        try:
            try:
                ai_model = catalogue_selectors.model_get(repo_id=model)
            except NotFoundError:
                if not create:
                    raise
                provider_slug, _, name = model.partition("/")
                provider = catalogue_services.provider_get_or_create(slug=provider_slug)
                ai_model = catalogue_services.model_create(provider=provider, name=name)
                self.stdout.write(f"registered {ai_model.repo_id} in the catalogue")
            if "://" not in source:  # the caller's relative path: against the directory the command runs in
                source = os.path.abspath(os.path.expanduser(source))
            job = services.snapshot_ingest_start(model=ai_model, source=source)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(f"ingest job {job.pk}: {job.files_total} files, {size_label(job.bytes_total)}")
        if not wait:
            return
        deadline = time.monotonic() + timeout if timeout else None
        # The first polls come quickly (a small model is sealed within a fraction of a second) and then back off
        # to POLL_MAX: a fixed half-second sleep cost up to that much on every run, whatever its size.
        interval = POLL_FIRST
        while True:
            job.refresh_from_db()
            progress = selectors.job_progress(job)
            self._progress(progress)
            if job.state in (IngestJob.State.SUCCEEDED, IngestJob.State.FAILED):
                break
            if deadline and time.monotonic() > deadline:
                raise CommandError(f"Timed out; job {job.pk} is still {job.state}. Is a worker running?")
            time.sleep(interval)
            interval = min(interval * 1.5, POLL_MAX)
        if self._tty:
            self.stdout.write("")
        if job.state == IngestJob.State.FAILED:
            raise CommandError(f"Ingest failed: {job.error}")
        snapshot = job.snapshot
        snapshot.refresh_from_db()
        self.stdout.write(f"sealed {snapshot.model.repo_id} revision {snapshot.revision}")
        files = selectors.manifest_files(snapshot)
        self.stdout.write(manifests.sha256sum_text((f["path"], f["size"], f["sha256"]) for f in files), ending="")

    @property
    def _tty(self) -> bool:
        return sys.stdout.isatty()

    def _progress(self, p: dict) -> None:
        total = p["bytes_total"] or 1
        width = 30
        filled = int(width * min(p["bytes_done"], total) / total)
        line = (
            f"[{'#' * filled}{'.' * (width - filled)}] {p['files_done']}/{p['files_total']} files, "
            f"{size_label(p['bytes_done'])}/{size_label(p['bytes_total'])}"
        )
        if self._tty:
            self.stdout.write("\r" + line, ending="")
            self.stdout.flush()
        elif getattr(self, "_last", None) != line:
            self.stdout.write(line)
            self._last = line
