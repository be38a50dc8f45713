from django.core.management.base import BaseCommand, CommandError

from archive.descriptions import signing
from archive.models import Snapshot


class Command(BaseCommand):
    help = ("Re-sign sealed snapshots so `model_signing verify key` accepts them with its default options (git paths "
            "left out); each old signature is kept in a 'digital signature generation' event. Snapshots already "
            "signed that way with the current key are left alone.")

    def add_arguments(self, parser):
        parser.add_argument("--model", help="Only this model ('provider/name').")
        parser.add_argument("--force", action="store_true", help="Re-sign even a signature that is already current.")
        parser.add_argument("--dry-run", action="store_true", help="Count the snapshots that would be re-signed.")

    def handle(self, *args, model=None, force=False, dry_run=False, **options):
        if signing.private_key_load() is None:
            raise CommandError("CODA_SIGNING_KEY_FILE names no key: nothing to re-sign with.")
        snapshots = Snapshot.objects.filter(state=Snapshot.State.SEALED).exclude(signature="").select_related("model")
        if model:
            snapshots = snapshots.filter(model__repo_key=model)
        done = kept = 0
        for snapshot in snapshots.order_by("pk").iterator():
            if dry_run:
                current = signing.statement_of(snapshot.signature) == signing.statement(
                    name=snapshot.model.name,
                    files=[(f.path, f.blob.sha256) for f in snapshot.files.select_related("blob")])
                done, kept = (done, kept + 1) if current and not force else (done + 1, kept)
                continue
            if signing.snapshot_resign(snapshot, agent="system", force=force):
                done += 1
                self.stdout.write(f"re-signed {snapshot.model.repo_key}@{snapshot.revision}")
            else:
                kept += 1
        verb = "would re-sign" if dry_run else "re-signed"
        self.stdout.write(f"{verb} {done} snapshot(s); {kept} already current")
