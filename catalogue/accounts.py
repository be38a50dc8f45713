"""Researcher accounts: sign-up (self-service or by a curator's invitation) and personal API tokens."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.db import transaction
from knox.models import AuthToken

from core.exceptions import ConflictError, ForbiddenError, NotFoundError
from catalogue.permissions import is_curator

INVITE_SALT = "coda.invitation"
INVITE_MAX_AGE = 14 * 24 * 3600


def invitation_create(*, inviter, email: str) -> str:
    """A signed invitation token for `email` (valid 14 days); curators only."""
    if not is_curator(inviter):
        raise ForbiddenError("Only curators may invite researchers.")
    return signing.dumps({"email": email.strip().lower(), "by": inviter.get_username()}, salt=INVITE_SALT)


def invitation_email(token: str) -> str | None:
    """The invited email address, or None when the token is forged or older than 14 days."""
    try:
        return signing.loads(token, salt=INVITE_SALT, max_age=INVITE_MAX_AGE)["email"]
    except (signing.BadSignature, KeyError, TypeError):
        return None


def invitation_used(email: str) -> bool:
    """An invitation is spent once an account holds its address (the account is created with it)."""
    return get_user_model().objects.filter(email__iexact=email).exists()


def invitation_open(token: str | None) -> str | None:
    """The invited address of a genuine, unexpired and unused invitation; otherwise None."""
    email = invitation_email(token) if token else None
    return email if email and not invitation_used(email) else None


def signup_allowed(*, invitation: str | None) -> bool:
    return settings.CODA_SELF_SIGNUP or bool(invitation_open(invitation))


@transaction.atomic
def user_signup(*, username: str, email: str, password: str, invitation: str | None = None):
    """Create a researcher account (no curator rights); refused when self sign-up is off and no valid invitation.
    An invitation makes one account: a second sign-up with it is refused."""
    if not signup_allowed(invitation=invitation):
        raise ForbiddenError("Sign-up is by invitation: ask a curator to invite you (an invitation makes one account).")
    invited = invitation_email(invitation) if invitation else None
    if invited and invitation_used(invited):
        raise ConflictError("This invitation has already been used to create an account.", code="invitation_used")
    user = get_user_model().objects.create_user(username=username, email=invited or email, password=password)
    return user


def api_token_create(*, user, expires_days: int | None = None, never_expires: bool = False) -> tuple[AuthToken, str]:
    """A personal API token; the plain token is returned once and stored only as a digest. It expires after
    `expires_days`, else after CODA_TOKEN_TTL_DAYS; it never expires only when asked (or when the TTL is 0)."""
    if never_expires:
        expiry = None
    elif expires_days:
        expiry = timedelta(days=expires_days)
    else:
        expiry = timedelta(days=settings.CODA_TOKEN_TTL_DAYS) if settings.CODA_TOKEN_TTL_DAYS > 0 else None
    return AuthToken.objects.create(user=user, expiry=expiry)


def api_token_revoke(*, user, token_key: str) -> int:
    """Delete the user's token(s) with this key prefix; another user's tokens are never touched."""
    deleted, _ = AuthToken.objects.filter(user=user, token_key=token_key).delete()
    if not deleted:
        raise NotFoundError(f"You have no token {token_key!r}.", code="token_not_found")
    return deleted
