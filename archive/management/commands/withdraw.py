"""manage.py withdraw: the command-line door to archive.withdrawals (a model, or one snapshot with @revision)."""

import json

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from archive import selectors
from archive.withdrawals import BYTES_CHOICES, model_withdraw, snapshot_withdraw, tombstone, withdraw_params
from catalogue import approvals
from catalogue import selectors as catalogue_selectors
from core.exceptions import DomainError


class Command(BaseCommand):
    help = "Withdraw a model (provider/name) or one snapshot (provider/name@revision): a tombstone with a reason."

    def add_arguments(self, parser):
        parser.add_argument("target", help="provider/name, or provider/name@revision for one snapshot")
        parser.add_argument("--reason", required=True, help="why (legal request, licence, error …)")
        parser.add_argument("--bytes", required=True, choices=BYTES_CHOICES, help="keep or delete the stored copies")
        parser.add_argument("--by", required=True, help="username of the curator withdrawing it (recorded as the agent)")

    def handle(self, *args, target, reason, bytes, by, **options):
        curator = get_user_model().objects.filter(username=by, is_active=True).first()
        if curator is None:
            raise CommandError(f"There is no active user {by!r}.")
        repo_id, _, revision = target.partition("@")
        try:
            model = catalogue_selectors.model_get(repo_id=repo_id)
            snapshot = selectors.snapshot_get(model=model, ref=revision) if revision else None
            # Deleting a restricted model's bytes waits for a second curator (two-person rule).
            proposal = approvals.propose_if_required(
                kind="snapshot_withdraw" if snapshot else "model_withdraw", proposed_by=curator, model=model,
                params=withdraw_params(reason=reason, keep_bytes=bytes, snapshot=snapshot),
            ) if reason.strip() and bytes in BYTES_CHOICES else None
            if proposal is not None:
                self.stdout.write(json.dumps(approvals.proposal_body(proposal)))
                return
            if snapshot:
                snapshot = snapshot_withdraw(snapshot=snapshot, reason=reason, keep_bytes=bytes, withdrawn_by=curator)
                gone = tombstone(snapshot.model, snapshot)
            else:
                gone = tombstone(model_withdraw(model=model, reason=reason, keep_bytes=bytes, withdrawn_by=curator))
        except DomainError as exc:
            raise CommandError(exc.message) from None
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(json.dumps({"withdrawn": target, "bytes": bytes, "tombstone": gone}))
