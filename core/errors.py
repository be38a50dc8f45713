"""One JSON error shape for every 4xx (and the 503 of an unreachable dependency): {"status", "code", "detail", "errors"}."""

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.exceptions import DomainError, UnavailableError


TOKEN_HINT = ("Send an API token as 'Authorization: Bearer <token>' (the coda command: --token or CODA_TOKEN; "
              "make one on your account page or with manage.py create_token).")


def _flatten(detail):
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [str(item) if not isinstance(item, (dict, list)) else _flatten(item) for item in detail]
    return str(detail)


def _first_message(errors) -> str:
    if isinstance(errors, dict):
        for key, value in errors.items():
            message = _first_message(value)
            return message if key in ("non_field_errors", "__all__") else f"{key}: {message}"
    if isinstance(errors, list) and errors:
        return _first_message(errors[0])
    return str(errors)


def error_body(*, status_code: int, code: str, detail: str, errors=None) -> dict:
    body = {"status": status_code, "code": code, "detail": detail}
    if errors:
        body["errors"] = errors
    return body


def unavailable_response(exc: UnavailableError) -> Response:
    """503 in the JSON error shape, with Retry-After (CODA_STORAGE_RETRY_AFTER seconds)."""
    response = Response(
        error_body(status_code=exc.status_code, code=exc.code, detail=exc.public_message), status=exc.status_code
    )
    response["Retry-After"] = str(settings.CODA_STORAGE_RETRY_AFTER)
    return response


def exception_handler(exc, context):
    if isinstance(exc, UnavailableError):
        return unavailable_response(exc)
    if isinstance(exc, DomainError):
        return Response(
            error_body(status_code=exc.status_code, code=exc.code, detail=exc.message), status=exc.status_code
        )
    if isinstance(exc, (RequestDataTooBig, TooManyFieldsSent)):
        # Django raises these while DRF reads the body (a chunked or multipart one the middleware could not size).
        code = 413 if isinstance(exc, RequestDataTooBig) else 400
        return Response(
            error_body(status_code=code, code="request_too_large", detail=str(exc) or "Request body too large."),
            status=code,
        )
    if isinstance(exc, DjangoValidationError):
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        errors = {("non_field_errors" if k == "__all__" else k): v for k, v in errors.items()}
        return Response(
            error_body(status_code=400, code="invalid", detail=_first_message(errors), errors=errors),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
        if isinstance(errors, list):
            errors = {"non_field_errors": errors}
        response.data = error_body(
            status_code=response.status_code, code="invalid", detail=_first_message(errors), errors=errors
        )
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        if response.status_code == 401:  # say how to pass one, whoever asks (curl, the client, the CLI)
            detail = f"{str(detail).rstrip('.')}. {TOKEN_HINT}"
        response.data = error_body(
            status_code=response.status_code,
            code=codes if isinstance(codes, str) else "error",
            detail=str(detail),
        )
    return response
