from rest_framework import serializers

from core.exceptions import NotFoundError
from catalogue.permissions import REPLACEMENT_VISIBLE, visible_replacement
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


class ReplacementField(ModelRefField):
    """A model's replacement (read only), null for readers who may not see the replacement
    (catalogue.permissions.visible_replacement). `of` names the model on the instance ("" = the instance)."""

    def __init__(self, *, of: str = "", **kwargs):
        self.of = of
        kwargs.update(read_only=True, allow_null=True)
        super().__init__(**kwargs)

    def get_attribute(self, instance):
        model = getattr(instance, self.of) if self.of else instance
        request = self.context.get("request")
        return visible_replacement(
            getattr(request, "user", None), model, annotated=getattr(instance, REPLACEMENT_VISIBLE, None)
        )
