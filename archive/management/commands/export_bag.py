"""`manage.py export_bag MODEL REVISION OUT`: a sealed snapshot as a BagIt 1.0 tar (OUT: a file, a
directory to put <bag name>.tar in, or - for standard output). A bag for another archive: files Coda keeps sealed
stay sealed (`data/<path>.age` + `encryption.json`, no key used) unless `--decrypt` asks for plaintext."""

import os
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from archive import selectors
from archive.bags import export as bags
from archive.delivery import downloads as delivery
from catalogue import selectors as catalogue_selectors
from core.exceptions import DomainError


class Command(BaseCommand):
    help = "Export a sealed snapshot as a BagIt 1.0 bag in a tar, streamed from storage."

    def add_arguments(self, parser):
        parser.add_argument("model", help="provider/name")
        parser.add_argument("revision", help="40-hex revision id or 'main'")
        parser.add_argument("out", help="output .tar file, an existing directory, or - for stdout")
        parser.add_argument("--force", action="store_true", help="overwrite OUT if it exists")
        parser.add_argument("--decrypt", action="store_true",
                            help="write sealed files as plaintext (opens them with the archive's key; each "
                                 "decryption is recorded) instead of keeping them sealed")

    def handle(self, *args, model, revision, out, force, decrypt, **options):
        try:
            ai_model = catalogue_selectors.model_get(repo_id=model)
            plan = bags.bag_plan(selectors.snapshot_get(model=ai_model, ref=revision), keep_sealed=not decrypt)
        except DomainError as exc:
            raise CommandError(exc.message) from None

        def record(member: bags.BagMember) -> None:
            delivery.access_record(
                user=None, snapshot_file=member.row, replica=member.replica, via="bag",
                detail={"door": "export_bag", **({"sealed": True} if member.sealed else {})},
                decrypted=member.replica.is_sealed and not member.sealed,
            )

        if out == "-":
            self._write(plan, sys.stdout.buffer, record)
            return
        target = Path(out)
        if target.is_dir():
            target = target / f"{plan.name}.tar"
        if target.exists() and not force:
            raise CommandError(f"{target} exists; pass --force to overwrite it.")
        partial = target.with_name(target.name + ".partial")  # a failed export never looks like a bag
        try:
            with open(partial, "wb") as handle:
                self._write(plan, handle, record)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
        self.stderr.write(
            f"wrote {target}: {plan.snapshot.model.repo_id}@{plan.snapshot.revision}, "
            f"{len(plan.members)} files, {plan.tar_size} bytes"
        )

    def _write(self, plan, handle, record) -> None:
        try:
            bags.bag_write(plan, handle, on_file_done=record)
        except DomainError as exc:
            raise CommandError(exc.message) from None
