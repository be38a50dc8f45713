"""API filters (django-filter): pairs by key and by slug, one free-text search."""

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from rest_framework.filters import OrderingFilter

from catalogue.models import AIModel, LifecycleStatus, PreservationStatus, Provider, Retirement
from catalogue.permissions import visible_model_ids
from catalogue.selectors import search_models, status_q
from core.input import StrictBooleanFilter


class RowIdChoiceField(django_filters.fields.ModelMultipleChoiceField):
    """Ids are checked to fit a 64-bit key before the database sees them (a 30-digit id overflowed: a 500)."""

    def _check_values(self, value):
        for pk in value:
            text = str(pk)
            if not (text.isascii() and text.isdigit() and len(text) <= 18):
                raise ValidationError(self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": pk})
        return super()._check_values(value)


class RowIdMultipleChoiceFilter(django_filters.ModelMultipleChoiceFilter):
    field_class = RowIdChoiceField


class SlugInFilter(django_filters.BaseInFilter, django_filters.CharFilter):
    """`?provider=anthropic` or `?provider=anthropic,openai`."""


class ModelFilterSet(django_filters.FilterSet):
    provider = SlugInFilter(field_name="provider__slug", help_text="Provider slug(s), comma-separated.")
    provider_id = RowIdMultipleChoiceFilter(field_name="provider", queryset=Provider.objects.all())
    family = django_filters.CharFilter(field_name="family", lookup_expr="iexact")
    # Single-table columns: no join can duplicate rows, so no DISTINCT (it made the filtered list ~1.5x slower).
    # Filtered as date comparisons (selectors.status_q), not on the annotated CASE: the database can use them.
    status = django_filters.MultipleChoiceFilter(
        method="filter_status", choices=LifecycleStatus.choices, distinct=False
    )
    retiring_after = django_filters.DateFilter(field_name="retires_on", lookup_expr="gte")
    retiring_before = django_filters.DateFilter(field_name="retires_on", lookup_expr="lte")
    has_replacement = StrictBooleanFilter(
        method="filter_has_replacement", help_text="Has a replacement the reader may see."
    )
    tag = django_filters.CharFilter(field_name="tags__slug", distinct=True)
    # Reads the stored AIModel.preservation_status, written only by archive.preservation (the one module that decides
    # whether a model is preserved); the catalogue never imports the archive.
    preservation = django_filters.MultipleChoiceFilter(
        field_name="preservation_status", choices=PreservationStatus.choices, distinct=False
    )
    q = django_filters.CharFilter(method="filter_q", label="Search")

    class Meta:
        model = AIModel
        fields = ["provider", "provider_id", "family", "status", "tag"]

    def filter_status(self, queryset, name, value):
        return queryset.filter(status_q(value, timezone.localdate()))

    def filter_q(self, queryset, name, value):
        return search_models(queryset, value)

    def filter_has_replacement(self, queryset, name, value):
        # A replacement the reader may not see counts as none (catalogue.permissions.visible_model_ids).
        replaced = Q(replacement__in=visible_model_ids(getattr(self.request, "user", None)))
        return queryset.filter(replaced) if value else queryset.exclude(replaced)


class RetirementFilterSet(django_filters.FilterSet):
    provider = SlugInFilter(field_name="model__provider__slug", help_text="Provider slug(s), comma-separated.")
    reason_category = django_filters.CharFilter()
    access_after_retirement = django_filters.CharFilter()
    retiring_after = django_filters.DateFilter(field_name="model__retires_on", lookup_expr="gte")
    retiring_before = django_filters.DateFilter(field_name="model__retires_on", lookup_expr="lte")

    class Meta:
        model = Retirement
        fields = ["provider", "reason_category", "access_after_retirement"]


class AliasOrderingFilter(OrderingFilter):
    """Ordering with public names mapped to non-null sort annotations (cursor pagination needs them)."""

    aliases: dict[str, str] = {}

    def get_ordering(self, request, queryset, view):
        params = request.query_params.get(self.ordering_param)
        if not params:
            return self.get_default_ordering(view)
        result = []
        for term in (p.strip() for p in params.split(",")):
            desc = term.startswith("-")
            key = self.aliases.get(term.lstrip("-"))
            if key:
                result.append(("-" if desc else "") + key)
        return result or self.get_default_ordering(view)

    def get_valid_fields(self, queryset, view, context=None):
        return [(alias, alias) for alias in self.aliases]


class ModelOrderingFilter(AliasOrderingFilter):
    aliases = {
        "id": "repo_key",
        "retires_on": "retires_sort",
        "deprecated_on": "deprecated_sort",
        "release_date": "released_sort",
        "created_at": "created_at",
        "updated_at": "updated_at",
    }
