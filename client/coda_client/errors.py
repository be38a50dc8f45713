"""Exceptions mapped from the API's JSON error shape {"status", "code", "detail", "errors"}."""


class CodaError(Exception):
    """An error answer from Coda: HTTP status, the API's `code`, its message and field errors."""

    def __init__(self, status: int, code: str, detail: str, errors=None):
        super().__init__(f"{status} {code}: {detail}")
        self.status, self.code, self.detail, self.errors = status, code, detail, errors


class ValidationFailed(CodaError):
    pass


class Unauthenticated(CodaError):
    pass


class PermissionDenied(CodaError):
    pass


class NotFound(CodaError):
    pass


class Conflict(CodaError):
    pass


class Unavailable(CodaError):
    pass


BY_STATUS = {400: ValidationFailed, 401: Unauthenticated, 403: PermissionDenied, 404: NotFound, 409: Conflict,
             503: Unavailable}
# Codes that name their class whatever the status.
BY_CODE = {"not_found": NotFound, "model_not_found": NotFound, "snapshot_not_found": NotFound,
           "job_not_found": NotFound, "file_not_found": NotFound, "conflict": Conflict, "tag_exists": Conflict,
           "permission_denied": PermissionDenied, "not_authenticated": Unauthenticated,
           "authentication_failed": Unauthenticated, "storage_unavailable": Unavailable}


def error_for(status: int, body) -> CodaError:
    body = body if isinstance(body, dict) else {}
    code = str(body.get("code") or "error")
    detail = str(body.get("detail") or body.get("error") or f"HTTP {status}")
    cls = BY_CODE.get(code) or BY_STATUS.get(status, CodaError)
    return cls(status, code, detail, body.get("errors"))
