"""`manage.py create_token`: every bad option value is a CommandError with a clear message and a non-zero exit,
never a traceback (a huge --expires used to end in an OverflowError); good values make a token."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone
from knox.models import AuthToken

from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]
RANGE = "--expires must be a whole number of days from 1 to 3650"
BAD = [
    (["--expires", "2932896"], RANGE),  # the value: past the last date Python can hold
    (["--expires", "99999999999999999999999"], RANGE),
    (["--expires", "3651"], RANGE),
    (["--expires", "0"], RANGE),
    (["--expires", "-5"], RANGE),
    (["--expires", "ten"], "invalid int value: 'ten'"),
    (["--expires", "30", "--never-expires"], "exclude each other"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("options, message", BAD, ids=[" ".join(o) for o, _ in BAD])
def test_bad_options_are_a_command_error(options, message):
    user = UserFactory(username="tok")
    with pytest.raises(CommandError, match=message):
        call_command("create_token", user.username, *options)
    assert not AuthToken.objects.filter(user=user).exists()


@pytest.mark.django_db
def test_an_unknown_user_is_a_command_error():
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        call_command("create_token", "nobody", "--expires", "30")


@pytest.mark.django_db
@pytest.mark.parametrize("days", [1, 3650])
def test_the_bounds_make_a_token(days, capsys):
    user = UserFactory(username="tok")
    call_command("create_token", user.username, "--expires", str(days))
    token = AuthToken.objects.get(user=user)
    printed = capsys.readouterr()
    assert len(printed.out.split()) == 1  # the token alone on standard output, for TOKEN=$(...)
    assert abs(token.expiry - (timezone.now() + timedelta(days=days))) < timedelta(minutes=1)
    assert f"expires {token.expiry:%Y-%m-%d}" in printed.err  # the expiry, told on standard error


@pytest.mark.django_db
def test_a_never_expiring_token_says_so(capsys):
    user = UserFactory(username="tok")
    call_command("create_token", user.username, "--never-expires")
    assert "never expires" in capsys.readouterr().err


@pytest.mark.django_db
def test_too_large_a_default_lifetime_is_a_command_error(settings):
    settings.CODA_TOKEN_TTL_DAYS = 2932896
    user = UserFactory(username="tok")
    with pytest.raises(CommandError, match="CODA_TOKEN_TTL_DAYS is too large"):
        call_command("create_token", user.username)


def _database_url() -> str:
    """The test database, for a manage.py run in another process (the user is committed there)."""
    db = connection.settings_dict
    if connection.vendor != "postgresql":
        return os.environ.get("DATABASE_URL", "")
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.mark.parametrize("options, message", BAD, ids=[" ".join(o) for o, _ in BAD])
def test_bad_options_on_the_command_line_exit_non_zero_without_a_traceback(transactional_db, options, message):
    user = UserFactory(username="tok-cli")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CODA_"))}
    if url := _database_url():
        env["DATABASE_URL"] = url
    result = subprocess.run([sys.executable, "manage.py", "create_token", user.username, *options], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and "OverflowError" not in result.stderr
    assert message in result.stderr
    assert result.stdout == ""
    assert not AuthToken.objects.filter(user=user).exists()
