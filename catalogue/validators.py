"""Validators for identifiers that end up in URLs and storage keys."""

import re

from django.core.exceptions import ValidationError

PROVIDER_SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
# Hub-style repo name: letters, digits, '-', '_', '.'; no '..', no leading/trailing '.' or '-'.
MODEL_NAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,198}[A-Za-z0-9_])?$")


def validate_provider_slug(value: str) -> None:
    if not PROVIDER_SLUG_RE.match(value or ""):
        raise ValidationError(
            "Provider slug %(value)r must be 1-64 lowercase letters, digits or '-', "
            "starting and ending with a letter or digit.",
            code="invalid_slug",
            params={"value": value},
        )


def validate_model_name(value: str) -> None:
    if not MODEL_NAME_RE.match(value or "") or ".." in value or value.endswith(".git"):
        raise ValidationError(
            "Model name %(value)r must be 1-200 characters of letters, digits, '-', '_' or '.', "
            "start with a letter or digit, and contain no '..'.",
            code="invalid_name",
            params={"value": value},
        )
