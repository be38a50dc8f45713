"""Withdrawal API (curators): withdraw a model or one snapshot with a reason and an explicit choice about its bytes
(`keep` or `delete`); the rules and events are archive.withdrawals'. Afterwards the doors answer 410 Gone."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from archive import selectors
from archive.withdrawals import BYTES_CHOICES, model_withdraw, snapshot_withdraw, tombstone, withdraw_params
from catalogue import approvals
from catalogue import selectors as catalogue_selectors
from catalogue.api.approvals import PROPOSED, proposal_answer
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
    """POST (curators): withdraw the model; 200 with its tombstone (202 with a proposal when deleting a restricted
    model's bytes needs a second curator)."""

    permission_classes = [CuratorOnly]

    @extend_schema(request=WithdrawalSerializer, responses={200: None, 202: PROPOSED})
    def post(self, request, provider, name):
        model, data = _model(request, provider, name), _input(request)
        proposal = approvals.propose_if_required(kind="model_withdraw", proposed_by=request.user, model=model,
                                                 params=withdraw_params(**data))
        if proposal is not None:
            return proposal_answer(proposal)
        model = model_withdraw(model=model, withdrawn_by=request.user, **data)
        return Response({"model": model.repo_id, "tombstone": tombstone(model)})


class SnapshotWithdrawView(APIView):
    """POST (curators): withdraw one snapshot of the model; 200 with its tombstone (202 with a proposal when
    deleting a restricted model's bytes needs a second curator)."""

    permission_classes = [CuratorOnly]

    @extend_schema(request=WithdrawalSerializer, responses={200: None, 202: PROPOSED})
    def post(self, request, provider, name, revision):
        snapshot = selectors.snapshot_get(model=_model(request, provider, name), ref=revision)
        data = _input(request)
        proposal = approvals.propose_if_required(kind="snapshot_withdraw", proposed_by=request.user,
                                                 model=snapshot.model, params=withdraw_params(**data, snapshot=snapshot))
        if proposal is not None:
            return proposal_answer(proposal)
        snapshot = snapshot_withdraw(snapshot=snapshot, withdrawn_by=request.user, **data)
        return Response({"model": snapshot.model.repo_id, "revision": snapshot.revision,
                         "bytes_deleted": snapshot.bytes_deleted_at is not None,
                         "tombstone": tombstone(snapshot.model, snapshot)})
