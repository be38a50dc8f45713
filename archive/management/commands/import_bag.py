"""`manage.py import_bag PATH MODEL [--wait]`: verify a BagIt bag, then ingest its data/ as a snapshot."""

import time

from django.core.management.base import BaseCommand, CommandError

from archive import selectors
from archive.bags import imports as bags
from archive.ingest import manifests
from archive.models import IngestJob
from catalogue import selectors as catalogue_selectors
from core.exceptions import DomainError


class Command(BaseCommand):
    help = "Verify a BagIt bag (a directory under CODA_STAGING_ROOTS) and preserve its payload as a new snapshot."

    def add_arguments(self, parser):
        parser.add_argument("path", help="bag directory (holding bagit.txt and data/) under CODA_STAGING_ROOTS")
        parser.add_argument("model", help="provider/name")
        parser.add_argument("--wait", action="store_true", help="wait for the seal and check it against the bag")
        parser.add_argument("--timeout", type=float, default=None, help="give up waiting after SECONDS")

    def handle(self, *args, path, model, wait, timeout, **options):
        try:
            ai_model = catalogue_selectors.model_get(repo_id=model)
            started = bags.bag_import_start(path=path, model=ai_model)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        job = started.job
        self.stdout.write(f"bag verified; ingest job {job.pk}: {job.files_total} files, {job.bytes_total} bytes")
        if not wait:
            return
        deadline = time.monotonic() + timeout if timeout else None
        while True:
            job.refresh_from_db()
            if job.state in (IngestJob.State.SUCCEEDED, IngestJob.State.FAILED):
                break
            if deadline and time.monotonic() > deadline:
                raise CommandError(f"Timed out; job {job.pk} is still {job.state}. Is a worker running?")
            time.sleep(0.5)
        if job.state == IngestJob.State.FAILED:
            raise CommandError(f"Ingest failed: {job.error}")
        snapshot = job.snapshot
        snapshot.refresh_from_db()
        problems = bags.bag_import_check(snapshot=snapshot, expected=started.expected)
        if problems:
            raise CommandError("Sealed snapshot differs from the bag's manifest: " + "; ".join(problems[:5]))
        self.stdout.write(f"sealed {snapshot.model.repo_id} revision {snapshot.revision}")
        if started.bag_revision:
            same = "matches" if started.bag_revision == snapshot.revision else f"differs from {started.bag_revision}"
            self.stdout.write(f"revision {same} the bag's Coda-Revision")
        files = selectors.manifest_files(snapshot)
        self.stdout.write(manifests.sha256sum_text((f["path"], f["size"], f["sha256"]) for f in files), ending="")
