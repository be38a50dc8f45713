"""Archive API: snapshots under a model, manifests, ingest jobs."""

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from archive import manifests, selectors, services
from archive.api.serializers import IngestJobSerializer, IngestRequestSerializer, SnapshotDetailSerializer, SnapshotSerializer
from catalogue import selectors as catalogue_selectors


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
            model=self.get_model(), source=serializer.validated_data["source"], requested_by=request.user
        )
        body = IngestJobSerializer(job, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["url"]})


class SnapshotDetailView(ModelScopedMixin, APIView):
    """One snapshot by revision id, 'main', or (unsealed) numeric id, with its files."""

    @extend_schema(responses=SnapshotDetailSerializer)
    def get(self, request, provider, name, revision):
        snapshot = selectors.snapshot_get(model=self.get_model(), ref=revision)
        return Response(SnapshotDetailSerializer(snapshot, context={"request": request}).data)


class ManifestView(ModelScopedMixin, APIView):
    """The sealed snapshot's manifest as JSON."""

    @extend_schema(responses=OpenApiResponse(description="Manifest JSON"))
    def get(self, request, provider, name, revision):
        snapshot = selectors.snapshot_get(model=self.get_model(), ref=revision)
        document = manifests.manifest_document(
            repo_id=snapshot.model.repo_id,
            revision=snapshot.revision,
            sealed_at=snapshot.sealed_at.isoformat(),
            files=selectors.manifest_files(snapshot),
            retirement=None,
        )
        return Response(document)


class ManifestSha256View(ModelScopedMixin, APIView):
    """The sealed snapshot's files as `sha256sum -c` input."""

    @extend_schema(responses=OpenApiResponse(description="text/plain: '<sha256>  <path>' lines"))
    def get(self, request, provider, name, revision):
        snapshot = selectors.snapshot_get(model=self.get_model(), ref=revision)
        files = selectors.manifest_files(snapshot)
        text = manifests.sha256sum_text((f["path"], f["size"], f["sha256"]) for f in files)
        return HttpResponse(text, content_type="text/plain; charset=utf-8")


class IngestJobView(generics.RetrieveAPIView):
    """An ingest job's state and progress (files and bytes done / total)."""

    serializer_class = IngestJobSerializer

    def get_object(self):
        return selectors.job_get(job_id=int(self.kwargs["pk"]))

