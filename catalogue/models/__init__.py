"""Catalogue domain: providers, models, per-platform availability, tags and retirements.

One module per concern; every model is importable from `catalogue.models` as before."""

from catalogue.models.access import (  # noqa: F401
    AccessChange,
    AccessRequest,
)
from catalogue.models.approvals import Proposal  # noqa: F401
from catalogue.models.ai_models import (  # noqa: F401
    AIModel,
    FileAccess,
    MetadataAccess,
    Modality,
    PlatformAvailability,
    PreservationStatus,
)
from catalogue.models.lifecycle import (  # noqa: F401
    LifecycleStatus,
    lifecycle_status,
)
from catalogue.models.providers import (  # noqa: F401
    Provider,
    Tag,
)
from catalogue.models.retirements import (  # noqa: F401
    AccessAfterRetirement,
    Retirement,
    RetirementReason,
)
