from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from archive.sealing import keys
from catalogue import approvals
from core.exceptions import DomainError, UnavailableError


class Command(BaseCommand):
    help = ("Make a new age sealing identity for new objects; older ones stay (wrapped) for the objects sealed to "
            "them. Under the two-person rule (CODA_TWO_PERSON_RULE) a rotation is a proposal by the curator named "
            "with --by; another curator approves it (manage.py approvals approve ID --by USER, the API or the site).")

    def add_arguments(self, parser):
        parser.add_argument("--by", help="username of the curator proposing the rotation (needed under the rule)")

    def handle(self, *args, by=None, **options):
        try:
            if approvals.approval_required("sealing_key_rotate", params={}):
                curator = get_user_model().objects.filter(username=by, is_active=True).first() if by else None
                if curator is None:
                    raise CommandError("Rotating the sealing key needs a second curator's approval (two-person rule): "
                                       "name the proposing curator with --by USER.")
                proposal = approvals.proposal_create(kind="sealing_key_rotate", proposed_by=curator, params={})
                self.stdout.write(f"Proposed change {proposal.pk}: {proposal.summary}; it takes effect when another "
                                  f"curator approves it (manage.py approvals approve {proposal.pk} --by USER).")
                return
            row = keys.sealing_key_rotate()
        except (DomainError, UnavailableError) as exc:
            raise CommandError(getattr(exc, "message", str(exc))) from None
        self.stdout.write(f"New sealing key {row.key_id} ({row.get_wrapping_display()}), recipient {row.recipient}")
