from rest_framework import serializers

from catalogue.exceptions import NotFoundError
from catalogue.selectors import model_get


class ModelRefField(serializers.CharField):
    """A model referenced by its `provider/name` id."""

    default_error_messages = {"invalid": "Expected a model id of the form 'provider/name'."}

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "Model id, 'provider/name'.")
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str) or "/" not in data:
            self.fail("invalid")
        try:
            return model_get(repo_id=data)
        except NotFoundError as exc:
            raise serializers.ValidationError(exc.message) from None

    def to_representation(self, value):
        return value.repo_id if value is not None else None
