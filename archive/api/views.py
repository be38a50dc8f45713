"""Archive API: snapshots under a model, manifests, ingest jobs."""

import django_filters
from django.db.models import Q
from django.http import HttpResponse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from archive import dispatch, selectors
from archive.citation.formats import FORMATS, format_for_accept, render
from archive.withdrawals import tombstone, withdrawal_notice
from archive.citation.records import citation_for
from archive.ingest import jobs, manifests, services
from archive.preservation import model_preservation_report
from archive.snapshots import snapshot_access_params, snapshot_access_set
from archive.api.serializers import (
    IngestJobSerializer,
    IngestRequestSerializer,
    PreservationEventSerializer,
    SnapshotAccessSerializer,
    SnapshotDetailSerializer,
    SnapshotSerializer,
    WithdrawnSnapshotSerializer,
)
from archive.models import EventOutcome, EventType, PreservationEvent, Snapshot
from catalogue import approvals
from catalogue.api.approvals import PROPOSED, proposal_answer
from catalogue.models import AIModel
from catalogue.permissions import CuratorOnly, visible_models
from catalogue import selectors as catalogue_selectors
from core.errors import error_body
from core.exceptions import NotFoundError
from core.input import UtcIsoDateTimeFilter
from core.schema import withdrawn_answer


def citation_response(request, snapshot: Snapshot, fmt: str) -> HttpResponse:
    if snapshot.state != Snapshot.State.SEALED:
        raise NotFoundError("Only a sealed snapshot has a citation.")
    content_type, body = render(fmt, citation_for(snapshot, user=request.user, build=request.build_absolute_uri))
    response = HttpResponse(body, content_type=content_type)
    response["Vary"] = "Accept"
    return response


def withdrawn_response(model: AIModel, snapshot: Snapshot | None = None, /, **extra) -> Response | None:
    """410 Gone `withdrawn` when the model or the snapshot is withdrawn (None otherwise): the one answer of every door
    to a snapshot's files and exports, for every role (curators too), checked after visibility (a hidden model stays
    a 404) and before the file rule (never a 403 that hides the withdrawal). The citation is the kept record."""
    gone = tombstone(model, snapshot)
    if gone is None:
        return None
    body = error_body(status_code=410, code="withdrawn", detail=withdrawal_notice(model, snapshot))
    return Response({**body, "tombstone": gone, **extra}, status=410)


class CitationNegotiationMixin:
    """Lets a citation media type through DRF's content negotiation (the view answers it itself)."""

    def perform_content_negotiation(self, request, force=False):
        if format_for_accept(request.headers.get("Accept", "")):
            renderer = self.get_renderers()[0]
            return renderer, renderer.media_type
        return super().perform_content_negotiation(request, force)


class ModelScopedMixin:
    def get_model(self):
        return catalogue_selectors.model_get(
            provider=self.kwargs["provider"], name=self.kwargs["name"], user=self.request.user, check_visible=True
        )


class SnapshotListView(ModelScopedMixin, generics.ListAPIView):
    """A model's snapshots (newest first); curators POST a source to preserve a new one."""

    serializer_class = SnapshotSerializer
    filter_backends = []
    ordering = ("-created_at",)

    def get_queryset(self):
        return selectors.snapshot_queryset().filter(model=self.get_model()).order_by("-created_at")

    @extend_schema(request=IngestRequestSerializer, responses={202: IngestJobSerializer})
    def post(self, request, provider, name):
        serializer = IngestRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        job = services.snapshot_ingest_start(
            model=self.get_model(),
            source=serializer.validated_data["source"],
            requested_by=request.user,
            file_access=serializer.validated_data.get("file_access", ""),
        )
        body = IngestJobSerializer(job, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["url"]})


class SnapshotDetailView(CitationNegotiationMixin, ModelScopedMixin, APIView):
    """One snapshot by revision id, 'main', or (unsealed) numeric id, with its files."""

    @extend_schema(responses={200: SnapshotDetailSerializer, 410: withdrawn_answer(WithdrawnSnapshotSerializer)})
    def get(self, request, provider, name, revision):
        snapshot = selectors.snapshot_get(model=self.get_model(), ref=revision)
        cite_format = format_for_accept(request.headers.get("Accept", ""))
        if cite_format:  # content negotiation: a citation media type asks for the citation (DataCite, BibTeX …)
            return citation_response(request, snapshot, cite_format)
        data = SnapshotDetailSerializer(snapshot, context={"request": request}).data
        cite = request.build_absolute_uri(request.path) + "cite/"
        # 410 Gone with the reason, the date, the kept record and where its citation stays
        gone = withdrawn_response(snapshot.model, snapshot, snapshot=data, citation={fmt: cite + fmt for fmt in FORMATS})
        return gone or Response(data)

    @extend_schema(request=SnapshotAccessSerializer, responses={200: SnapshotDetailSerializer, 202: PROPOSED})
    def patch(self, request, provider, name, revision):
        """Curators: set the snapshot's file-access override ("" or null inherits the model's); lowering the level
        of a restricted model's snapshot answers 202 with a proposal (two-person rule)."""
        serializer = SnapshotAccessSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        snapshot = selectors.snapshot_get(model=self.get_model(), ref=revision)
        proposal = approvals.propose_if_required(
            kind="snapshot_access", proposed_by=request.user, model=snapshot.model,
            params=snapshot_access_params(snapshot, serializer.validated_data["file_access"] or ""),
        )
        if proposal is not None:
            return proposal_answer(proposal)
        snapshot_access_set(
            snapshot=snapshot, file_access=serializer.validated_data["file_access"] or "", changed_by=request.user
        )
        snapshot = selectors.snapshot_get(model=self.get_model(), ref=revision)
        return Response(SnapshotDetailSerializer(snapshot, context={"request": request}).data)


