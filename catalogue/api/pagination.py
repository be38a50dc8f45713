from rest_framework.pagination import CursorPagination


class CodaCursorPagination(CursorPagination):
    """Cursor pagination: stable under inserts, constant cost at any depth."""

    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = ("sort_id",)
