"""Citations of a sealed snapshot: DataCite 4.5 JSON and XML, CITATION.cff, BibTeX, a text citation
(archive.citation). A withdrawn snapshot keeps its citation."""

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from archive import selectors
from archive.api.views import CitationNegotiationMixin, ModelScopedMixin, citation_response
from archive.citation.formats import FORMATS


class SnapshotCitationView(CitationNegotiationMixin, ModelScopedMixin, APIView):
    """GET …/snapshots/{revision}/cite/{format}: datacite.json, datacite.xml, citation.cff, bibtex or text."""

    permission_classes = [AllowAny]

    @extend_schema(responses={200: OpenApiResponse(description="The citation in the format asked for")})
    def get(self, request, provider, name, revision, cite_format):
        if cite_format not in FORMATS:
            raise Http404(f"Unknown citation format; use one of {', '.join(FORMATS)}.")
        snapshot = selectors.snapshot_get(model=self.get_model(), ref=revision)
        return citation_response(request, snapshot, cite_format)
