"""What the API accepts, strictly: the base of every input serializer (a field the request cannot write is refused
by name, never dropped; text is text), the one reading of a boolean query parameter, and date-time filters that
reach the database in UTC."""

from collections.abc import Mapping
from datetime import UTC
from functools import cache

import django_filters
from django import forms
from rest_framework import serializers

# Sent by the browsable API's HTML forms alongside the fields.
IGNORED_KEYS = {"csrfmiddlewaretoken"}

# The spellings of a boolean query parameter: OpenAPI's `true`/`false` (what the schema documents) and the `1`/`0`
# the API has always taken, in any case. Anything else is a 400 naming the parameter, never a filter left off.
QUERY_TRUE = frozenset({"true", "1"})
QUERY_FALSE = frozenset({"false", "0"})
QUERY_BOOL_HELP = "true or false (1 and 0 are read the same)."


def _json_type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


class StrictText:
    """Mixed into a text field (CharField and its kin: SlugField, URLField, RegexField …): the value must be a JSON
    string. DRF's own fields turn 5 into "5" and true into "True"; a client that sends a number where the schema says
    string has a bug it should hear about."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            raise serializers.ValidationError(f"Expected a string, got {_json_type(data)}.", code="invalid")
        return super().to_internal_value(data)


class StrictCharField(StrictText, serializers.CharField):
    """The API's text field: a string, and only a string."""


@cache
def strict_text_class(field_class: type) -> type:
    """The strict twin of a text field class (StrictCharField for CharField); other classes are returned as they are."""
    if not issubclass(field_class, serializers.CharField) or issubclass(field_class, StrictText):
        return field_class
    if field_class is serializers.CharField:
        return StrictCharField
    return type(f"Strict{field_class.__name__}", (StrictText, field_class), {"__module__": __name__})


def strict_text(field: serializers.Field) -> serializers.Field:
    """`field` with every text field in it strict: itself, a list's items, a dict's values. Rebuilt from the arguments
    it was declared with, as DRF itself does when it copies a declared field for each serializer instance."""
    kwargs = field._kwargs
    child = kwargs.get("child")
    if isinstance(child, serializers.Field) and not isinstance(child, serializers.BaseSerializer):
        strict_child = strict_text(child)
        if strict_child is not child:
            kwargs = {**kwargs, "child": strict_child}
    field_class = strict_text_class(type(field))
    if field_class is type(field) and kwargs is field._kwargs:
        return field
    return field_class(*field._args, **kwargs)


class InputSerializer(serializers.Serializer):
    """Validates the shape of a write. A key that is unknown or read-only (say `status` or `id` on a model) is a
    400 naming that key, so a client never takes a 200 for a change that did not happen."""

    # The docstring is every request body's description in the OpenAPI schema, so it speaks to clients only.

    def get_fields(self):
        # Every text field, declared here or in a subclass, is a strict one (StrictText): a number or a boolean where
        # a string belongs is a 400 naming the field, as the schema (`type: string`) says.
        return {name: strict_text(field) for name, field in super().get_fields().items()}

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            writable = sorted(name for name, field in self.fields.items() if not field.read_only)
            refused = [key for key in data if key not in writable and key not in IGNORED_KEYS]
            if refused:
                message = "This field cannot be written here; writable fields: " + (", ".join(writable) or "none") + "."
                raise serializers.ValidationError({str(key): [message] for key in refused})
        return super().to_internal_value(data)


def _spelled_bool(text: str) -> bool | None:
    lowered = text.lower()
    return True if lowered in QUERY_TRUE else False if lowered in QUERY_FALSE else None


def _not_a_bool(text: str) -> str:
    return f"Use true or false, not {text[:40]!r}."


def query_bool(value: str | None, *, name: str) -> bool | None:
    """A boolean query parameter: None when absent, else True/False for the documented spellings, else a 400
    naming the parameter (an empty value is not a boolean either)."""
    if value is None:
        return None
    read = _spelled_bool(value)
    if read is None:
        raise serializers.ValidationError({name: [_not_a_bool(value)]})
    return read


class StrictBooleanFormField(forms.Field):
    """django-filter's BooleanFilter reads anything it does not know (`-1`, `yes please`, ``) as "no filter" and
    answers the unfiltered list; this one refuses it, so DjangoFilterBackend answers 400 naming the parameter."""

    def to_python(self, value):
        if value is None:
            return None
        read = _spelled_bool(str(value))
        if read is None:
            raise forms.ValidationError(_not_a_bool(str(value)), code="invalid")
        return read

    def validate(self, value):
        pass  # None (absent) is allowed: the filter is optional


class StrictBooleanFilter(django_filters.BooleanFilter):
    """Every boolean filter of the API (documented as `type: boolean`)."""

    field_class = StrictBooleanFormField

    def __init__(self, *args, **kwargs):
        help_text = kwargs.pop("help_text", "")
        kwargs["help_text"] = f"{help_text} {QUERY_BOOL_HELP}".strip()
        super().__init__(*args, **kwargs)


class UtcIsoDateTimeFormField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 date-time, handed to the database in UTC. Python accepts offsets up to ±23:59 but PostgreSQL
    refuses any past ±15:59 (a 500 that also aborted the request's transaction); in UTC every offset is fine, and
    a date-time that has no UTC equivalent (0001-01-01T00:00+05:00) is a 400."""

    def to_python(self, value):
        parsed = super().to_python(value)
        if parsed is None or parsed.tzinfo is None:
            return parsed
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    """Every date-time filter of the API."""

    field_class = UtcIsoDateTimeFormField
