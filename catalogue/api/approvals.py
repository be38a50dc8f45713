"""Approvals API (curators only): the two-person rule's proposals, listed and decided. A door whose change became a
proposal answers 202 with `proposal_answer` (catalogue.approvals.proposal_body: approval_required, detail,
proposal)."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError as InputError
from rest_framework.response import Response
from rest_framework.views import APIView

from catalogue import approvals
from catalogue.models import Proposal
from catalogue.permissions import CuratorOnly
from core.input import InputSerializer
from core.pagination import CodaCursorPagination

PROPOSED = OpenApiResponse(description="The change needs a second curator's approval (two-person rule): "
                                       "`approval_required` true, `detail`, `proposal` (id, kind, status, summary, "
                                       "model, params, proposed_by, expires_at, url). Nothing has changed yet.")


def proposal_answer(proposal: Proposal, **extra) -> Response:
    """The 202 answer of a door whose change became a proposal."""
    return Response(approvals.proposal_body(proposal) | extra, status=status.HTTP_202_ACCEPTED)


class NoteSerializer(InputSerializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class ApprovalListView(APIView):
    """GET (curators): proposals, newest first; filters `status` (pending, approved, refused, expired), `kind`,
    `model` (provider/name). Expired proposals are closed (an event each) before the answer."""

    permission_classes = [CuratorOnly]

    @extend_schema(operation_id="v1_approvals_list", parameters=[
        OpenApiParameter("status", str, enum=Proposal.Status.values), OpenApiParameter("kind", str),
        OpenApiParameter("model", str, description="provider/name"),
    ], responses={200: OpenApiResponse(description="A cursor page of proposals.")})
    def get(self, request):
        wanted = request.query_params.get("status") or None
        if wanted and wanted not in Proposal.Status.values:
            raise InputError({"status": f"Unknown status {wanted!r}; use {', '.join(Proposal.Status.values)}."})
        queryset = approvals.proposals_list(status=wanted, kind=request.query_params.get("kind") or None,
                                            model=request.query_params.get("model") or None)
        paginator = CodaCursorPagination()  # newest first (-pk)
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response([approvals.proposal_data(p) for p in page])


class ApprovalDetailView(APIView):
    """GET (curators): one proposal."""

    permission_classes = [CuratorOnly]

    @extend_schema(responses={200: OpenApiResponse(description="The proposal.")})
    def get(self, request, pk):
        return Response(approvals.proposal_data(approvals.proposal_get(pk)))


class ApprovalDecisionView(APIView):
    """POST (curators) approve or refuse a pending proposal, with an optional `note`. Approving applies the change
    (a different curator than its proposer only: 403 `self_approval`); a decided or expired proposal is 409."""

    permission_classes = [CuratorOnly]
    decision = ""

    @extend_schema(request=NoteSerializer, responses={200: OpenApiResponse(description="The decided proposal.")})
    def post(self, request, pk):
        data = NoteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        note = data.validated_data.get("note", "")
        if self.decision == "approve":
            proposal = approvals.proposal_approve(proposal_id=pk, approved_by=request.user, note=note)
        else:
            proposal = approvals.proposal_refuse(proposal_id=pk, refused_by=request.user, note=note)
        return Response(approvals.proposal_data(approvals.proposal_get(proposal.pk)))
