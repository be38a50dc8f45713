"""The base of every API input serializer: a field the request cannot write is refused by name, never dropped."""

from collections.abc import Mapping

from rest_framework import serializers

# Sent by the browsable API's HTML forms alongside the fields.
IGNORED_KEYS = {"csrfmiddlewaretoken"}


class InputSerializer(serializers.Serializer):
    """Validates the shape of a write. A key that is unknown or read-only (say `status` or `id` on a model) is a
    400 naming that key, so a client never takes a 200 for a change that did not happen."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            writable = sorted(name for name, field in self.fields.items() if not field.read_only)
            refused = [key for key in data if key not in writable and key not in IGNORED_KEYS]
            if refused:
                message = "This field cannot be written here; writable fields: " + (", ".join(writable) or "none") + "."
                raise serializers.ValidationError({str(key): [message] for key in refused})
        return super().to_internal_value(data)
