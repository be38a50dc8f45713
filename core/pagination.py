import re

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination

BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")


class CodaCursorPagination(CursorPagination):
    """Cursor pagination: stable under inserts, constant cost at any depth. Views name their ordering.
    An empty `cursor=` is the first page, as an absent one is (a script that starts from `cursor=$NEXT` with NEXT
    still empty gets the first page, not an error)."""

    page_size_query_param = "page_size"
    cursor_query_description = (
        "Opaque: the value in a response's `next` or `previous` link. Absent or empty: the first page."
    )
    max_page_size = 500
    ordering = ("-pk",)

    def get_page_size(self, request):
        # DRF falls back to the default for a bad page_size; a client asking for 0, -1, "abc" or 10**9 rows gets
        # told instead of a page it did not ask for.
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= self.max_page_size:
            raise ValidationError({self.page_size_query_param: [f"A whole number from 1 to {self.max_page_size}."]})
        return int(raw)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
        return parameters

    def decode_cursor(self, request):
        # DRF answers a cursor it cannot decode with 404; it is a bad parameter, not a missing page.
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded == "":
            return None  # the first page
        if encoded is not None and not BASE64.fullmatch(encoded):
            raise self._invalid_cursor()  # b64decode would drop the stray characters and accept the rest
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            raise self._invalid_cursor() from None
        if cursor is not None and cursor.position is not None and "\x00" in cursor.position:
            raise self._invalid_cursor()
        return cursor

    def paginate_queryset(self, queryset, request, view=None):
        try:
            return super().paginate_queryset(queryset, request, view)
        except (ValueError, TypeError, DjangoValidationError):
            # A decodable cursor whose position does not fit the ordering field (a forged cursor).
            if not request.query_params.get(self.cursor_query_param):
                raise
            raise self._invalid_cursor() from None

    def _invalid_cursor(self):
        return ValidationError({self.cursor_query_param: ["Invalid cursor; use the `next`/`previous` links as given."]})

    def get_ordering(self, request, queryset, view):
        if any(hasattr(backend, "get_ordering") for backend in getattr(view, "filter_backends", [])):
            return super().get_ordering(request, queryset, view)
        ordering = getattr(view, "ordering", None) or self.ordering
        return (ordering,) if isinstance(ordering, str) else tuple(ordering)
