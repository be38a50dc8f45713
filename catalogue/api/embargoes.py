"""Embargo API: a model's scheduled access changes (whoever sees the model reads them; curators schedule and
cancel them). The rules are in catalogue.embargoes; the beat applies them on their date."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from catalogue import approvals, embargoes, selectors
from catalogue.api.approvals import PROPOSED, proposal_answer
from catalogue.models import AccessChange
from catalogue.permissions import CuratorOnly, CuratorWriteOrReadOnly
from core.input import InputSerializer


class AccessChangeSerializer(serializers.ModelSerializer):
    """A future access change, as the model detail (`access_changes`) and this endpoint show it."""

    class Meta:
        model = AccessChange
        fields = ["id", "field", "level", "effective_on", "reason"]


class AccessChangeInputSerializer(InputSerializer):
    field = serializers.ChoiceField(choices=AccessChange.Field.choices)
    level = serializers.CharField(max_length=20, help_text="public, gated or restricted (metadata: public or restricted).")
    effective_on = serializers.DateField(help_text="The change applies from the start of this day (after today).")
    reason = serializers.CharField(required=False, allow_blank=True)


def pending_access_changes(model) -> list[dict]:
    return AccessChangeSerializer(embargoes.access_changes_pending(model), many=True).data


class ModelAccessChangesView(APIView):
    """GET: the model's future access changes (oldest first). POST (curators): schedule one — `field`
    (`metadata_access` or `file_access`), `level`, `effective_on`, `reason`; 201 with it."""

    permission_classes = [CuratorWriteOrReadOnly]

    def _model(self):
        return selectors.model_get(provider=self.kwargs["provider"], name=self.kwargs["name"],
                                   user=self.request.user, check_visible=True)

    @extend_schema(responses=AccessChangeSerializer(many=True))
    def get(self, request, provider, name):
        return Response(pending_access_changes(self._model()))

    @extend_schema(request=AccessChangeInputSerializer, responses={201: AccessChangeSerializer, 202: PROPOSED})
    def post(self, request, provider, name):
        data = AccessChangeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        model = self._model()
        if data.validated_data.get("field") in embargoes.LEVELS and data.validated_data.get("effective_on"):
            proposal = approvals.propose_if_required(  # opening a restricted model later: a second curator
                kind="access_change_schedule", proposed_by=request.user, model=model,
                params=embargoes.schedule_params(**data.validated_data))
            if proposal is not None:
                return proposal_answer(proposal)
        change = embargoes.access_change_schedule(model=model, created_by=request.user, **data.validated_data)
        return Response(AccessChangeSerializer(change).data, status=status.HTTP_201_CREATED)


class ModelAccessChangeView(APIView):
    """DELETE (curators): cancel a scheduled access change not yet applied (204)."""

    permission_classes = [CuratorOnly]

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, provider, name, pk):
        model = selectors.model_get(provider=provider, name=name, user=request.user, check_visible=True)
        change = model.access_changes.filter(pk=pk).first()
        if change is None:
            raise NotFound("There is no such scheduled access change for this model.")
        embargoes.access_change_cancel(change=change, cancelled_by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
