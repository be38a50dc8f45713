"""Hub-compatible read API under /hf: what huggingface_hub's snapshot_download / hf_hub_download and
transformers' from_pretrained call, answered from sealed snapshots. Thin: resolve the model, the revision
and the user, ask catalogue.permissions, read via archive.selectors / archive.delivery."""

import functools
import re

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from rest_framework.exceptions import AuthenticationFailed, Throttled

from archive import refs, selectors
from archive.delivery import downloads as delivery
from archive.delivery.ranges import hub_range
from archive.exceptions import StoredCopyUnavailable
from archive.hub import protocol, protocol_repos
from archive.models import Snapshot, StorageLocation
from archive.withdrawals import withdrawal_notice
from catalogue import selectors as catalogue_selectors
from core.authentication import BearerTokenAuthentication
from core.exceptions import DomainError, NotFoundError, UnavailableError
from catalogue.models import FileAccess
from catalogue.permissions import can_read_files, file_access_denial, file_access_level, visible_replacement



class HubError(Exception):
    """An answer the clients understand: status, X-Error-Code and a message."""

    def __init__(self, status: int, code: str | None, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


class HubContext:
    """Per-request state: the authenticated user and the headers every answer about this model carries."""

    def __init__(self, request):
        self.request = request
        self.headers: dict[str, str] = {}
        self.replacement = None  # the model's replacement, when this user may see it
        self.user = self._authenticate(request)

    @staticmethod
    def _authenticate(request):
        try:
            result = BearerTokenAuthentication().authenticate(request)
        except AuthenticationFailed:
            # The Hub's own words: clients then report a bad token, not a missing repository.
            raise HubError(401, None, "Invalid credentials in Authorization header", {"WWW-Authenticate": "Bearer"}) from None
        except Throttled as exc:
            raise HubError(429, None, str(exc.detail), {"Retry-After": str(int(exc.wait or 0))}) from None
        if result is not None:
            return result[0]
        return getattr(request, "user", None) or AnonymousUser()

    def model(self, provider: str, name: str):
        try:
            model = catalogue_selectors.model_get(provider=provider, name=name, user=self.user, check_visible=True)
        except NotFoundError:
            raise HubError(404, "RepoNotFound", f"Repository {provider}/{name} not found.") from None
        if model.withdrawn_at is not None:  # the API's words (archive.withdrawals), the Hub's error code
            raise HubError(410, "RepoWithdrawn", withdrawal_notice(model))
        replacement = self.replacement = visible_replacement(self.user, model)
        successor = None
        if replacement is not None:
            successor = self.request.build_absolute_uri(
                reverse("hub:model-info", kwargs={"provider": replacement.provider.slug, "name": replacement.name})
            )
        self.headers.update(
            protocol.lifecycle_headers(
                model=model,
                successor_url=successor,
                deprecation_url=self.request.build_absolute_uri(model.get_absolute_url()),
            )
        )
        return model

    def snapshot(self, model, revision: str) -> Snapshot:
        """A branch ('main' = the model's files, 'dossier'), a curator tag or a sealed snapshot's 40-hex
        revision id; never an unsealed snapshot's row id."""
        name = revision.removeprefix("refs/heads/").removeprefix("refs/tags/")
        if not name or (name.isdigit() and not selectors.REVISION_RE.match(name)):
            raise HubError(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        try:
            snapshot = selectors.snapshot_get(model=model, ref=revision)
        except NotFoundError:
            detail = "has no preserved snapshot yet" if revision == "main" else f"has no revision {revision}"
            raise HubError(404, "RevisionNotFound", f"{model.repo_id} {detail}.") from None
        if snapshot.withdrawn_at is not None:
            raise HubError(410, "RevisionWithdrawn", withdrawal_notice(model, snapshot))
        self.headers["X-Repo-Commit"] = snapshot.revision
        return snapshot


def hub_view(view=None, *, methods=("GET", "HEAD")):
    """Authenticate, run the view, turn HubErrors into Hub error answers, add the model's headers."""
    if view is None:
        return functools.partial(hub_view, methods=methods)

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        ctx = None
        try:
            ctx = HubContext(request)
            response = view(request, ctx, *args, **kwargs)
        except HubError as exc:
            response = protocol.error_response(exc.status, exc.code, exc.message, exc.headers)
        except DomainError as exc:  # anything else a user can act on, still as a JSON object
            response = protocol.error_response(exc.status_code, None, exc.message)
        for key, value in (ctx.headers if ctx else {}).items():
            if key == "Link":
                protocol.add_link(response, value)
            elif not response.has_header(key):
                response[key] = value
        return response

    # Token-authenticated reads (paths-info is a POST that reads): no session, no CSRF to check.
    return csrf_exempt(require_http_methods(list(methods))(wrapper))


def next_link(request, response, cursor: int) -> None:
    """Link rel="next" with the same query and the next cursor (the clients follow it as it is)."""
    params = request.GET.copy()
    params["cursor"] = str(cursor)
    protocol.add_link(response, f'<{request.build_absolute_uri(request.path)}?{params.urlencode()}>; rel="next"')


def flag(request, name: str) -> bool:
    return request.GET.get(name, "").lower() in ("1", "true")


# A cursor is the offset a Link rel=next handed out: ASCII digits, never past what an OFFSET can hold
# (9223372036854775808 was PostgreSQL's "bigint out of range", a 500).
CURSOR = re.compile(r"[0-9]{1,10}\Z")
MAX_CURSOR = 2**31 - 1


def offset_cursor(request) -> int:
    raw = request.GET.get("cursor", "0")
    if not CURSOR.match(raw) or int(raw) > MAX_CURSOR:
        raise HubError(400, None, f"cursor must be an integer from 0 to {MAX_CURSOR}, as a Link rel=next gives it.")
    return int(raw)


@hub_view
def model_info(request, ctx, provider, name, revision="main"):
    """GET /hf/api/models/{repo}[/revision/{rev}]"""
    model = ctx.model(provider, name)
    snapshot = ctx.snapshot(model, revision)
    files = selectors.manifest_files(snapshot)
    body = protocol.model_info(
        model=model,
        snapshot=snapshot,
        files=files,
        gated=file_access_level(model, snapshot) != FileAccess.PUBLIC,
        blobs=request.GET.get("blobs", "").lower() in ("1", "true"),
        lifecycle={
            "status": model.status,
            "deprecated_on": model.deprecated_on and model.deprecated_on.isoformat(),
            "retires_on": model.retires_on and model.retires_on.isoformat(),
            "replacement": ctx.replacement.repo_id if ctx.replacement is not None else None,
        },
    )
    body["cardData"] = protocol_repos.card_data(model)
    inspection = snapshot.inspection or {}
    if (safetensors := protocol_repos.safetensors_info(inspection)) is not None:
        body["safetensors"] = safetensors
    if inspection.get("config"):
        body["config"] = inspection["config"]
    return JsonResponse(body)


@hub_view
def tree(request, ctx, provider, name, revision, path=""):
    """GET /hf/api/models/{repo}/tree/{rev}[/{path}]?recursive=…, paginated with Link rel=next."""
    model = ctx.model(provider, name)
    snapshot = ctx.snapshot(model, revision)
    path = path.strip("/")
    entries = protocol.tree_entries(selectors.manifest_files(snapshot), path=path, recursive=flag(request, "recursive"))
    if entries is None:
        raise HubError(404, "EntryNotFound", f"{path} is not a directory of {model.repo_id}@{snapshot.revision}.")
    offset = offset_cursor(request)
    size = max(1, settings.CODA_HF_TREE_PAGE_SIZE)
    page = entries[offset : offset + size]
    if flag(request, "expand"):  # lastCommit of each entry: the snapshot is the commit that holds it
        page = protocol_repos.with_last_commit(page, snapshot, refs.snapshot_role(snapshot))
    response = JsonResponse(page, safe=False)
    if offset + size < len(entries):
        next_link(request, response, offset + size)
    return response


@hub_view
def resolve(request, ctx, provider, name, revision, path):
    """HEAD/GET /hf/{repo}/resolve/{rev}/{path}: the bytes (ranged), or a 302 to presigned storage."""
    model = ctx.model(provider, name)
    snapshot = ctx.snapshot(model, revision)
    if not can_read_files(ctx.user, model, snapshot):
        raise HubError(403, "GatedRepo", file_access_denial(ctx.user, model, snapshot))
    row = snapshot.files.select_related("blob", "snapshot__model").filter(path=path).first()
    if row is None:
        raise HubError(404, "EntryNotFound", f"{path} is not in {model.repo_id}@{snapshot.revision}.")
    blob = row.blob
    try:
        replica = delivery.readable_replica(blob)
    except NotFoundError as exc:
        raise HubError(503, None, exc.message) from None
    headers = protocol.file_headers(revision=snapshot.revision, sha256=blob.sha256, size=blob.size)
    is_get = request.method == "GET"  # HEAD of a streamed file is metadata only: no access event

    # Sealed copies always stream (decrypted on the fly): never a URL to ciphertext.
    if replica.location.kind == StorageLocation.Kind.S3 and settings.CODA_HF_S3_REDIRECT and not replica.is_sealed:
        try:
            with delivery.failures_recorded(user=ctx.user, snapshot=snapshot, snapshot_file=row, replica=replica,
                                            via="hf-redirect"):
                delivery.replica_probe(replica)  # never a redirect to storage that cannot answer
                url = delivery.presigned_url(replica, expires_in=settings.CODA_HF_PRESIGN_SECONDS)
        except UnavailableError as exc:
            raise HubError(503, None, exc.public_message, _retry_after()) from None
        # Clients read the file's metadata from this 302 and do not follow it on HEAD, so it carries it all.
        # They then GET the presigned URL straight from storage: handing out the URL is the access, on HEAD too.
        response = HttpResponse(status=302)
        response["Location"] = url
        _set(response, headers)
        delivery.access_record(
            user=ctx.user,
            snapshot_file=row,
            replica=replica,
            via="hf-redirect",
            detail={"method": request.method, "expires_in": settings.CODA_HF_PRESIGN_SECONDS},
        )
        return response

    first, last = 0, blob.size - 1
    status = 200
    requested = hub_range(request.headers.get("Range", ""), if_range=request.headers.get("If-Range"), size=blob.size,
                          current_etag=headers["ETag"])
    if requested == "unsatisfiable":
        raise HubError(416, None, f"Range not satisfiable (size {blob.size}).", {"Content-Range": f"bytes */{blob.size}"})
    if requested is not None:
        (first, last), status = requested, 206
    length = max(0, last - first + 1)
    if not is_get:
        response = HttpResponse(status=status, content_type="application/octet-stream")
    else:
        try:
            with delivery.failures_recorded(user=ctx.user, snapshot=snapshot, snapshot_file=row, replica=replica, via="hf"):
                try:
                    body = _body(replica, first, last) if length else iter(())
                except FileNotFoundError as exc:
                    raise StoredCopyUnavailable(f"The stored copy {replica.key} is missing: {exc}") from exc
        except UnavailableError as exc:
            raise HubError(503, None, exc.public_message, _retry_after()) from None
        response = StreamingHttpResponse(body, status=status, content_type="application/octet-stream")
        delivery.access_record(
            user=ctx.user,
            snapshot_file=row,
            replica=replica,
            via="hf",
            detail={"range": [first, last]} if status == 206 else None,
        )
    _set(response, headers)
    response["Content-Length"] = str(length)
    response["Content-Disposition"] = protocol.content_disposition(path)
    if status == 206:
        response["Content-Range"] = f"bytes {first}-{last}/{blob.size}"
    return response


@hub_view
def not_found(request, ctx, rest=""):
    """Anything else under /hf (datasets, spaces, unknown routes): what the Hub says for a missing repo."""
    raise HubError(404, "RepoNotFound", f"Not found: /hf/{rest}")


def _retry_after() -> dict:
    return {"Retry-After": str(settings.CODA_STORAGE_RETRY_AFTER)}


def _set(response, headers: dict) -> None:
    for key, value in headers.items():
        response[key] = value


def _body(replica, first: int, last: int):
    """Open the stored copy now (so a missing copy is a 503, not a broken 200) and stream it."""
    chunks = delivery.iter_blob(replica, start=first, end=last)
    head = next(chunks, b"")

    def stream():
        try:
            if head:
                yield head
            yield from chunks
        finally:
            chunks.close()

    return stream()