class ManifestView(ModelScopedMixin, APIView):
    """The sealed snapshot's manifest as JSON."""

    @extend_schema(responses={200: OpenApiResponse(description="Manifest JSON"), 410: withdrawn_answer()})
    def get(self, request, provider, name, revision):
        snapshot = selectors.snapshot_get(model=self.get_model(), ref=revision)
        if gone := withdrawn_response(snapshot.model, snapshot):
            return gone
        files = selectors.manifest_files(snapshot)  # first: an unsealed snapshot (no sealed_at) has no manifest
        document = manifests.manifest_document(
            repo_id=snapshot.model.repo_id,
            revision=snapshot.revision,
            sealed_at=snapshot.sealed_at.isoformat(),
            files=files,
            retirement=None,
        )
        return Response(document)


class ManifestSha256View(ModelScopedMixin, APIView):
    """The sealed snapshot's files as `sha256sum -c` input."""

    @extend_schema(
        responses={200: OpenApiResponse(description="text/plain: '<sha256>  <path>' lines"), 410: withdrawn_answer()}
    )
    def get(self, request, provider, name, revision):
        snapshot = selectors.snapshot_get(model=self.get_model(), ref=revision)
        if gone := withdrawn_response(snapshot.model, snapshot):
            return gone
        files = selectors.manifest_files(snapshot)
        text = manifests.sha256sum_text((f["path"], f["size"], f["sha256"]) for f in files)
        return HttpResponse(text, content_type="text/plain; charset=utf-8")


class IngestJobRetryView(APIView):
    """Curators: re-run a failed, cancelled or stuck (no heartbeat) ingest (202 with the new job); a sealed snapshot
    or a job a worker is still beating on answers 409."""

    permission_classes = [CuratorOnly]

    @extend_schema(request=None, responses={202: IngestJobSerializer})
    def post(self, request, pk):
        job = jobs.ingest_job_retry(job=selectors.job_get(job_id=int(pk)), requested_by=request.user)
        body = IngestJobSerializer(job, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["url"]})


class IngestJobCancelView(APIView):
    """Curators: stop a queued or running ingest, stuck or not (200 with the cancelled job); a finished one answers 409."""

    permission_classes = [CuratorOnly]

    @extend_schema(request=None, responses={200: IngestJobSerializer})
    def post(self, request, pk):
        job = jobs.ingest_job_cancel(job=selectors.job_get(job_id=int(pk)), cancelled_by=request.user)
        return Response(IngestJobSerializer(job, context={"request": request}).data)


class IngestJobView(generics.RetrieveAPIView):
    """An ingest job's state and progress (files and bytes done / total)."""

    serializer_class = IngestJobSerializer

    def get_object(self):
        return selectors.job_get(job_id=int(self.kwargs["pk"]), user=self.request.user, check_visible=True)



class PreservationView(ModelScopedMixin, APIView):
    """Copies per file, verified copies, oldest verification, open problems and the overall status."""

    @extend_schema(responses=OpenApiResponse(description="Preservation report"))
    def get(self, request, provider, name):
        return Response(model_preservation_report(self.get_model()))


class ModelAuditView(ModelScopedMixin, APIView):
    """Curators: queue a fixity audit of every copy of this model's files (202)."""

    permission_classes = [CuratorOnly]

    @extend_schema(request=None, responses={202: OpenApiResponse(description="Audit queued")})
    def post(self, request, provider, name):
        model = self.get_model()
        result = dispatch.task_send("archive.tasks.model_audit", model.pk)
        return Response({"model": model.repo_id, "task_id": result.id, "status": "queued"}, status=status.HTTP_202_ACCEPTED)


class EventFilterSet(django_filters.FilterSet):
    model = django_filters.CharFilter(method="filter_model", help_text="provider/name")
    type = django_filters.ChoiceFilter(field_name="event_type", choices=EventType.choices)
    outcome = django_filters.ChoiceFilter(choices=EventOutcome.choices)
    since = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    location = django_filters.CharFilter(field_name="location__name")
    sha256 = django_filters.CharFilter(field_name="blob__sha256")

    class Meta:
        model = PreservationEvent
        fields = ["type", "outcome"]

    def filter_model(self, queryset, name, value):
        provider, _, model_name = value.partition("/")
        # Through a shared blob only for a model the caller may see: a hidden model's name matches nothing.
        named = AIModel.objects.filter(provider__slug=provider, name=model_name)
        named = visible_models(getattr(self.request, "user", None), named).values("pk")
        return queryset.filter(Q(model__in=named) | Q(blob__snapshot_files__snapshot__model__in=named)).distinct()


class EventListView(generics.ListAPIView):
    """The append-only PREMIS event trail. Non-curators see only events of models they may see (never `access`
    events or events without a model), without storage keys or raw errors (archive.selectors.visible_events)."""

    serializer_class = PreservationEventSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = EventFilterSet
    ordering = ("-created_at", "-id")

    def get_queryset(self):
        queryset = PreservationEvent.objects.select_related("model__provider", "location", "blob", "snapshot")
        return selectors.visible_events(self.request.user, queryset)
