from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from knox.models import AuthToken


class Command(BaseCommand):
    help = "Create an API token for USERNAME and print it (shown once; stored hashed)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--expires", type=int, metavar="DAYS", help="expire after DAYS days (default: never)")

    def handle(self, *args, username, expires, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        if expires is not None and expires <= 0:
            raise CommandError("--expires must be a positive number of days.")
        _, token = AuthToken.objects.create(user=user, expiry=timedelta(days=expires) if expires else None)
        self.stdout.write(token)
