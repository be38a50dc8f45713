"""The tamper-evident log's doors (docs/log.md): signed checkpoints, inclusion and consistency proofs, and the
leaves. Leaf hashes are public (the log is verifiable by anyone); an event's contents follow the event list's rules
(archive.selectors.visible_events, detail keys for curators), so a leaf's event is shown or withheld, never changed."""

import base64

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from archive import selectors
from archive.api.serializers import INTERNAL_DETAIL_KEYS
from archive.exceptions import LogProofUnavailable
from archive.log import leaves
from archive.log import selectors as log_selectors
from archive.models import LogCheckpoint, PreservationEvent
from catalogue.permissions import can_see_internals
from core.pagination import CodaCursorPagination

MAX_ID = 2**63 - 1
MAX_LEAVES = 1000


def b64(value: bytes) -> str:
    return base64.b64encode(bytes(value)).decode("ascii")


class LogCheckpointSerializer(serializers.ModelSerializer):
    root_hash = serializers.SerializerMethodField()
    key_id = serializers.CharField(source="key.key_id")

    class Meta:
        model = LogCheckpoint
        fields = ["size", "root_hash", "origin", "key_id", "note", "created_at"]

    def get_root_hash(self, obj) -> str:
        return b64(obj.root_hash)


class CheckpointPagination(CodaCursorPagination):
    ordering = ("-size",)


class LogCheckpointView(APIView):
    """The latest signed checkpoint: `note` is the C2SP signed note (tlog-checkpoint body, ECDSA P-256 signature
    by the archive key of `GET /api/v1/signing-keys/`)."""

    permission_classes = [AllowAny]

    @extend_schema(responses={200: LogCheckpointSerializer, 404: OpenApiResponse(description="No checkpoint yet")})
    def get(self, request):
        checkpoint = log_selectors.checkpoint_latest()
        if checkpoint is None:
            raise LogProofUnavailable("no checkpoint has been signed yet")
        return Response(LogCheckpointSerializer(checkpoint).data)


class LogCheckpointListView(generics.ListAPIView):
    """Every signed checkpoint, largest tree first."""

    permission_classes = [AllowAny]
    serializer_class = LogCheckpointSerializer
    pagination_class = CheckpointPagination
    filter_backends = []
    queryset = LogCheckpoint.objects.select_related("key")


class InclusionQuery(serializers.Serializer):
    event = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    size = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)


class ConsistencyQuery(serializers.Serializer):
    # `from` is a Python keyword: the field is declared below under its query name.
    to = serializers.IntegerField(min_value=0, max_value=MAX_ID, required=False)


ConsistencyQuery._declared_fields["from"] = serializers.IntegerField(min_value=0, max_value=MAX_ID)


class LeavesQuery(serializers.Serializer):
    start = serializers.IntegerField(min_value=0, max_value=MAX_ID, default=0)
    count = serializers.IntegerField(min_value=1, max_value=MAX_LEAVES, default=MAX_LEAVES)


def _query(serializer_class, request) -> dict:
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data


class InclusionProofView(APIView):
    """The inclusion proof of an event's leaf (RFC 6962 audit path, base64 hashes bottom to top) in the tree of
    `size` leaves, by default the latest checkpoint's. An event the caller may not see is a 404."""

    permission_classes = [AllowAny]

    @extend_schema(parameters=[OpenApiParameter("event", int, required=True), OpenApiParameter("size", int)],
                   responses={200: OpenApiResponse(description="The proof"), 404: OpenApiResponse(description="No such event or leaf")})
    def get(self, request):
        query = _query(InclusionQuery, request)
        visible = selectors.visible_events(request.user, PreservationEvent.objects.filter(pk=query["event"]))
        if not visible.exists():
            raise LogProofUnavailable(f"event {query['event']} not found")
        proof = log_selectors.inclusion(event_id=query["event"], size=query.get("size"))
        return Response({**proof, "leaf_hash": b64(proof["leaf_hash"]), "root_hash": b64(proof["root_hash"]),
                         "hashes": [b64(h) for h in proof["hashes"]]})


class ConsistencyProofView(APIView):
    """The consistency proof (RFC 6962) that the tree of `to` leaves (default: the latest checkpoint's) extends the
    tree of `from` leaves."""

    permission_classes = [AllowAny]

    @extend_schema(parameters=[OpenApiParameter("from", int, required=True), OpenApiParameter("to", int)],
                   responses={200: OpenApiResponse(description="The proof"), 404: OpenApiResponse(description="No such tree size")})
    def get(self, request):
        query = _query(ConsistencyQuery, request)
        proof = log_selectors.consistency(first=query["from"], second=query.get("to"))
        return Response({"from": proof["from"], "to": proof["to"], "hashes": [b64(h) for h in proof["hashes"]],
                         "from_root_hash": b64(proof["from_root_hash"]), "to_root_hash": b64(proof["to_root_hash"])})


class LogLeavesView(APIView):
    """Leaves `start` .. `start+count-1` in index order: each leaf's hash, and its event's leaf object (docs/log.md)
    when the caller may see the whole event, else `withheld` says why (`not visible`, `internal detail`, or for
    curators `missing`: the event row is gone)."""

    permission_classes = [AllowAny]

    @extend_schema(parameters=[OpenApiParameter("start", int), OpenApiParameter("count", int)],
                   responses={200: OpenApiResponse(description="The leaves")})
    def get(self, request):
        query = _query(LeavesQuery, request)
        curator = can_see_internals(request.user)
        events = selectors.visible_events(request.user, PreservationEvent.objects.all())
        rows = log_selectors.leaves_page(start=query["start"], count=query["count"], events=events)
        out = []
        for row in rows:
            event, withheld = row["event"], None
            if event is None:
                withheld = "missing" if curator else "not visible"
            elif not curator and isinstance(event.detail, dict) and INTERNAL_DETAIL_KEYS & set(event.detail):
                event, withheld = None, "internal detail"
            out.append({"index": row["index"], "leaf_hash": b64(row["leaf_hash"]),
                        "event": leaves.event_object(event) if event is not None else None, "withheld": withheld})
        return Response({"size": log_selectors.log_size(), "start": query["start"], "leaves": out})
