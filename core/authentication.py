"""API token authentication: knox tokens (hashed at rest, expiring, revocable) sent as
`Authorization: Bearer <token>` or `Authorization: Token <token>`."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from django.utils.translation import gettext_lazy as _
from knox.auth import TokenAuthentication
from rest_framework import exceptions
from rest_framework.authentication import get_authorization_header

from core import throttling

ACCEPTED_PREFIXES = {b"bearer", b"token"}


class BearerTokenAuthentication(TokenAuthentication):
    def authenticate(self, request):
        auth = get_authorization_header(request).split()
        if not auth or auth[0].lower() not in ACCEPTED_PREFIXES:
            return None
        # Token guessing is throttled per address: at the limit every token answers 429, a valid one included.
        if throttling.bearer_locked(request):
            raise exceptions.Throttled(wait=throttling.window(), detail="Too many invalid tokens from this address.")
        try:
            if len(auth) != 2:
                raise exceptions.AuthenticationFailed(_("Invalid Authorization header: expected '<scheme> <token>'."))
            return self.authenticate_credentials(auth[1])
        except exceptions.AuthenticationFailed:
            throttling.bearer_failure_record(request)
            raise

    def authenticate_header(self, request) -> str:
        return "Bearer"


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Documents the token scheme in the OpenAPI schema."""

    target_class = "core.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "Coda API token (`manage.py create_token`)."}
