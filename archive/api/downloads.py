"""File downloads: permission from catalogue.permissions, bytes from archive.delivery (the one Range parser: archive.delivery.ranges).

S3 locations answer 302 to a short-lived presigned URL (`?expires=` seconds, default 900, at most
3600); filesystem locations stream the bytes (single `Range` supported). Each delivery appends an
`access` event. Someone who may not read the files gets 403 with the way to request access; the
check happens before any URL is signed. Storage is reached before the answer starts (the object probed
before a redirect, the stream opened before a 200): when it cannot be, 503 with Retry-After and a failed
`access` event."""

import posixpath

from django.conf import settings
from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.utils.http import content_disposition_header
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from archive import selectors
from archive.delivery import downloads as delivery
from archive.delivery.ranges import range_parse
from archive.api.views import ModelScopedMixin, withdrawn_response
from core.errors import error_body
from catalogue.permissions import can_read_files, file_access_denial

def parse_expires(raw: str | None) -> int:
    if raw in (None, ""):
        return delivery.DEFAULT_PRESIGN_SECONDS
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        raise ValidationError({"expires": "A whole number of seconds, at least 1 (at most 3600)."})
    return min(int(raw), delivery.MAX_PRESIGN_SECONDS)


class SnapshotFileDownloadView(ModelScopedMixin, APIView):
    """One file's bytes: 302 to a presigned URL (S3) or a streamed response (filesystem)."""

    permission_classes = [AllowAny]  # the file rule below decides; anonymous users may read public files

    @extend_schema(
        parameters=[OpenApiParameter("expires", int, description="Presigned URL lifetime in seconds (default 900, max 3600).")],
        responses={
            200: OpenApiResponse(description="The file's bytes (filesystem storage)"),
            206: OpenApiResponse(description="A byte range"),
            302: OpenApiResponse(description="Redirect to a presigned URL (S3 storage)"),
            403: OpenApiResponse(description="No access: the message says how to request it"),
            410: OpenApiResponse(description="Withdrawn (the snapshot or its model), for every role"),
        },
    )
    def get(self, request, provider, name, revision, path):
        model = self.get_model()
        snapshot = selectors.snapshot_get(model=model, ref=revision)
        if gone := withdrawn_response(model, snapshot):
            return gone
        if not can_read_files(request.user, model, snapshot):
            detail = file_access_denial(request.user, model, snapshot)
            return Response(error_body(status_code=403, code="access_denied", detail=detail), status=403)
        row = selectors.snapshot_file_get(snapshot=snapshot, path=path)
        replica = delivery.readable_replica(row.blob)
        filename = posixpath.basename(row.path)
        expires = parse_expires(request.query_params.get("expires"))
        with delivery.failures_recorded(user=request.user, snapshot=snapshot, snapshot_file=row, replica=replica, via="presigned_url"):
            # CODA_DOWNLOAD_S3_REDIRECT=false: stream S3 copies too (the URL would name endpoint, bucket and key).
            url = delivery.presigned_url(replica, expires_in=expires, filename=filename) if settings.CODA_DOWNLOAD_S3_REDIRECT else None
            if url:
                delivery.replica_probe(replica)  # never a redirect to storage that cannot answer
        if url:
            delivery.access_record(
                user=request.user, snapshot_file=row, replica=replica, via="presigned_url",
                detail={"expires_in": expires, "revision": snapshot.revision},
            )
            return HttpResponseRedirect(url)
        size = row.blob.size
        byte_range = range_parse(request.headers.get("Range", ""), size)
        start, end = byte_range or (0, size - 1)
        with delivery.failures_recorded(user=request.user, snapshot=snapshot, snapshot_file=row, replica=replica, via="stream"):
            body = delivery.iter_blob(replica, start=start, end=end) if size else iter(())  # opened before the 200
        delivery.access_record(
            user=request.user, snapshot_file=row, replica=replica, via="stream",
            detail={"revision": snapshot.revision, **({"range": [start, end]} if byte_range else {})},
        )
        response = StreamingHttpResponse(body, status=206 if byte_range else 200, content_type="application/octet-stream")
        response["Content-Length"] = str(end - start + 1 if size else 0)
        response["Content-Disposition"] = content_disposition_header(True, filename)
        response["Accept-Ranges"] = "bytes"
        response["ETag"] = f'"{row.blob.sha256}"'
        response["X-Coda-Sha256"] = row.blob.sha256
        if byte_range:
            response["Content-Range"] = f"bytes {start}-{end}/{size}"
        return response
