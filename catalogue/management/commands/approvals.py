"""manage.py approvals: the two-person rule's proposals on the command line (list, approve, refuse)."""

import json

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from catalogue import approvals
from core.exceptions import DomainError


class Command(BaseCommand):
    help = "List the two-person rule's proposals, or approve or refuse one as the curator named with --by."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help="proposals, newest first")
        listing.add_argument("--status", help="pending, approved, refused or expired")
        listing.add_argument("--json", action="store_true")
        for name in ("approve", "refuse"):
            decide = sub.add_parser(name, help=f"{name} proposal ID")
            decide.add_argument("id", type=int)
            decide.add_argument("--by", required=True, help="username of the deciding curator")
            decide.add_argument("--note", default="")

    def handle(self, *args, action, **options):
        try:
            if action == "list":
                rows = [approvals.proposal_data(p) for p in approvals.proposals_list(status=options.get("status"))]
                if options.get("json"):
                    self.stdout.write(json.dumps(rows, indent=2))
                for row in [] if options.get("json") else rows:
                    self.stdout.write(f"{row['id']}\t{row['status']}\t{row['kind']}\t{row['proposed_by']}\t"
                                      f"{row['expires_at']}\t{row['summary']}")
                return
            user = get_user_model().objects.filter(username=options["by"], is_active=True).first()
            if user is None:
                raise CommandError(f"There is no active user {options['by']!r}.")
            if action == "approve":
                proposal = approvals.proposal_approve(proposal_id=options["id"], approved_by=user, note=options["note"])
            else:
                proposal = approvals.proposal_refuse(proposal_id=options["id"], refused_by=user, note=options["note"])
        except DomainError as exc:
            raise CommandError(exc.message) from None
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(f"Proposal {proposal.pk} {proposal.status}: {proposal.summary}")
