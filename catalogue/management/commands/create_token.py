from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from catalogue import accounts

# The longest lifetime a token may be given, as on the account page (web.forms: at most 3650 days); beyond it, ask
# for a token that never expires. Also keeps the expiry a date (no OverflowError from a huge count of days).
MAX_DAYS = 3650


class Command(BaseCommand):
    help = "Create an API token for USERNAME and print it (shown once; stored hashed)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--expires", type=int, metavar="DAYS",
                            help=f"expire after DAYS days, 1 to {MAX_DAYS} (default: CODA_TOKEN_TTL_DAYS)")
        parser.add_argument("--never-expires", action="store_true", help="a token that never expires")

    def handle(self, *args, username, expires, never_expires, **options):
        if expires is not None and never_expires:
            raise CommandError("--expires and --never-expires exclude each other.")
        if expires is not None and not 1 <= expires <= MAX_DAYS:
            raise CommandError(f"--expires must be a whole number of days from 1 to {MAX_DAYS} (got {expires}); "
                               "use --never-expires for a token that never expires.")
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        try:
            instance, token = accounts.api_token_create(user=user, expires_days=expires, never_expires=never_expires)
        except OverflowError:  # only the default lifetime is left unchecked here: a setting, not an option
            raise CommandError("CODA_TOKEN_TTL_DAYS is too large for an expiry date; set a smaller one, or pass "
                               "--expires DAYS or --never-expires.") from None
        self.stdout.write(token)  # alone on standard output: TOKEN=$(manage.py create_token NAME)
        expiry = instance.expiry
        self.stderr.write(f"Token for {username}: expires {expiry:%Y-%m-%d %H:%M %Z}." if expiry else
                          f"Token for {username}: never expires (delete it from the account page or the admin).")
