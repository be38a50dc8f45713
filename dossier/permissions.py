"""Who may see the model's writings. The rule builds on the catalogue's (`catalogue.permissions`: curators,
visible models); it lives here because it needs the dossier's own vocabulary (`WritingStatus`), which the catalogue
must not import. The other dossier rules (transcripts, summaries, requests) stay in `catalogue.permissions`."""

from django.db.models import QuerySet
from django.utils import timezone

from catalogue.models import AIModel
from catalogue.permissions import is_curator, visible_models
from dossier.models import WritingStatus


def visible_writings(user, queryset: QuerySet, *, now=None) -> QuerySet:
    """Curators see every writing; others only published ones whose time has come, of models they may see."""
    if is_curator(user):
        return queryset
    models = visible_models(user, AIModel.objects.all()).values("pk")
    return queryset.filter(
        model__in=models, status=WritingStatus.PUBLISHED, publish_at__lte=now or timezone.now()
    )
