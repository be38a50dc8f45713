"""A sealed snapshot's standard descriptions (model.sig, RO-Crate, CycloneDX) and the archive's public signing keys.
A description follows its snapshot's file rule, with the same helpers as a file download: a hidden model is a 404,
files one may not read make its descriptions a 403 with the way to request access, and a withdrawn snapshot (or
model) makes them a 410 `withdrawn` for everyone, like its files."""

from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from archive import selectors
from archive.api.serializers import SigningKeySerializer
from archive.api.views import ModelScopedMixin, withdrawn_response
from archive.descriptions import cyclonedx, rocrate
from archive.descriptions.facts import SnapshotFacts, snapshot_facts
from archive.models import SigningKey, Snapshot
from catalogue.permissions import can_read_files, file_access_denial
from core.schema import error_answer, withdrawn_answer


class SigningKeyListView(generics.ListAPIView):
    """The archive's public signing keys, current and retired (each snapshot names the key_id that signed it)."""

    permission_classes = [AllowAny]
    serializer_class = SigningKeySerializer
    queryset = SigningKey.objects.order_by("created_at", "id")
    pagination_class = None
    filter_backends = []


# The answers every description shares besides its document: the file rule's 403 and a withdrawal's 410.
REFUSALS = {403: error_answer("403", "No access to the files: the message says how to request it"), 410: withdrawn_answer()}


class SnapshotDescriptionView(ModelScopedMixin, APIView):
    """A document describing one sealed snapshot, under the snapshot's file rule."""

    permission_classes = [AllowAny]  # the file rule below decides
    content_type = "application/json"

    def document(self, snapshot: Snapshot) -> bytes:
        raise NotImplementedError

    def get(self, request, provider, name, revision):
        model = self.get_model()
        snapshot = selectors.snapshot_get(model=model, ref=revision)
        if gone := withdrawn_response(model, snapshot):
            return gone
        if not can_read_files(request.user, model, snapshot):
            raise PermissionDenied(file_access_denial(request.user, model, snapshot))
        if snapshot.state != Snapshot.State.SEALED:
            raise NotFound("Only a sealed snapshot is described.")
        response = HttpResponse(self.document(snapshot), content_type=self.content_type)
        response["X-Repo-Commit"] = snapshot.revision
        return response


class SnapshotSignatureView(SnapshotDescriptionView):
    """The OpenSSF model-signing signature (Sigstore bundle) of the snapshot's files: `model_signing verify key`."""

    @extend_schema(responses={(200, "application/json"): OpenApiResponse(description="Sigstore bundle (model.sig)"), **REFUSALS})
    def get(self, request, provider, name, revision):
        return super().get(request, provider, name, revision)

    def document(self, snapshot):
        if not snapshot.signature:
            raise NotFound("This snapshot was sealed without a signing key configured.")
        return snapshot.signature.encode("utf-8")


def _facts(request, snapshot: Snapshot) -> SnapshotFacts:
    model = snapshot.model
    page = reverse("web:model", kwargs={"provider": model.provider.slug, "name": model.name})
    return snapshot_facts(snapshot, url=request.build_absolute_uri(f"{page}?snapshot={snapshot.revision}"))


class SnapshotROCrateView(SnapshotDescriptionView):
    """RO-Crate 1.1 metadata of the snapshot (its files as laid out by a Hub download): `rocrate-validator`."""

    content_type = "application/ld+json"

    @extend_schema(responses={(200, "application/ld+json"): OpenApiResponse(description="ro-crate-metadata.json"), **REFUSALS})
    def get(self, request, provider, name, revision):
        return super().get(request, provider, name, revision)

    def document(self, snapshot):
        return rocrate.crate_json(_facts(self.request, snapshot))


class SnapshotBomView(SnapshotDescriptionView):
    """CycloneDX 1.6 ML-BOM of the snapshot (bom.cdx.json)."""

    content_type = cyclonedx.MEDIA_TYPE

    @extend_schema(responses={(200, cyclonedx.MEDIA_TYPE): OpenApiResponse(description="CycloneDX 1.6 JSON (bom.cdx.json)"), **REFUSALS})
    def get(self, request, provider, name, revision):
        return super().get(request, provider, name, revision)

    def document(self, snapshot):
        return cyclonedx.bom_json(_facts(self.request, snapshot))
