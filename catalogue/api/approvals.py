"""Approvals API (curators only): the two-person rule's proposals, listed and decided. A door whose change became a
proposal answers 202 with `proposal_answer` (catalogue.approvals.proposal_body: approval_required, detail,
proposal)."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError as InputError
from rest_framework.response import Response
from rest_framework.views import APIView

from catalogue import approvals
from catalogue.models import Proposal
from catalogue.permissions import CuratorOnly
from core.input import InputSerializer
from core.pagination import CodaCursorPagination



class ProposalSerializer(serializers.Serializer):
    """A proposal as catalogue.approvals.proposal_data writes it (read-only; declared for the schema)."""

    id = serializers.IntegerField()
    kind = serializers.CharField()
    status = serializers.ChoiceField(choices=Proposal.Status.choices)
    summary = serializers.CharField()
    model = serializers.CharField(allow_null=True, help_text="provider/name; null for an archive-wide change.")
    params = serializers.DictField(help_text="What the change needs, as its kind reads it.")
    reason = serializers.CharField(allow_blank=True)
    proposed_by = serializers.CharField(allow_null=True)
    decided_by = serializers.CharField(allow_null=True)
    decision_note = serializers.CharField(allow_blank=True)
    result = serializers.DictField(help_text="What the applied change gave (after approval).")
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    url = serializers.CharField()

    def to_representation(self, instance):
        return approvals.proposal_data(instance)


class ProposalAnswerSerializer(serializers.Serializer):
    approval_required = serializers.BooleanField()
    detail = serializers.CharField()
    proposal = ProposalSerializer()
    model = serializers.DictField(required=False, help_text="A model PATCH: the model with its other fields applied.")


PROPOSED = OpenApiResponse(response=ProposalAnswerSerializer,
                           description="The change needs a second curator's approval (two-person rule): "
                                       "`approval_required` true, `detail`, `proposal`. Nothing has changed yet.")


def proposal_answer(proposal: Proposal, **extra) -> Response:
    """The 202 answer of a door whose change became a proposal."""
    return Response(approvals.proposal_body(proposal) | extra, status=status.HTTP_202_ACCEPTED)


class NoteSerializer(InputSerializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class ApprovalListView(generics.ListAPIView):
    """GET (curators): proposals, newest first; filters `status` (pending, approved, refused, expired), `kind`,
    `model` (provider/name). Expired proposals are closed (an event each) before the answer."""

    permission_classes = [CuratorOnly]
    serializer_class = ProposalSerializer
    pagination_class = CodaCursorPagination  # newest first (-pk)
    filter_backends = []

    @extend_schema(operation_id="v1_approvals_list", parameters=[
        OpenApiParameter("status", str, enum=Proposal.Status.values), OpenApiParameter("kind", str),
        OpenApiParameter("model", str, description="provider/name"),
    ])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        wanted = self.request.query_params.get("status") or None
        if wanted and wanted not in Proposal.Status.values:
            raise InputError({"status": f"Unknown status {wanted!r}; use {', '.join(Proposal.Status.values)}."})
        return approvals.proposals_list(status=wanted, kind=self.request.query_params.get("kind") or None,
                                        model=self.request.query_params.get("model") or None)


class ApprovalDetailView(APIView):
    """GET (curators): one proposal."""

    permission_classes = [CuratorOnly]

    @extend_schema(responses={200: ProposalSerializer})
    def get(self, request, pk):
        return Response(approvals.proposal_data(approvals.proposal_get(pk)))


class ApprovalDecisionView(APIView):
    """POST (curators) approve or refuse a pending proposal, with an optional `note`. Approving applies the change
    (a different curator than its proposer only: 403 `self_approval`); a decided or expired proposal is 409."""

    permission_classes = [CuratorOnly]
    decision = ""

    @extend_schema(request=NoteSerializer, responses={200: ProposalSerializer})
    def post(self, request, pk):
        data = NoteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        note = data.validated_data.get("note", "")
        if self.decision == "approve":
            proposal = approvals.proposal_approve(proposal_id=pk, approved_by=request.user, note=note)
        else:
            proposal = approvals.proposal_refuse(proposal_id=pk, refused_by=request.user, note=note)
        return Response(approvals.proposal_data(approvals.proposal_get(proposal.pk)))
