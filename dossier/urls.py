"""/feeds/: retirement registry (Atom, iCalendar) and the retired models' writings (Atom)."""

from django.http import Http404
from django.urls import path

from core.exceptions import NotFoundError
from dossier import feeds


def _model_writings(request, provider, name):
    try:
        return feeds.ModelWritingsFeed()(request, provider=provider, name=name)
    except NotFoundError as exc:
        raise Http404(exc.message) from None


urlpatterns = [
    path("retirements.atom", feeds.RetirementAtomFeed(), name="feed-retirements-atom"),
    path("retirements.ics", feeds.retirements_ics, name="feed-retirements-ics"),
    path("writings.atom", feeds.WritingsFeed(), name="feed-writings-atom"),
    path("models/<str:provider>/<str:name>/writings.atom", _model_writings, name="feed-model-writings-atom"),
]
