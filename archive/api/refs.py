"""Archive API: a model's named refs (branches main and dossier, curator tags); curators add tags, never move them."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from archive import refs, selectors
from catalogue import selectors as catalogue_selectors
from core.input import InputSerializer


class TagCreateSerializer(InputSerializer):
    name = serializers.CharField(max_length=64, help_text="e.g. v1, as-retired; immutable once set.")
    revision = serializers.CharField(max_length=40, help_text="Revision id (or a ref) of a sealed snapshot.")
    message = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


def ref_data(ref) -> dict:
    return {"name": ref.name, "ref": ref.ref, "kind": ref.kind, "revision": ref.snapshot.revision,
            "sealed_at": ref.snapshot.sealed_at, "message": ref.message}


class ModelRefsView(APIView):
    """A model's refs: `main` (newest snapshot of its own files), `dossier` (its retirement record), tags."""

    def get_model(self):
        return catalogue_selectors.model_get(
            provider=self.kwargs["provider"], name=self.kwargs["name"], user=self.request.user, check_visible=True
        )

    @extend_schema(responses=OpenApiResponse(description="{branches: [...], tags: [...]}"))
    def get(self, request, provider, name):
        found = refs.model_refs(self.get_model())
        return Response({"branches": [ref_data(r) for r in found.branches], "tags": [ref_data(r) for r in found.tags]})

    @extend_schema(request=TagCreateSerializer, responses={201: OpenApiResponse(description="The tag")})
    def post(self, request, provider, name):
        """Curators: tag a sealed snapshot (409 when the name is taken: tags never move)."""
        serializer = TagCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        snapshot = selectors.snapshot_get(model=self.get_model(), ref=data["revision"])
        tag = refs.snapshot_tag_create(snapshot=snapshot, name=data["name"], created_by=request.user,
                                       message=data["message"])
        body = ref_data(refs.Ref(name=tag.name, kind="tag", snapshot=snapshot, message=tag.message))
        return Response(body, status=status.HTTP_201_CREATED)
