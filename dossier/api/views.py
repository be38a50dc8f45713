"""Dossier API: interviews, transcripts, requests and commitments, reports, writings, retirement feed.
Reads follow catalogue.permissions; writes are for curators (the default permission class) and call one service."""

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from archive.api.serializers import IngestJobSerializer
from catalogue import selectors as catalogue_selectors
from core.input import QUERY_BOOL_HELP, query_bool
from core.parsers import DepthLimitedJSONParser
from core.exceptions import NotFoundError
from catalogue.permissions import can_view_transcript, transcript_denial
from dossier import selectors, services, transcripts
from dossier.api import serializers as s
from dossier.models import WritingSeries
from dossier.preservation import dossier_preserve


class ModelScoped:
    """Views under /models/{provider}/{name}/: a model the user may not see is a 404."""

    filter_backends: list = []

    def get_model(self):
        if not hasattr(self, "_model"):
            self._model = catalogue_selectors.model_get(
                provider=self.kwargs["provider"], name=self.kwargs["name"], user=self.request.user, check_visible=True
            )
        return self._model

    def input(self, serializer_class, *, partial=False) -> dict:
        serializer = serializer_class(data=self.request.data, partial=partial, context={"request": self.request})
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def fresh(self, interview):
        """Re-read an interview the way reads do (counts, visible requests) after a write."""
        return selectors.interview_get(model=self.get_model(), pk=interview.pk, user=self.request.user)

    def output(self, serializer_class, instance, status_code=status.HTTP_200_OK) -> Response:
        return Response(serializer_class(instance, context={"request": self.request}).data, status=status_code)


# --- interviews ---------------------------------------------------------------------------------


class InterviewListView(ModelScoped, generics.ListAPIView):
    """A model's exit interviews (transcripts on the detail); curators POST one with its turns."""

    serializer_class = s.InterviewListSerializer
    ordering = ("conducted_on", "id")

    def get_queryset(self):
        return selectors.interview_queryset(self.get_model(), user=self.request.user)

    @extend_schema(request=s.InterviewInputSerializer, responses={201: s.InterviewSerializer})
    def post(self, request, provider, name):
        data = self.input(s.InterviewInputSerializer)
        interview = services.interview_create(model=self.get_model(), created_by=request.user, **data)
        return self.output(s.InterviewSerializer, self.fresh(interview), status.HTTP_201_CREATED)


class InterviewImportView(ModelScoped, APIView):
    """Curators import an interview file (JSON or Markdown, docs/interview-formats.md)."""

    parser_classes = [DepthLimitedJSONParser, MultiPartParser, FormParser]

    @extend_schema(request=s.InterviewImportSerializer, responses={201: s.InterviewSerializer})
    def post(self, request, provider, name):
        data = self.input(s.InterviewImportSerializer)
        upload = data.get("file")
        if upload is not None:
            try:
                text = upload.read().decode("utf-8")
            except UnicodeDecodeError:
                raise exceptions.ValidationError({"file": ["The file is not UTF-8 text."]}) from None
            filename = upload.name
        else:
            text, filename = data["content"], ""
        fmt = data.get("format") or transcripts.detect_format(filename, text)
        interview = services.interview_import(model=self.get_model(), text=text, fmt=fmt, created_by=request.user)
        return self.output(s.InterviewSerializer, self.fresh(interview), status.HTTP_201_CREATED)


class InterviewDetailView(ModelScoped, APIView):
    """One interview: summary and turns when the reader may see them."""

    def get_interview(self):
        return selectors.interview_get(model=self.get_model(), pk=int(self.kwargs["pk"]), user=self.request.user)

    @extend_schema(responses=s.InterviewSerializer)
    def get(self, request, provider, name, pk):
        return self.output(s.InterviewSerializer, self.get_interview())

    @extend_schema(request=s.InterviewUpdateSerializer, responses=s.InterviewSerializer)
    def patch(self, request, provider, name, pk):
        data = self.input(s.InterviewUpdateSerializer, partial=True)
        interview = services.interview_update(interview=self.get_interview(), **data)
        return self.output(s.InterviewSerializer, self.fresh(interview))


def _check_transcript(request, interview) -> None:
    if not can_view_transcript(request.user, interview):
        if not request.user.is_authenticated:
            raise exceptions.NotAuthenticated(transcript_denial(interview))
        raise exceptions.PermissionDenied(transcript_denial(interview))


