"""Domain errors: each carries a clear message and the HTTP status the API answers with."""


class DomainError(Exception):
    """Base class for errors a user can fix; the API maps them to 4xx JSON, the CLI to exit 1."""

    status_code = 400
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class NotFoundError(DomainError):
    status_code = 404
    code = "not_found"


class ConflictError(DomainError):
    status_code = 409
    code = "conflict"


class ForbiddenError(DomainError):
    status_code = 403
    code = "permission_denied"


class UnavailableError(Exception):
    """A service Coda depends on (storage) cannot be reached now; the API answers 503 with Retry-After.
    Not a DomainError: the user can do nothing but try again later. `str(exc)` is the technical cause
    (for events and logs); `public_message` is what a client is told."""

    status_code = 503
    code = "storage_unavailable"
    public_message = "Storage is temporarily unavailable; try again later."
