from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from catalogue import accounts


class Command(BaseCommand):
    help = "Create an API token for USERNAME and print it (shown once; stored hashed)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--expires", type=int, metavar="DAYS", help="expire after DAYS days (default: CODA_TOKEN_TTL_DAYS)")
        parser.add_argument("--never-expires", action="store_true", help="a token that never expires")

    def handle(self, *args, username, expires, never_expires, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        if expires is not None and expires <= 0:
            raise CommandError("--expires must be a positive number of days.")
        if expires is not None and never_expires:
            raise CommandError("--expires and --never-expires exclude each other.")
        _, token = accounts.api_token_create(user=user, expires_days=expires, never_expires=never_expires)
        self.stdout.write(token)
