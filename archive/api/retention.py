"""Legal holds (curators): put a hold on a snapshot, so storage keeps every copy of its files whatever the retention
policy (S3 Object Lock legal hold), or release it. The rules and events are archive.assurance.retention's."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from archive import selectors
from archive.assurance.retention import snapshot_legal_hold_set
from archive.models import Replica
from catalogue import selectors as catalogue_selectors
from catalogue.permissions import CuratorOnly
from core.input import InputSerializer


class LegalHoldSerializer(InputSerializer):
    reason = serializers.CharField(help_text="The matter or order the hold serves (required to put a hold).",
                                   required=False, allow_blank=True, default="")


def _answer(snapshot) -> dict:
    replicas = Replica.objects.filter(blob__snapshot_files__snapshot=snapshot).select_related("location").distinct()
    return {
        "model": snapshot.model.repo_id, "revision": snapshot.revision, "legal_hold": snapshot.legal_hold,
        "reason": snapshot.legal_hold_reason,
        "copies": [{"location": r.location.name, "key": r.key, "version_id": r.version_id, "legal_hold": r.legal_hold,
                    "retain_until": r.retain_until.isoformat() if r.retain_until else None}
                   for r in replicas.order_by("location__name", "key")],
    }


class SnapshotLegalHoldView(APIView):
    """POST (curators): put a legal hold on the snapshot's stored copies; DELETE: release it. 200 with each copy's
    hold and retention date."""

    permission_classes = [CuratorOnly]

    def _snapshot(self, request, provider, name, revision):
        model = catalogue_selectors.model_get(provider=provider, name=name, user=request.user, check_visible=True)
        return selectors.snapshot_get(model=model, ref=revision)

    @extend_schema(request=LegalHoldSerializer, responses={200: None})
    def post(self, request, provider, name, revision):
        data = LegalHoldSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        snapshot = snapshot_legal_hold_set(snapshot=self._snapshot(request, provider, name, revision), on=True,
                                           reason=data.validated_data["reason"], by=request.user)
        return Response(_answer(snapshot))

    @extend_schema(request=None, responses={200: None})
    def delete(self, request, provider, name, revision):
        snapshot = snapshot_legal_hold_set(snapshot=self._snapshot(request, provider, name, revision), on=False,
                                           by=request.user)
        return Response(_answer(snapshot))
