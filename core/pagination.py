from rest_framework.pagination import CursorPagination


class CodaCursorPagination(CursorPagination):
    """Cursor pagination: stable under inserts, constant cost at any depth. Views name their ordering."""

    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = ("-pk",)

    def get_ordering(self, request, queryset, view):
        if any(hasattr(backend, "get_ordering") for backend in getattr(view, "filter_backends", [])):
            return super().get_ordering(request, queryset, view)
        ordering = getattr(view, "ordering", None) or self.ordering
        return (ordering,) if isinstance(ordering, str) else tuple(ordering)