class FileFormatNegotiation(DefaultContentNegotiation):
    """Here `?format=` names the file format, not a DRF renderer; errors still answer in JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class InterviewTranscriptView(InterviewDetailView):
    """The transcript exported in an import format (`?format=json|markdown`), as a file."""

    content_negotiation_class = FileFormatNegotiation

    @extend_schema(
        parameters=[OpenApiParameter("format", enum=["json", "markdown"], default="json")],
        responses=OpenApiResponse(description="The interview file"),
    )
    def get(self, request, provider, name, pk):
        interview = self.get_interview()
        _check_transcript(request, interview)
        fmt = request.query_params.get("format", "json")
        text = services.interview_export(interview=interview, fmt=fmt)
        ext, content_type = ("json", "application/json") if fmt == "json" else ("md", "text/markdown")
        response = HttpResponse(text, content_type=f"{content_type}; charset=utf-8")
        filename = f"{interview.model.name}-interview-{interview.conducted_on.isoformat()}-{interview.pk}.{ext}"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


class InterviewTurnsView(InterviewDetailView):
    """Curators append the next turn to a transcript."""

    @extend_schema(responses=s.TurnSerializer(many=True))
    def get(self, request, provider, name, pk):
        interview = self.get_interview()
        _check_transcript(request, interview)
        return Response(s.TurnSerializer(interview.turns.order_by("index"), many=True).data)

    @extend_schema(request=s.TurnInputSerializer, responses={201: s.TurnSerializer})
    def post(self, request, provider, name, pk):
        data = self.input(s.TurnInputSerializer)
        turn = services.turn_append(interview=self.get_interview(), **data)
        return self.output(s.TurnSerializer, turn, status.HTTP_201_CREATED)


# --- requests and commitments ----------------------------------------------------------------------


class InterviewRequestsView(InterviewDetailView):
    """The requests found in one interview; curators POST a request quoting a turn."""

    @extend_schema(responses=s.ModelRequestSerializer(many=True))
    def get(self, request, provider, name, pk):
        rows = selectors.model_request_queryset(request.user).filter(interview=self.get_interview())
        return Response(s.ModelRequestSerializer(rows, many=True, context={"request": request}).data)

    @extend_schema(request=s.ModelRequestInputSerializer, responses={201: s.ModelRequestSerializer})
    def post(self, request, provider, name, pk):
        data = self.input(s.ModelRequestInputSerializer)
        model_request = services.model_request_create(
            interview=self.get_interview(), turn_index=data.pop("turn", None), **data
        )
        return self.output(s.ModelRequestSerializer, model_request, status.HTTP_201_CREATED)


class ModelRequestListView(ModelScoped, generics.ListAPIView):
    """Every request of a model, across its interviews."""

    serializer_class = s.ModelRequestSerializer
    pagination_class = None

    def get_queryset(self):
        return selectors.model_request_queryset(self.request.user).filter(interview__model=self.get_model())


RESPONSE_FIELDS = {"status", "rationale", "responded_by", "responded_on", "due_on", "fulfilled_on"}


class ModelRequestDetailView(ModelScoped, APIView):
    """One request; curators PATCH its description or record the lab's response (status, rationale …)."""

    def get_request(self):
        row = (
            selectors.model_request_queryset(self.request.user)
            .filter(interview__model=self.get_model(), pk=int(self.kwargs["pk"]))
            .first()
        )
        if row is None:
            raise NotFoundError(f"{self.get_model().repo_id} has no request {self.kwargs['pk']}.", code="request_not_found")
        return row

    @extend_schema(responses=s.ModelRequestSerializer)
    def get(self, request, provider, name, pk):
        return self.output(s.ModelRequestSerializer, self.get_request())

    @extend_schema(request=s.ModelRequestUpdateSerializer, responses=s.ModelRequestSerializer)
    def patch(self, request, provider, name, pk):
        data = self.input(s.ModelRequestUpdateSerializer, partial=True)
        model_request = self.get_request()
        response = {key: data.pop(key) for key in list(data) if key in RESPONSE_FIELDS}
        if data:
            model_request = services.model_request_update(model_request=model_request, **data)
        if response:
            response.setdefault("status", model_request.status)
            model_request = services.model_request_respond(model_request=model_request, **response)
        return self.output(s.ModelRequestSerializer, model_request)


