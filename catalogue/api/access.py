"""Access-request API: researchers request a gated model's files; curators approve (with expiry), deny, revoke."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from catalogue import access, approvals, selectors
from catalogue.api.approvals import PROPOSED, proposal_answer
from core.input import InputSerializer
from catalogue.models import AccessRequest
from catalogue.permissions import CuratorOnly, can_see_access_request, is_curator

MAX_GRANT_DAYS = 36525


class AccessRequestSerializer(serializers.ModelSerializer):
    model = serializers.CharField(source="model.repo_id", read_only=True)
    user = serializers.CharField(source="user.username", read_only=True)
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    is_current_grant = serializers.SerializerMethodField()

    class Meta:
        model = AccessRequest
        fields = [
            "id", "model", "user", "purpose", "affiliation", "accepted_terms", "status", "is_current_grant",
            "decided_by", "decided_at", "decision_note", "expires_at", "created_at",
        ]

    def get_is_current_grant(self, obj) -> bool:
        return obj.status == AccessRequest.Status.APPROVED and (
            obj.expires_at is None or obj.expires_at > timezone.now()
        )


class AccessRequestInputSerializer(InputSerializer):
    purpose = serializers.CharField(allow_blank=True)
    affiliation = serializers.CharField(max_length=300, allow_blank=True)
    accepted_terms = serializers.BooleanField()


class DecisionSerializer(InputSerializer):
    expires_at = serializers.DateTimeField(required=False, allow_null=True, help_text="When the grant ends; default CODA_ACCESS_GRANT_DAYS (365) days from now.")
    # Bounded so now + days stays a date (an unbounded count overflowed datetime: a 500).
    expires_in_days = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_GRANT_DAYS, help_text="Or: days from now (at most 100 years)."
    )
    note = serializers.CharField(required=False, allow_blank=True)

    def validate(self, attrs):
        if attrs.get("expires_at") and attrs.get("expires_in_days"):
            raise serializers.ValidationError("Give expires_at or expires_in_days, not both.")
        if attrs.get("expires_in_days"):
            attrs["expires_at"] = timezone.now() + timedelta(days=attrs.pop("expires_in_days"))
        return attrs


def _queryset():
    return AccessRequest.objects.select_related("model__provider", "user", "decided_by")


class ModelAccessRequestsView(generics.ListCreateAPIView):
    """A model's access requests: researchers see and create their own; curators see all."""

    serializer_class = AccessRequestSerializer
    permission_classes = [IsAuthenticated]
    filter_backends = []
    ordering = ("-created_at",)

    def get_model(self):
        return selectors.model_get(
            provider=self.kwargs["provider"], name=self.kwargs["name"], user=self.request.user, check_visible=True
        )

    def get_queryset(self):
        queryset = _queryset().filter(model=self.get_model())
        return queryset if is_curator(self.request.user) else queryset.filter(user=self.request.user)

    @extend_schema(request=AccessRequestInputSerializer, responses={201: AccessRequestSerializer})
    def post(self, request, provider, name):
        data = AccessRequestInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        created = access.access_request_create(user=request.user, model=self.get_model(), **data.validated_data)
        return Response(AccessRequestSerializer(_queryset().get(pk=created.pk)).data, status=status.HTTP_201_CREATED)


class GrantSerializer(DecisionSerializer):
    user = serializers.CharField(help_text="Username of the researcher to grant.")


class ModelAccessGrantView(APIView):
    """POST (curators): grant a named researcher access to this model's files at once, e.g. for a model whose
    metadata is restricted. Takes `user` and `expires_at` or `expires_in_days` and `note`; 201 with the grant."""

    permission_classes = [CuratorOnly]

    @extend_schema(request=GrantSerializer, responses={201: AccessRequestSerializer, 202: PROPOSED})
    def post(self, request, provider, name):
        data = GrantSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        model = selectors.model_get(provider=provider, name=name, user=request.user, check_visible=True)
        user = get_user_model().objects.filter(username=data.validated_data["user"], is_active=True).first()
        if user is None:
            raise NotFound(f"There is no active user {data.validated_data['user']!r}.")
        proposal = approvals.propose_if_required(
            kind="access_grant", proposed_by=request.user, model=model,
            params=access.grant_params(user=user, expires_at=data.validated_data.get("expires_at"),
                                       note=data.validated_data.get("note", "")),
        )
        if proposal is not None:
            return proposal_answer(proposal)
        granted = access.access_grant_create(
            model=model, user=user, granted_by=request.user,
            expires_at=data.validated_data.get("expires_at"), note=data.validated_data.get("note", ""),
        )
        return Response(AccessRequestSerializer(_queryset().get(pk=granted.pk)).data, status=status.HTTP_201_CREATED)


class AccessRequestListView(generics.ListAPIView):
    """Access requests: curators see all (filter `status`, `model`), researchers their own."""

    serializer_class = AccessRequestSerializer
    permission_classes = [IsAuthenticated]
    filter_backends = []
    ordering = ("-created_at",)

    def get_queryset(self):
        queryset = _queryset()
        if not is_curator(self.request.user):
            queryset = queryset.filter(user=self.request.user)
        wanted = self.request.query_params.get("status")
        if wanted:
            queryset = queryset.filter(status=wanted)
        model = self.request.query_params.get("model")
        if model:
            provider, _, name = model.partition("/")
            queryset = queryset.filter(model__provider__slug=provider, model__name=name)
        return queryset


class AccessRequestDetailView(generics.RetrieveAPIView):
    """One access request (its researcher or a curator)."""

    serializer_class = AccessRequestSerializer
    permission_classes = [IsAuthenticated]

    def get_object(self):
        row = _queryset().filter(pk=self.kwargs["pk"]).first()
        if row is None or not can_see_access_request(self.request.user, row):
            raise NotFound(f"Access request {self.kwargs['pk']} does not exist.")
        return row


class AccessRequestDecisionView(APIView):
    """POST approve / deny / revoke (curators). Approve takes `expires_at` or `expires_in_days`."""

    permission_classes = [CuratorOnly]
    decision = ""

    @extend_schema(request=DecisionSerializer, responses={200: AccessRequestSerializer, 202: PROPOSED})
    def post(self, request, pk):
        row = _queryset().filter(pk=pk).first()
        if row is None:
            raise NotFound(f"Access request {pk} does not exist.")
        data = DecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if self.decision == "approve":
            proposal = approvals.propose_if_required(
                kind="access_request_approve", proposed_by=request.user, model=row.model,
                params=access.approve_params(access_request=row, expires_at=data.validated_data.get("expires_at"),
                                             note=data.validated_data.get("note", "")),
            )
            if proposal is not None:
                return proposal_answer(proposal)
        decided = access.access_request_decide(
            access_request=row,
            decided_by=request.user,
            decision=self.decision,
            expires_at=data.validated_data.get("expires_at") if self.decision == "approve" else None,
            note=data.validated_data.get("note", ""),
        )
        return Response(AccessRequestSerializer(_queryset().get(pk=decided.pk)).data)
