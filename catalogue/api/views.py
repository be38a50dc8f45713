"""Catalogue API views: declarative reads, writes delegated to services."""

from django.db import transaction
from django.db.models import Count, Q
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.response import Response

from catalogue import access, approvals, selectors, services
from catalogue.api.approvals import PROPOSED, proposal_answer
from catalogue.access import MODEL_ACCESS_FIELDS
from catalogue.api.embargoes import pending_access_changes
from catalogue.api.filters import AliasOrderingFilter, ModelFilterSet, ModelOrderingFilter, RetirementFilterSet
from catalogue.api.serializers import (
    ModelInputSerializer,
    ModelSerializer,
    ModelUpdateSerializer,
    ProviderInputSerializer,
    ProviderSerializer,
    RetirementInputSerializer,
    RetirementSerializer,
    RetirementUpdateSerializer,
    WithdrawnModelSerializer,
)
from catalogue.models import Provider
from core.errors import error_body
from core.schema import withdrawn_answer
from catalogue.permissions import visible_model_ids, visible_models, with_visible_replacement
from django_filters.rest_framework import DjangoFilterBackend


class WriteMixin:
    """Validate with an input serializer, call a service, answer with the output serializer."""

    def _input(self, serializer_class, *, partial=False):
        serializer = serializer_class(data=self.request.data, partial=partial, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def _output(self, instance, status_code=status.HTTP_200_OK):
        instance = self.get_queryset().get(pk=instance.pk)
        return Response(self.get_serializer(instance).data, status=status_code)


class ProviderViewSet(WriteMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ProviderSerializer
    lookup_field = "slug"
    filter_backends = [AliasOrderingFilter]
    ordering = ("slug",)

    def get_queryset(self):
        # Counts only the models the reader may see: a hidden model is not counted either.
        visible = visible_model_ids(self.request.user)
        return Provider.objects.annotate(model_count=Count("models", filter=Q(models__in=visible)))

    @extend_schema(request=ProviderInputSerializer, responses={201: ProviderSerializer})
    def create(self, request):
        provider = services.provider_create(**self._input(ProviderInputSerializer))
        return self._output(provider, status.HTTP_201_CREATED)

    @extend_schema(request=ProviderInputSerializer, responses=ProviderSerializer)
    def partial_update(self, request, slug=None):
        data = self._input(ProviderInputSerializer, partial=True)
        data.pop("slug", None)
        provider = services.provider_update(provider=self.get_object(), **data)
        return self._output(provider)


class ModelViewSet(WriteMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Models, identified as `provider/name`; status is derived from dates."""

    serializer_class = ModelSerializer
    filter_backends = [DjangoFilterBackend, ModelOrderingFilter]
    filterset_class = ModelFilterSet
    ordering = ("repo_key",)

    def get_queryset(self, *, sort_keys: bool = True):
        user = self.request.user
        return with_visible_replacement(user, visible_models(user, selectors.model_queryset(sort_keys=sort_keys)))

    def paginate_queryset(self, queryset):
        # Deferred join: filter, sort and page over narrow rows (id + sort key), then load only the
        # page's rows with their joins and prefetches (one more query, still independent of page size).
        # Sorting 10,000 wide joined rows took about 1.6x as long in the benchmark (benchmarks/api_scale.py).
        # values(): only the id and the sort key are selected, so the annotations the page does not sort on are left
        # out (still applied where a filter names them) and the join behind the replacement's visibility goes
        # unused, which PostgreSQL and SQLite then drop: sorting on a date no longer joined all 10,000 rows.
        if self.paginator is None:
            return None
        keys = [key.lstrip("-") for key in self.paginator.get_ordering(self.request, queryset, self)]
        narrow = queryset.select_related(None).prefetch_related(None).values("pk", *keys)
        page = super().paginate_queryset(narrow)
        if page is None:
            return None
        # The page's rows in any order (restored below), without the sort keys: they are not shown.
        rows = self.get_queryset(sort_keys=False).order_by().in_bulk([row["pk"] for row in page])
        return [rows[row["pk"]] for row in page]

    def get_object(self):
        model = selectors.model_get(
            provider=self.kwargs["provider"], name=self.kwargs["name"], user=self.request.user, check_visible=True
        )  # the serializer checks the replacement's visibility itself
        self.check_object_permissions(self.request, model)
        return model

    @extend_schema(responses={200: ModelSerializer, 410: withdrawn_answer(WithdrawnModelSerializer)})
    def retrieve(self, request, *args, **kwargs):
        model = self.get_object()  # once: each look-up is three queries
        response = Response(self.get_serializer(model).data)
        response.data["access_changes"] = pending_access_changes(model)  # embargoes: future access levels, by date
        if model.withdrawn_at is not None:  # a tombstone: 410 Gone with the reason, the date and the kept record
            body = error_body(status_code=410, code="withdrawn", detail=f"{model.repo_id} has been withdrawn: {model.withdrawal_reason}")
            body["tombstone"] = {"withdrawn_at": model.withdrawn_at.isoformat(), "reason": model.withdrawal_reason}
            body["model"] = response.data
            return Response(body, status=410)
        return response

    @extend_schema(request=ModelInputSerializer, responses={201: ModelSerializer})
    def create(self, request):
        model = services.model_create(**self._input(ModelInputSerializer))
        return self._output(model, status.HTTP_201_CREATED)

    @extend_schema(request=ModelUpdateSerializer, responses={200: ModelSerializer, 202: PROPOSED})
    def partial_update(self, request, provider=None, name=None):
        data = self._input(ModelUpdateSerializer, partial=True)
        access_changes = {key: data.pop(key) for key in MODEL_ACCESS_FIELDS if key in data}
        proposal = None
        with transaction.atomic():
            model = self.get_object()
            if access_changes:
                # Lowering a level under the two-person rule: every access change of this request waits for a
                # second curator; the other fields apply now.
                proposal = approvals.propose_if_required(kind="model_access", proposed_by=request.user, model=model,
                                                         params=access_changes)
                if proposal is None:
                    model = access.model_access_set(model=model, changed_by=request.user, **access_changes)
            if data:
                model = services.model_update(model=model, **data)
        if proposal is not None:
            return proposal_answer(proposal, model=self._output(model).data)
        return self._output(model)

    @extend_schema(request=ModelUpdateSerializer, responses=ModelSerializer)
    def update(self, request, provider=None, name=None):
        return self.partial_update(request, provider=provider, name=name)


class RetirementViewSet(WriteMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Retirements registered by curators."""

    serializer_class = RetirementSerializer
    filter_backends = [DjangoFilterBackend, AliasOrderingFilter]
    filterset_class = RetirementFilterSet
    ordering = ("-registered_at",)

    def get_queryset(self):
        user = self.request.user
        queryset = selectors.retirement_queryset().filter(model__in=visible_model_ids(user))
        return with_visible_replacement(user, queryset, prefix="model__")

    @extend_schema(request=RetirementInputSerializer, responses={201: RetirementSerializer})
    def create(self, request):
        data = self._input(RetirementInputSerializer)
        retirement = services.retirement_register(registered_by=request.user, **data)
        return self._output(retirement, status.HTTP_201_CREATED)

    @extend_schema(request=RetirementUpdateSerializer, responses=RetirementSerializer)
    def partial_update(self, request, pk=None):
        data = self._input(RetirementUpdateSerializer, partial=True)
        retirement = services.retirement_update(retirement=self.get_object(), **data)
        return self._output(retirement)
