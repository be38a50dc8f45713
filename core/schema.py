"""The OpenAPI schema says which error answers each operation can give, in the one error shape (core/errors.py).

drf-spectacular documents only the success answer. Each operation here also documents, as the `Error` component:
400 when it reads a body or query parameters, 401 always (a bad or expired token is refused before anything else),
403 when the caller's role can be refused (writes, curator-only and sign-in-only views) or a CSRF check applies,
404 when the path names something, 409/413/415 when it reads a body, 429 always (bad bearer tokens are throttled per address on every route). Operations that
anonymous callers may use list `{}` among their security requirements (authentication is optional there).
A door that answers a withdrawn model or snapshot with 410 Gone says so with `withdrawn_answer()` (the `Withdrawn`
shape: the error, the tombstone and, where the door keeps it, the record).

The success answer says null where the value can be null: a declared read-only field whose source runs through a
nullable column, a nullable relation, a missing reverse one-to-one or a property annotated `-> X | None` is
documented nullable even when the field itself does not say `allow_null` (DRF writes null there regardless).
"""

import re
import typing
from types import NoneType, UnionType

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import ForeignObjectRel
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import append_meta, force_instance, is_basic_serializer
from drf_spectacular.utils import OpenApiResponse
from rest_framework import permissions, serializers
from rest_framework.relations import ManyRelatedField

from core.input import InputSerializer
from core.permissions import CuratorWriteOrReadOnly


class ErrorSerializer(serializers.Serializer):
    """The JSON error shape every 4xx answer uses."""

    status = serializers.IntegerField()
    code = serializers.CharField()
    detail = serializers.CharField()
    errors = serializers.JSONField(required=False, help_text="Field name → messages, for validation errors.")

    class Meta:
        ref_name = "Error"


class TombstoneSerializer(serializers.Serializer):
    """When and why a model or a snapshot was withdrawn."""

    withdrawn = serializers.BooleanField(required=False)
    withdrawn_at = serializers.DateTimeField()
    reason = serializers.CharField()
    scope = serializers.ChoiceField(
        choices=["model", "snapshot"], required=False, help_text="What was withdrawn: the snapshot itself, or its model."
    )

    class Meta:
        ref_name = "Tombstone"


class WithdrawnSerializer(ErrorSerializer):
    """410 Gone, code `withdrawn`, for every role: the record and its citation stay, the files and exports do not."""

    tombstone = TombstoneSerializer()

    class Meta:
        ref_name = "Withdrawn"


def error_answer(code: str, description: str | None = None) -> OpenApiResponse:
    """An error answer in the Error shape, for a view to document one the rules below cannot know of (say the 403 of
    a file rule on a view anonymous readers may call)."""
    return OpenApiResponse(response=ErrorSerializer, description=description or ERROR_DESCRIPTIONS[code])


def withdrawn_answer(serializer=WithdrawnSerializer) -> OpenApiResponse:
    """The documented 410 of a door that answers a withdrawn model or snapshot with its tombstone; `serializer` is
    WithdrawnSerializer or a subclass that adds the record the door keeps."""
    return OpenApiResponse(response=serializer, description="Withdrawn (the model or the snapshot): the tombstone says when and why")


def _optional(annotation) -> bool:
    return annotation is None or annotation is NoneType or (
        typing.get_origin(annotation) in (typing.Union, UnionType) and NoneType in typing.get_args(annotation)
    )


def _source_may_be_null(model: type[models.Model], attrs: list[str]) -> bool:
    """Whether following `attrs` from a `model` instance can end in None (DRF then writes null for the field)."""
    for position, attr in enumerate(attrs):
        last = position == len(attrs) - 1
        try:
            field = model._meta.get_field(attr)
        except FieldDoesNotExist:
            attribute = getattr(model, attr, None)
            function = attribute.fget if isinstance(attribute, property) else getattr(attribute, "func", attribute)
            if not callable(function):
                return False
            try:
                returned = typing.get_type_hints(function).get("return")
            except (NameError, TypeError):
                return False
            if _optional(returned):
                return True
            if last or not (isinstance(returned, type) and issubclass(returned, models.Model)):
                return False
            model = returned
            continue
        if isinstance(field, ForeignObjectRel) and field.one_to_one:
            return True  # a reverse one-to-one that may not exist: DRF answers None for DoesNotExist
        if getattr(field, "null", False) and not field.many_to_many and not field.one_to_many:
            return True
        if last or not field.is_relation or field.related_model is None:
            return False
        model = field.related_model
    return False


