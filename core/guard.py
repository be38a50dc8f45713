"""Refuse, before any view runs, requests no view can answer: a NUL character in the path or query string
(PostgreSQL cannot hold one in a text value, so a lookup with it was a 500), and a declared body larger than
Django will read (DATA_UPLOAD_MAX_MEMORY_SIZE; Django's own refusal is an HTML 400). Both answer in the API's
JSON error shape, and so does any HTML error page Django itself gives under /api/v1/ (no route matched)."""

from django.conf import settings
from django.http import JsonResponse

from core.errors import error_body


JSON_PREFIXES = ("/api/v1/",)
# Doors whose every answer, errors included, is in their own protocol: they refuse a NUL in their arguments
# themselves (OAI-PMH: badArgument in an OAI-PMH answer, archive/oai/arguments.py).
OWN_ARGUMENT_CHECKS = ("/oai",)
DJANGO_CODES = {400: "bad_request", 403: "permission_denied", 404: "not_found", 405: "method_not_allowed", 500: "server_error"}


def _refuse(status_code: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse(error_body(status_code=status_code, code=code, detail=detail), status=status_code)


def _has_nul(request) -> bool:
    if "\x00" in request.path_info:
        return True
    if request.path_info in OWN_ARGUMENT_CHECKS:
        return False
    return any("\x00" in key or any("\x00" in v for v in values) for key, values in request.GET.lists())


class RequestGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _has_nul(request):
            return _refuse(400, "invalid", "The URL contains a NUL character.")
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        content_type = request.META.get("CONTENT_TYPE", "")
        # Multipart bodies carry uploads, which Django streams to disk; its per-field limit still applies.
        if limit is not None and not content_type.startswith("multipart/"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > limit:
                return _refuse(413, "request_too_large", f"The request body is larger than {limit} bytes.")
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and request.path_info.startswith(JSON_PREFIXES)
            and response.get("Content-Type", "").startswith("text/html")
        ):
            # Django's own pages (no route matched, a request it refused): the API answers JSON even then.
            return _refuse(response.status_code, DJANGO_CODES.get(response.status_code, "error"), response.reason_phrase)
        return response
