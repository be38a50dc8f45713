"""GET /api/v1/models/{provider}/{name}/snapshots/{revision}/bag.tar: a sealed snapshot as a BagIt bag."""

from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import PermissionDenied
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from archive import selectors
from archive.bags import export as bags
from archive.delivery import downloads as delivery
from archive.api.views import ModelScopedMixin, withdrawn_response
from catalogue.permissions import can_read_files, file_access_denial, visible_replacement
from core.schema import error_answer, withdrawn_answer


class JsonErrorsNegotiation(BaseContentNegotiation):
    """The success answer is a tar whatever Accept says; errors are JSON (never a 406)."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class BagView(ModelScopedMixin, APIView):
    """The snapshot as a BagIt 1.0 tar, streamed from storage; same access rule as file downloads. Storage is
    probed first: unreachable storage answers 503 with Retry-After before any byte of the bag is sent."""

    renderer_classes = [JSONRenderer]
    content_negotiation_class = JsonErrorsNegotiation

    @extend_schema(
        responses={
            (200, "application/x-tar"): OpenApiResponse(description="BagIt 1.0 bag as a tar"),
            403: error_answer("403", "No access to the files: the message says how to request it"),
            410: withdrawn_answer(),
        }
    )
    def get(self, request, provider, name, revision):
        model = self.get_model()
        snapshot = selectors.snapshot_get(model=model, ref=revision)
        if gone := withdrawn_response(model, snapshot):
            return gone
        if not can_read_files(request.user, model, snapshot):
            raise PermissionDenied(file_access_denial(request.user, model, snapshot))
        plan = bags.bag_plan(snapshot, show_replacement=visible_replacement(request.user, model) is not None)
        user = request.user
        with delivery.failures_recorded(user=user, snapshot=snapshot, via="bag"):
            bags.bag_probe(plan)  # a 503 now, never a 200 cut short when storage cannot be reached

        def record(member: bags.BagMember) -> None:
            delivery.access_record(user=user, snapshot_file=member.row, replica=member.replica, via="bag")

        response = StreamingHttpResponse(bags.bag_stream(plan, on_file_done=record), content_type="application/x-tar")
        response["Content-Length"] = str(plan.tar_size)
        response["Content-Disposition"] = f'attachment; filename="{plan.name}.tar"'
        response["X-Repo-Commit"] = snapshot.revision
        return response
