"""The OpenAPI schema says which error answers each operation can give, in the one error shape (core/errors.py).

drf-spectacular documents only the success answer. Each operation here also documents, as the `Error` component:
400 when it reads a body or query parameters, 401 always (a bad or expired token is refused before anything else),
403 when the caller's role can be refused (writes, curator-only and sign-in-only views) or a CSRF check applies,
404 when the path names something, 409/413/415 when it reads a body, 429 always (bad bearer tokens are throttled per address on every route). Operations that
anonymous callers may use list `{}` among their security requirements (authentication is optional there).
"""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import force_instance, is_basic_serializer
from drf_spectacular.utils import OpenApiResponse
from rest_framework import permissions, serializers

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
