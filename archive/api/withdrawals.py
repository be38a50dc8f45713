"""Withdrawal API (curators): withdraw a model or one snapshot with a reason and an explicit choice about its bytes
(`keep` or `delete`); the rules and events are archive.withdrawals'. Afterwards the doors answer 410 Gone."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from archive import selectors
from archive.withdrawals import BYTES_CHOICES, model_withdraw, snapshot_withdraw, tombstone
from catalogue import selectors as catalogue_selectors
from catalogue.permissions import CuratorOnly
from core.input import InputSerializer


class WithdrawalSerializer(InputSerializer):
    reason = serializers.CharField(help_text="Why (legal request, licence, error …); shown on the tombstone.")
    bytes = serializers.ChoiceField(choices=BYTES_CHOICES, help_text="Keep the stored copies, or delete them.")


def _input(request) -> dict:
    data = WithdrawalSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    return {"reason": data.validated_data["reason"], "keep_bytes": data.validated_data["bytes"]}


def _model(request, provider, name):
    return catalogue_selectors.model_get(provider=provider, name=name, user=request.user, check_visible=True)


class ModelWithdrawView(APIView):
    """POST (curators): withdraw the model; 200 with its tombstone."""

    permission_classes = [CuratorOnly]

    @extend_schema(request=WithdrawalSerializer, responses={200: None})
    def post(self, request, provider, name):
        model = model_withdraw(model=_model(request, provider, name), withdrawn_by=request.user, **_input(request))
        return Response({"model": model.repo_id, "tombstone": tombstone(model)})


class SnapshotWithdrawView(APIView):
    """POST (curators): withdraw one snapshot of the model; 200 with its tombstone."""

    permission_classes = [CuratorOnly]

    @extend_schema(request=WithdrawalSerializer, responses={200: None})
    def post(self, request, provider, name, revision):
        snapshot = selectors.snapshot_get(model=_model(request, provider, name), ref=revision)
        snapshot = snapshot_withdraw(snapshot=snapshot, withdrawn_by=request.user, **_input(request))
        return Response({"model": snapshot.model.repo_id, "revision": snapshot.revision,
                         "bytes_deleted": snapshot.bytes_deleted_at is not None,
                         "tombstone": tombstone(snapshot.model, snapshot)})
