"""Which stored files are sealed: those of snapshots whose effective file access CODA_ENCRYPT_AT_REST names."""

from django.conf import settings
from django.db.models import Q

from catalogue.permissions import file_access_level

SEALED_LEVELS = {"none": set(), "restricted": {"restricted"}, "gated": {"gated", "restricted"},
                 "all": {"public", "gated", "restricted"}}


def sealing_required(model, snapshot) -> bool:
    """True when the snapshot's files must be stored sealed (its effective file access, the snapshot's override
    or the model's, is one CODA_ENCRYPT_AT_REST seals)."""
    return file_access_level(model, snapshot) in SEALED_LEVELS[settings.CODA_ENCRYPT_AT_REST]


def sealing_required_q(prefix: str = "") -> Q | None:
    """sealing_required as a Q on snapshots reached by `prefix` (e.g. "snapshot_files__snapshot__"); None when
    nothing is sealed."""
    levels = SEALED_LEVELS[settings.CODA_ENCRYPT_AT_REST]
    if not levels:
        return None
    return Q(**{f"{prefix}file_access__in": levels}) | Q(
        **{f"{prefix}file_access": "", f"{prefix}model__file_access__in": levels})
