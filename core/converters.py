"""The `<id:pk>` path converter: a row id is 1-18 ASCII digits, so it always fits a 64-bit key (Django's `<int:>`
let a 30-digit id through to the database: an overflow, a 500). Anything else matches no route: 404."""

from django.urls import register_converter
from django.urls.converters import IntConverter


class RowIdConverter(IntConverter):
    regex = "[0-9]{1,18}"


register_converter(RowIdConverter, "id")