class CommitmentsView(generics.ListAPIView):
    """Accepted requests not yet fulfilled, overdue ones first and flagged (`?overdue=true` for only those)."""

    serializer_class = s.ModelRequestSerializer
    pagination_class = None
    filter_backends: list = []

    def get_model(self):
        return None

    @extend_schema(
        parameters=[
            OpenApiParameter("overdue", bool, description=f"Only overdue ones, or only the others: {QUERY_BOOL_HELP}"),
            OpenApiParameter("provider", str),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        queryset = selectors.commitments(self.request.user, model=self.get_model())
        overdue = query_bool(self.request.query_params.get("overdue"), name="overdue")
        if overdue is not None:
            queryset = queryset.filter(overdue=overdue)
        providers = selectors.parse_providers(self.request.query_params.get("provider"))
        if providers:
            queryset = queryset.filter(interview__model__provider__slug__in=providers)
        return queryset


class ModelCommitmentsView(ModelScoped, CommitmentsView):
    """Commitments of one model."""


# --- reports --------------------------------------------------------------------------------------


class ReportListView(ModelScoped, generics.ListAPIView):
    """Versions of the post-deployment report, newest first; curators POST the next version."""

    serializer_class = s.ReportSerializer
    pagination_class = None

    def get_queryset(self):
        return selectors.report_versions(self.get_model())

    @extend_schema(request=s.ReportInputSerializer, responses={201: s.ReportSerializer})
    def post(self, request, provider, name):
        data = self.input(s.ReportInputSerializer)
        report = services.report_publish(model=self.get_model(), author=request.user, **data)
        return self.output(s.ReportSerializer, report, status.HTTP_201_CREATED)


class ReportDetailView(ModelScoped, APIView):
    """One version (a number, or `latest`)."""

    @extend_schema(responses=s.ReportSerializer)
    def get(self, request, provider, name, version):
        versions = selectors.report_versions(self.get_model())
        report = versions.first() if version == "latest" else (
            versions.filter(version=int(version)).first() if version.isascii() and version.isdigit() and len(version) <= 9 else None
        )
        if report is None:
            raise NotFoundError(f"{self.get_model().repo_id} has no report version {version!r}.", code="report_not_found")
        return self.output(s.ReportSerializer, report)


# --- writings -------------------------------------------------------------------------------------


def _series(model, series_id):
    if series_id is None:
        return None
    series = WritingSeries.objects.filter(model=model, pk=series_id).first()
    if series is None:
        raise NotFoundError(f"{model.repo_id} has no writing series {series_id}.", code="series_not_found")
    return series


class WritingListView(ModelScoped, generics.ListAPIView):
    """The model's posts: published ones for everyone, all for curators; curators POST a draft."""

    serializer_class = s.WritingSerializer
    pagination_class = None

    def get_queryset(self):
        return selectors.writing_queryset(self.request.user, model=self.get_model())

    @extend_schema(request=s.WritingInputSerializer, responses={201: s.WritingSerializer})
    def post(self, request, provider, name):
        data = self.input(s.WritingInputSerializer)
        model = self.get_model()
        data["series"] = _series(model, data.get("series"))
        writing = services.writing_create(model=model, **data)
        return self.output(s.WritingSerializer, writing, status.HTTP_201_CREATED)


class WritingDetailView(ModelScoped, APIView):
    def get_writing(self):
        writing = selectors.writing_queryset(self.request.user, model=self.get_model()).filter(slug=self.kwargs["slug"]).first()
        if writing is None:
            raise NotFoundError(f"{self.get_model().repo_id} has no writing {self.kwargs['slug']!r}.", code="writing_not_found")
        return writing

    @extend_schema(responses=s.WritingSerializer)
    def get(self, request, provider, name, slug):
        return self.output(s.WritingSerializer, self.get_writing())

    @extend_schema(request=s.WritingUpdateSerializer, responses=s.WritingSerializer)
    def patch(self, request, provider, name, slug):
        data = self.input(s.WritingUpdateSerializer, partial=True)
        if "series" in data:
            data["series"] = _series(self.get_model(), data["series"])
        writing = services.writing_update(writing=self.get_writing(), **data)
        return self.output(s.WritingSerializer, writing)


class WritingSubmitView(WritingDetailView):
    """draft → in review."""

    @extend_schema(request=None, responses=s.WritingSerializer)
    def post(self, request, provider, name, slug):
        return self.output(s.WritingSerializer, services.writing_submit(writing=self.get_writing()))


class WritingReviewView(WritingDetailView):
    """in review → published (scheduled) or rejected."""

    @extend_schema(request=s.WritingReviewSerializer, responses=s.WritingSerializer)
    def post(self, request, provider, name, slug):
        data = self.input(s.WritingReviewSerializer)
        writing = services.writing_review(writing=self.get_writing(), reviewer=request.user, **data)
        return self.output(s.WritingSerializer, writing)


class SeriesListView(ModelScoped, generics.ListAPIView):
    """Series windows of the model's writings; curators POST one (default start: the retirement date)."""

    serializer_class = s.SeriesSerializer
    pagination_class = None

    def get_queryset(self):
        return WritingSeries.objects.filter(model=self.get_model())

    @extend_schema(request=s.SeriesInputSerializer, responses={201: s.SeriesSerializer})
    def post(self, request, provider, name):
        data = {k: v for k, v in self.input(s.SeriesInputSerializer).items() if v is not None}
        series = services.series_create(model=self.get_model(), **data)
        return self.output(s.SeriesSerializer, series, status.HTTP_201_CREATED)


# --- preservation and the registry ---------------------------------------------------------------------


class DossierPreserveView(ModelScoped, APIView):
    """Curators preserve the transcripts and report versions as a new snapshot → 202 with the ingest job."""

    @extend_schema(request=None, responses={202: OpenApiResponse(description="Ingest job")})
    def post(self, request, provider, name):
        job = dossier_preserve(model=self.get_model(), requested_by=request.user)
        body = IngestJobSerializer(job, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["url"]})


class RetirementFeedView(generics.ListAPIView):
    """The retirement registry as JSON: every model with a retirement date, past and upcoming (`?provider=`)."""

    serializer_class = s.RetirementFeedSerializer
    pagination_class = None
    filter_backends: list = []

    @extend_schema(parameters=[OpenApiParameter("provider", str, description="Provider slug(s), comma-separated.")])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        providers = selectors.parse_providers(self.request.query_params.get("provider"))
        return selectors.retirement_registry(self.request.user, providers=providers)
