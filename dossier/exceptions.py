"""Dossier errors: each names what is wrong and how to fix it; the API answers 4xx, the CLI exits 1."""

from core.exceptions import ConflictError, DomainError


class TranscriptFormatError(DomainError):
    code = "transcript_format"


class TurnOrderGap(DomainError):
    code = "turn_order_gap"


class RequestWithoutTurn(DomainError):
    code = "request_without_turn"


class QuoteNotInTurn(DomainError):
    code = "quote_not_in_turn"


class InvalidResponse(DomainError):
    code = "invalid_response"


class InvalidTransition(ConflictError):
    code = "invalid_transition"


class PublishedBeforeRetirement(DomainError):
    code = "published_before_retirement"


class OutsideSeriesWindow(DomainError):
    code = "outside_series_window"


class RestrictedDocumentsInPublicFiles(DomainError):
    code = "restricted_documents_in_public_files"
