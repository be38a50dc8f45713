"""A sealed snapshot's standard descriptions (model.sig, RO-Crate, CycloneDX) and the archive's public signing keys.
A description follows its snapshot's file rule, with the same helpers as a file download: a hidden model is a 404,
files one may not read make its descriptions a 403 with the way to request access."""

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from archive import selectors
from archive.api.serializers import SigningKeySerializer
from archive.api.views import ModelScopedMixin
from archive.models import SigningKey, Snapshot
from catalogue.permissions import can_read_files, file_access_denial


class SigningKeyListView(generics.ListAPIView):
    """The archive's public signing keys, current and retired (each snapshot names the key_id that signed it)."""

    permission_classes = [AllowAny]
    serializer_class = SigningKeySerializer
    queryset = SigningKey.objects.order_by("created_at", "id")
    pagination_class = None
    filter_backends = []


class SnapshotDescriptionView(ModelScopedMixin, APIView):
    """A document describing one sealed snapshot, under the snapshot's file rule."""

    permission_classes = [AllowAny]  # the file rule below decides
    content_type = "application/json"

    def document(self, snapshot: Snapshot) -> bytes:
        raise NotImplementedError

    def get(self, request, provider, name, revision):
        model = self.get_model()
        snapshot = selectors.snapshot_get(model=model, ref=revision)
        if not can_read_files(request.user, model, snapshot):
            raise PermissionDenied(file_access_denial(request.user, model, snapshot))
        if snapshot.state != Snapshot.State.SEALED:
            raise NotFound("Only a sealed snapshot is described.")
        response = HttpResponse(self.document(snapshot), content_type=self.content_type)
        response["X-Repo-Commit"] = snapshot.revision
        return response


class SnapshotSignatureView(SnapshotDescriptionView):
    """The OpenSSF model-signing signature (Sigstore bundle) of the snapshot's files: `model_signing verify key`."""

    @extend_schema(responses={(200, "application/json"): OpenApiResponse(description="Sigstore bundle (model.sig)")})
    def get(self, request, provider, name, revision):
        return super().get(request, provider, name, revision)

    def document(self, snapshot):
        if not snapshot.signature:
            raise NotFound("This snapshot was sealed without a signing key configured.")
        return snapshot.signature.encode("utf-8")
