"""Doors that take a secret are throttled: password sign-in (web, admin, API browser login), bearer tokens and
token creation. Counters live in Django's default cache (Redis when CODA_CACHE_URL is set, so every web process
shares them; a file cache under var/ otherwise), in fixed windows of CODA_AUTH_WINDOW_SECONDS.

- Sign-in failures are counted per client address and per username (Django's `user_login_failed` signal, sent by
  every `authenticate()` call). At the limit, `SignInThrottleBackend` refuses every further attempt, a correct
  password included, until the window passes; the sign-in views answer 429 (`sign_in_guard`).
- Bearer-token failures (unknown, expired or malformed tokens) are counted per client address; at the limit any
  token from that address answers 429 (`core.authentication.BearerTokenAuthentication`).
- Token creation is a plain rate: CODA_TOKEN_CREATE_LIMIT per user per window.

The client address is DRF's (`REMOTE_ADDR`, or the X-Forwarded-For entry CODA_NUM_PROXIES proxies back).
"""

import hashlib
from functools import wraps

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.http import HttpResponse
from rest_framework.throttling import BaseThrottle

KEY_PREFIX = "coda:throttle"


def client_address(request) -> str:
    """The client's address as DRF's throttles see it (proxies counted by REST_FRAMEWORK['NUM_PROXIES'])."""
    return BaseThrottle().get_ident(request) or "unknown"


def _key(scope: str, ident: str) -> str:
    # Hashed: usernames and addresses may hold characters a cache key must not.
    return f"{KEY_PREFIX}:{scope}:{hashlib.sha256(ident.encode()).hexdigest()[:32]}"


def window() -> int:
    return settings.CODA_AUTH_WINDOW_SECONDS


def hit(scope: str, ident: str) -> int:
    """Count one event in the current window of (scope, ident); returns the count."""
    key = _key(scope, ident)
    cache.add(key, 0, timeout=window())  # the window starts at the first event and is not extended
    try:
        return cache.incr(key)
    except ValueError:  # the window ended between add and incr
        cache.add(key, 1, timeout=window())
        return 1


def count(scope: str, ident: str) -> int:
    return cache.get(_key(scope, ident), 0)


def _sign_in_limits(request, username: str | None) -> list[tuple[str, str, int]]:
    limits = [("signin-address", client_address(request), settings.CODA_AUTH_FAILURES_PER_ADDRESS)]
    if username:
        limits.append(("signin-user", username.strip().lower(), settings.CODA_AUTH_FAILURES_PER_USER))
    return limits


def sign_in_locked(request, username: str | None) -> bool:
    """True while this address, or this username, has reached its failure limit in the current window."""
    return any(count(scope, ident) >= limit for scope, ident, limit in _sign_in_limits(request, username))


@receiver(user_login_failed, dispatch_uid="coda-sign-in-failure")
def sign_in_failure_record(sender, credentials, request=None, **kwargs):
    """Every failed `authenticate()` that came with a request counts against its address and username."""
    if request is None:
        return
    for scope, ident, _ in _sign_in_limits(request, credentials.get("username")):
        hit(scope, ident)


class SignInThrottleBackend:
    """First in AUTHENTICATION_BACKENDS: once locked, no backend checks the password (not even a correct one)."""

    def authenticate(self, request, username=None, **credentials):
        if request is not None and sign_in_locked(request, username):
            raise PermissionDenied("Too many failed sign-ins; try again later.")
        return None  # no get_user(): this backend never signs anyone in (and force_login skips it)


def too_many(message: str) -> HttpResponse:
    response = HttpResponse(message, status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(window())
    return response


def sign_in_guard(view):
    """A sign-in view that answers 429 (not its form again) while the address or the username is locked."""

    @wraps(view)
    def guarded(request, *args, **kwargs):
        if request.method != "POST":
            return view(request, *args, **kwargs)
        username = request.POST.get("username")
        if sign_in_locked(request, username):
            return too_many("Too many failed sign-ins from this address or for this account; try again later.")
        response = view(request, *args, **kwargs)
        if response.status_code == 200 and sign_in_locked(request, username):  # this failure reached the limit
            return too_many("Too many failed sign-ins from this address or for this account; try again later.")
        return response

    return guarded


def bearer_locked(request) -> bool:
    return count("bearer", client_address(request)) >= settings.CODA_AUTH_FAILURES_PER_ADDRESS


def bearer_failure_record(request) -> None:
    hit("bearer", client_address(request))


def token_create_allowed(user) -> bool:
    """Counts this creation; False past CODA_TOKEN_CREATE_LIMIT in the window."""
    return hit("token-create", str(user.pk)) <= settings.CODA_TOKEN_CREATE_LIMIT
