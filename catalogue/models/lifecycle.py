"""Lifecycle: the statuses a model passes through and the one rule that derives them from dates."""

from datetime import date

from django.db import models


class LifecycleStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    LEGACY = "legacy", "Legacy"
    DEPRECATED = "deprecated", "Deprecated"
    RETIRED = "retired", "Retired"


def lifecycle_status(*, deprecated_on, legacy_on, retires_on, today: date) -> str:
    """Derive the lifecycle status from dates, so it is never stale (mirrors selectors.status_expression)."""
    if retires_on and retires_on <= today:
        return LifecycleStatus.RETIRED
    if (deprecated_on and deprecated_on <= today) or (retires_on and not deprecated_on):
        return LifecycleStatus.DEPRECATED
    if legacy_on and legacy_on <= today:
        return LifecycleStatus.LEGACY
    return LifecycleStatus.ACTIVE