def response_may_be_null(field: serializers.Field) -> bool:
    """A declared field DRF can answer null for although it does not say allow_null (see the module docstring)."""
    parent = field.parent
    model = getattr(getattr(parent, "Meta", None), "model", None)
    if field.allow_null or model is None or field.source == "*" or isinstance(field, (ManyRelatedField, serializers.ListSerializer)):
        return False
    return _source_may_be_null(model, list(field.source_attrs))


ERROR_DESCRIPTIONS = {
    "400": "Invalid input (the message names the field)",
    "401": "Missing, malformed or expired credentials",
    "403": "Not allowed for this user",
    "404": "No such object, or not visible to this user",
    "409": "The object's current state does not allow this change",
    "413": "Request body too large",
    "415": "Unsupported request media type",
    "429": "Too many requests",
}
BODY_METHODS = {"POST", "PUT", "PATCH"}


class CodaAutoSchema(AutoSchema):
    def get_tags(self) -> list[str]:
        """The operation's group in /api/docs/: the first of settings.API_TAG_RULES matching its path after
        /api/v1/ (drf-spectacular's default, the path's first segment, put everything under "v1")."""
        path = re.sub(r"^/api/v\d+/", "", self.path)
        for pattern, tag in settings.API_TAG_RULES:
            if re.match(pattern + r"(/|$)", path):
                return [tag]
        return super().get_tags()

    def _anonymous_allowed(self) -> bool:
        perms = [type(p) for p in self.view.get_permissions()]
        if self.method in permissions.SAFE_METHODS:
            return all(p in (permissions.AllowAny, CuratorWriteOrReadOnly) for p in perms)
        return all(p is permissions.AllowAny for p in perms)

    def get_auth(self):
        auths = super().get_auth()
        if {} not in auths and self._anonymous_allowed():
            auths.append({})
        return auths

    def map_parsers(self):
        # Bodies are JSON. Form encodings are documented only where a file is uploaded: a form carries every value
        # as text, so a schema typed for JSON (numbers, arrays) cannot describe it.
        media_types = super().map_parsers()
        serializer = self.get_request_serializer()
        uploads = is_basic_serializer(serializer) and any(
            isinstance(field, serializers.FileField) for field in force_instance(serializer).fields.values()
        )
        if uploads or "application/json" not in media_types:
            return media_types
        return ["application/json"]

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if direction == "response" and schema is not None and response_may_be_null(field):
            schema = append_meta(schema, {"nullable": True})
        return schema

    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "request" and isinstance(force_instance(serializer), InputSerializer):
            schema["additionalProperties"] = False  # InputSerializer refuses any other key by name
        return schema

    def _error_codes(self) -> list[str]:
        has_body = self.method in BODY_METHODS
        codes = ["401", "429"]  # 429: bad bearer tokens from one address are throttled on every route (core/throttling.py)
        if has_body or self.method in permissions.SAFE_METHODS:
            codes.append("400")  # query parameters (filters, page_size, cursor) or a body
        if not self._anonymous_allowed() or has_body:
            codes.append("403")
        if "{" in self.path:
            codes.append("404")
        if has_body:
            codes += ["409", "413", "415"]  # 409: the object's state forbids the change (sealed, decided, in review)
        return codes

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in self._error_codes():
            if code not in responses:
                error = OpenApiResponse(response=ErrorSerializer, description=ERROR_DESCRIPTIONS[code])
                responses[code] = self._get_response_for_code(error, code, direction=direction)
        return responses
