"""Hub-compatible listing and history under /hf: the model list, refs, commits and paths-info, what
huggingface_hub's list_models, list_repo_refs, list_repo_commits, get_paths_info and HfFileSystem call.
Thin: visibility from catalogue.permissions, reads from archive.selectors / archive.refs."""

import json
import re

from django.db.models import F
from django.http import JsonResponse

from archive import refs, selectors
from archive.hub import protocol_repos
from archive.hub.views import HubError, flag, hub_view, next_link, offset_cursor

MAX_PAGE = 1000
DEFAULT_PAGE = 100
LIMIT = re.compile(r"[0-9]{1,20}\Z")  # ASCII digits: int() also takes ' 5', '1_0', '٥'
MAX_SEARCH = 200  # the site's search box keeps as much; each term is one more condition in the query
MAX_FILTERS = 20  # each tag is one more join
# Hub sort keys Coda can honour; every other one (downloads, likes, trendingScore) falls back to the id.
SORTS = {
    "lastModified": F("head_sealed_at").desc(nulls_last=True),
    "createdAt": F("created_at").desc(),
    "id": F("repo_key").asc(),
    "modelId": F("repo_key").asc(),
}


def _limit(request) -> int:
    """The page size: ASCII digits (absent: DEFAULT_PAGE), held between 1 and MAX_PAGE as before."""
    raw = request.GET.get("limit") or ""
    if not raw:
        return DEFAULT_PAGE
    if not LIMIT.match(raw):
        raise HubError(400, None, "limit must be an integer.")
    return min(max(1, int(raw)), MAX_PAGE)


@hub_view
def model_list(request, ctx):
    """GET /hf/api/models?search=&author=&filter=&sort=&limit=&full=&expand[]=, paged with Link rel=next;
    only models the caller may see."""
    size = _limit(request)
    offset = offset_cursor(request)
    sort = SORTS.get(request.GET.get("sort", ""), SORTS["id"])
    search, author, tags = request.GET.get("search", ""), request.GET.get("author", ""), request.GET.getlist("filter")
    if len(search) > MAX_SEARCH or len(author) > MAX_SEARCH:
        raise HubError(400, None, f"search and author are at most {MAX_SEARCH} characters.")
    if len(tags) > MAX_FILTERS:
        raise HubError(400, None, f"At most {MAX_FILTERS} filter values.")
    queryset = selectors.hub_models(user=ctx.user, search=search, author=author, tags=tags).order_by(sort, "repo_key")
    models = list(queryset[offset : offset + size + 1])
    more = len(models) > size
    models = models[:size]
    heads = selectors.branch_heads(models)
    expand = set(request.GET.getlist("expand") + request.GET.getlist("expand[]"))
    full = flag(request, "full")
    keys = set(protocol_repos.LIST_KEYS) | {"modelId"} if full else (expand or set(protocol_repos.DEFAULT_LIST_KEYS))
    if flag(request, "config"):
        keys.add("config")
    if flag(request, "cardData"):
        keys.add("cardData")
    items = []
    for model in models:
        head = heads.get(model.pk)
        files = selectors.manifest_files(head) if head is not None and "siblings" in keys else None
        items.append(protocol_repos.list_item(model, head=head, keys=keys, files=files))
    response = JsonResponse(items, safe=False)
    if more:
        next_link(request, response, offset + size)
    return response


@hub_view
def model_refs(request, ctx, provider, name):
    """GET /hf/api/models/{repo}/refs: branches main and dossier, and curator tags."""
    model = ctx.model(provider, name)
    include_prs = request.GET.get("include_prs", "").lower() in ("1", "true")
    return JsonResponse(protocol_repos.refs(refs.model_refs(model), include_prs=include_prs))


@hub_view
def model_commits(request, ctx, provider, name, revision):
    """GET /hf/api/models/{repo}/commits/{rev}: the snapshot and the earlier ones of its branch, newest first."""
    model = ctx.model(provider, name)
    snapshot = ctx.snapshot(model, revision)
    role = refs.snapshot_role(snapshot)
    history = refs.snapshot_history(snapshot)
    formatted = "formatted" in request.GET.getlist("expand[]") + request.GET.getlist("expand")
    offset = offset_cursor(request)
    size = MAX_PAGE
    page = [
        protocol_repos.commit(s, role=role, job=selectors.snapshot_ingest_job(s), formatted=formatted)
        for s in history[offset : offset + size]
    ]
    response = JsonResponse(page, safe=False)
    if offset + size < len(history):
        next_link(request, response, offset + size)
    return response


@hub_view(methods=("POST",))
def paths_info(request, ctx, provider, name, revision):
    """POST /hf/api/models/{repo}/paths-info/{rev} (form or JSON: paths, expand): what each existing path is."""
    model = ctx.model(provider, name)
    snapshot = ctx.snapshot(model, revision)
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except ValueError:
            raise HubError(400, None, "Body is not JSON.") from None
        paths, expand = data.get("paths") or [], data.get("expand")
        paths = [paths] if isinstance(paths, str) else paths
    else:
        paths, expand = request.POST.getlist("paths"), request.POST.get("expand")
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise HubError(400, None, "paths must be a list of strings.")
    entries = protocol_repos.paths_info(selectors.manifest_files(snapshot), paths[:MAX_PAGE])
    if str(expand).lower() in ("1", "true"):
        entries = protocol_repos.with_last_commit(entries, snapshot, refs.snapshot_role(snapshot))
    return JsonResponse(entries, safe=False)
