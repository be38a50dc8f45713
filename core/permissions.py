"""Permission primitives every app shares: who is a curator, and the DRF permission classes built on it.
The rules about models, files and the dossier live in catalogue.permissions, which builds on these."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

CURATORS_GROUP = "curators"


def is_curator(user) -> bool:
    """Curators are staff users or members of the `curators` group."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_staff or user.is_superuser:
        return True
    cached = getattr(user, "_coda_is_curator", None)
    if cached is None:
        cached = user.groups.filter(name=CURATORS_GROUP).exists()
        user._coda_is_curator = cached
    return cached


class CuratorWriteOrReadOnly(BasePermission):
    """Anyone reads public data; only curators write. Anonymous writes get 401, others 403."""

    message = "Only curators (staff or members of the 'curators' group) may change the catalogue."

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return is_curator(request.user)


class CuratorOnly(BasePermission):
    """Curators only, also for reads."""

    message = "Only curators may use this endpoint."

    def has_permission(self, request, view) -> bool:
        return is_curator(request.user)
