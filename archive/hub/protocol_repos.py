"""The Hub wire format of listings and history, as huggingface_hub (0.36 and 2.x) reads it: the model list
(`list_models`), refs (`list_repo_refs`), commits (`list_repo_commits`), `lastCommit` on tree and paths-info
entries (`HfFileSystem.modified`). A Coda snapshot is a commit: it holds a whole set of files, so the
`lastCommit` of every entry of a snapshot is that snapshot."""

from html import escape

from archive.hub.protocol import directory_entry, file_entry, hub_datetime
from catalogue.models import FileAccess, MetadataAccess
from catalogue.selectors import model_tags

# Keys a list item may carry (`expand[]` picks among them; `full` gives them all).
LIST_KEYS = ("author", "createdAt", "lastModified", "sha", "private", "gated", "disabled", "downloads", "likes",
             "tags", "siblings", "safetensors", "cardData", "config", "coda")
DEFAULT_LIST_KEYS = ("id", "modelId", "author", "createdAt", "lastModified", "sha", "private", "gated", "downloads",
                     "likes", "tags")


def commit_title(snapshot, role: str) -> str:
    what = {"model": "model files", "dossier": "retirement dossier"}.get(role, "files")
    count = getattr(snapshot, "file_count", None)
    return f"Preserve {what}" + (f" ({count} files)" if count is not None else "")


def commit_message(snapshot, job) -> str:
    """What the ingest says about itself: who asked, how much, when it was sealed (never the server-side source)."""
    parts = []
    if job is not None:
        who = job.requested_by.get_username() if job.requested_by else "coda"
        parts.append(f"Ingest job {job.pk} requested by {who}: {job.files_total} files, {job.bytes_total} bytes.")
    parts.append(f"Sealed {hub_datetime(snapshot.sealed_at)} as revision {snapshot.revision}.")
    return "\n".join(parts)


def commit_author(snapshot, job) -> str:
    user = snapshot.created_by or (job.requested_by if job is not None else None)
    return user.get_username() if user is not None else "coda"


def commit(snapshot, *, role: str, job, formatted: bool = False) -> dict:
    """One entry of GET /api/models/{repo}/commits/{rev}."""
    title, message = commit_title(snapshot, role), commit_message(snapshot, job)
    entry = {
        "id": snapshot.revision,
        "authors": [{"user": commit_author(snapshot, job)}],
        "date": hub_datetime(snapshot.sealed_at),
        "title": title,
        "message": message,
    }
    if formatted:
        entry["formatted"] = {"title": escape(title), "message": escape(message).replace("\n", "<br>")}
    return entry


def last_commit(snapshot, role: str) -> dict:
    return {"id": snapshot.revision, "title": commit_title(snapshot, role), "date": hub_datetime(snapshot.sealed_at)}


def with_last_commit(entries: list[dict], snapshot, role: str) -> list[dict]:
    commit_info = last_commit(snapshot, role)
    return [{**entry, "lastCommit": commit_info} for entry in entries]


def paths_info(files: list[dict], paths: list[str]) -> list[dict]:
    """POST /api/models/{repo}/paths-info/{rev}: an entry per path that exists (file or directory), in the
    order asked; missing paths are left out, as the Hub does."""
    by_path = {f["path"]: f for f in files}
    out, seen = [], set()
    for path in paths:
        path = path.strip("/")
        if path in seen:
            continue
        seen.add(path)
        if path in by_path:
            f = by_path[path]
            out.append(file_entry(f["path"], f["size"], f["sha256"]))
            continue
        below = [f for f in files if f["path"].startswith(path + "/")] if path else []
        if below:
            out.append(directory_entry(path, below))
    return out


def refs(model_refs, *, include_prs: bool) -> dict:
    """GET /api/models/{repo}/refs: branches (main, dossier) and tags; Coda has no converts or pull requests."""

    def ref(r) -> dict:
        return {"name": r.name, "ref": r.ref, "targetCommit": r.snapshot.revision}

    body = {"branches": [ref(r) for r in model_refs.branches], "tags": [ref(r) for r in model_refs.tags], "converts": []}
    if include_prs:
        body["pullRequests"] = []
    return body


def safetensors_info(inspection: dict) -> dict | None:
    """ModelInfo.safetensors: parameters per dtype as the snapshot's inspection counted them."""
    if "safetensors" not in (inspection.get("formats") or []) or not inspection.get("parameters_by_dtype"):
        return None
    by_dtype = {str(k).upper(): int(v) for k, v in inspection["parameters_by_dtype"].items()}
    return {"parameters": by_dtype, "total": int(inspection.get("parameter_count") or sum(by_dtype.values()))}


def card_data(model) -> dict:
    data = {"tags": [tag.slug for tag in model_tags(model)]}
    if model.license:
        data["license"] = model.license
    return data


def list_item(model, *, head, keys: set[str], files: list[dict] | None) -> dict:
    """One model of GET /api/models; `head` is its main snapshot (None before anything is preserved)."""
    inspection = (head.inspection or {}) if head is not None else {}
    values = {
        "author": lambda: model.provider.slug,
        "createdAt": lambda: hub_datetime(model.created_at),
        "lastModified": lambda: hub_datetime(head.sealed_at) if head is not None else hub_datetime(model.updated_at),
        "sha": lambda: head.revision if head is not None else None,
        "private": lambda: model.metadata_access != MetadataAccess.PUBLIC,
        "gated": lambda: "manual" if ((head and head.file_access) or model.file_access) != FileAccess.PUBLIC else False,
        "disabled": lambda: False,
        "downloads": lambda: 0,
        "likes": lambda: 0,
        "tags": lambda: [tag.slug for tag in model_tags(model)],
        "siblings": lambda: [{"rfilename": f["path"]} for f in (files or [])],
        "safetensors": lambda: safetensors_info(inspection),
        "cardData": lambda: card_data(model),
        "config": lambda: inspection.get("config") or None,
        "coda": lambda: {"status": model.status, "retires_on": model.retires_on and model.retires_on.isoformat()},
    }
    item = {"_id": f"coda-{model.pk}", "id": model.repo_id}
    if "modelId" in keys:
        item["modelId"] = model.repo_id
    for key in LIST_KEYS:
        if key in keys:
            item[key] = values[key]()
    return item
