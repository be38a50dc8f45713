"""The Hugging Face Hub wire format, as the official clients (huggingface_hub 0.36 and 2.x, transformers)
read it: model info, tree entries, resolve headers, error codes, and lifecycle headers.

Every Coda file is presented as a Git LFS object. Coda addresses content by SHA-256 and never computes
a git blob SHA-1 of the content (that would need a second read of every file). An LFS file's metadata is
derived from (sha256, size) alone: the pointer text is fixed by the LFS spec, so the tree `oid` (git blob
SHA-1 of the pointer), `lfs.oid`, `lfs.pointerSize`, `ETag` and `X-Linked-Etag` (the quoted SHA-256) need
no read of the bytes. The Hub itself stores any file, small or large, in LFS when .gitattributes says so;
clients name cache blobs by the ETag and verify LFS files by SHA-256, so all of this works unchanged."""

import hashlib
from datetime import date, datetime, time, timezone
from urllib.parse import quote

from django.http import JsonResponse
from django.utils.http import http_date

from catalogue.models import LifecycleStatus, MetadataAccess
from catalogue.selectors import model_tags

LFS_SPEC = "https://git-lfs.github.com/spec/v1"


def lfs_pointer(sha256: str, size: int) -> bytes:
    """The Git LFS pointer file that stands for the content in a git tree."""
    return f"version {LFS_SPEC}\noid sha256:{sha256}\nsize {size}\n".encode()


def git_blob_oid(data: bytes) -> str:
    """Git's object id of a blob: SHA-1 over 'blob <size>\\0' and the bytes."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def file_entry(path: str, size: int, sha256: str) -> dict:
    pointer = lfs_pointer(sha256, size)
    return {
        "type": "file",
        "oid": git_blob_oid(pointer),
        "size": size,
        "path": path,
        "lfs": {"oid": sha256, "size": size, "pointerSize": len(pointer)},
    }


def directory_entry(path: str, descendants: list[dict]) -> dict:
    """A directory; its oid is derived from what it holds (relative path, size, sha256 of each file), so the
    same content gives the same oid in every revision, as a git tree id would (it is not a git tree id)."""
    prefix = path + "/"
    lines = sorted(f"{f['path'][len(prefix):]}\t{f['size']}\t{f['sha256']}\n".encode() for f in descendants)
    return {
        "type": "directory",
        "oid": hashlib.sha1(b"tree\0" + b"".join(lines), usedforsecurity=False).hexdigest(),
        "path": path,
    }


def tree_entries(files: list[dict], *, path: str, recursive: bool) -> list[dict] | None:
    """Entries under `path` ('' = root) of a snapshot's files (manifest rows: path, size, sha256); directories
    before files at each level, each sorted by path. None when `path` is not a directory of the snapshot."""
    prefix = f"{path}/" if path else ""
    below = [f for f in files if f["path"].startswith(prefix)]
    if not below:
        return None
    directories: dict[str, list[dict]] = {}
    direct: list[dict] = []
    for f in below:
        rest = f["path"][len(prefix):]
        parts = rest.split("/")
        if len(parts) == 1:
            direct.append(f)
        # Every directory between `path` and the file (all of them when recursive, the first otherwise).
        for depth in range(1, len(parts) if recursive else min(2, len(parts))):
            directories.setdefault(prefix + "/".join(parts[:depth]), []).append(f)
    entries = [directory_entry(d, directories[d]) for d in sorted(directories, key=str.encode)]
    listed = below if recursive else direct
    entries += [file_entry(f["path"], f["size"], f["sha256"]) for f in sorted(listed, key=lambda f: f["path"].encode())]
    if recursive:  # one path order, a directory just before what it holds
        entries.sort(key=lambda e: e["path"].encode())
    return entries


def hub_datetime(value: datetime | None) -> str | None:
    """The Hub's timestamp format ('2024-05-01T12:00:00.000Z'), which huggingface_hub's parser expects."""
    if value is None:
        return None
    value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def model_info(*, model, snapshot, files: list[dict], gated: bool, blobs: bool, lifecycle: dict) -> dict:
    """GET /api/models/{repo}[/revision/{rev}]: the keys huggingface_hub's ModelInfo reads."""
    siblings = []
    for f in files:
        sibling = {"rfilename": f["path"]}
        if blobs:  # files_metadata=True
            pointer = lfs_pointer(f["sha256"], f["size"])
            sibling.update(
                size=f["size"],
                blobId=git_blob_oid(pointer),
                lfs={"sha256": f["sha256"], "size": f["size"], "pointerSize": len(pointer)},
            )
        siblings.append(sibling)
    return {
        "_id": f"coda-{model.pk}",
        "id": model.repo_id,
        "modelId": model.repo_id,
        "author": model.provider.slug,
        "sha": snapshot.revision,
        "lastModified": hub_datetime(snapshot.sealed_at),
        "createdAt": hub_datetime(model.created_at),
        "private": model.metadata_access != MetadataAccess.PUBLIC,
        "gated": "manual" if gated else False,
        "disabled": False,
        "downloads": 0,
        "likes": 0,
        "tags": [tag.slug for tag in model_tags(model)],
        "siblings": siblings,
        "usedStorage": sum(f["size"] for f in files),
        "coda": lifecycle,
    }


# --- headers ------------------------------------------------------------------------------------


def etag(sha256: str) -> str:
    return f'"{sha256}"'


def file_headers(*, revision: str, sha256: str, size: int) -> dict[str, str]:
    """What the clients read from HEAD/GET/302 on /resolve (never X-Xet-Hash: Coda serves plain HTTP)."""
    return {
        "X-Repo-Commit": revision,
        "ETag": etag(sha256),
        "X-Linked-Etag": etag(sha256),
        "X-Linked-Size": str(size),
        "Accept-Ranges": "bytes",
    }


def content_disposition(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    return f"inline; filename*=UTF-8''{quote(name)}; filename=\"{ascii_name}\""


def _midnight_utc(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.utc)


def lifecycle_headers(*, model, successor_url: str | None, deprecation_url: str) -> dict[str, str]:
    """Deprecation (RFC 9745), Sunset (RFC 8594) and Link rel=successor-version/deprecation for deprecated
    and retired models; nothing for active and legacy ones."""
    status = model.status
    if status not in (LifecycleStatus.DEPRECATED, LifecycleStatus.RETIRED):
        return {}
    # The announcement date when known; a retired model without one was deprecated at the latest on retirement;
    # a model known only by a future retirement date is deprecated since Coda recorded it.
    since = model.deprecated_on or (model.retires_on if status == LifecycleStatus.RETIRED else None)
    since_dt = _midnight_utc(since) if since else model.created_at
    headers = {"Deprecation": f"@{int(since_dt.timestamp())}"}
    if model.retires_on:
        headers["Sunset"] = http_date(_midnight_utc(model.retires_on).timestamp())
    links = [f'<{deprecation_url}>; rel="deprecation"; type="application/json"']
    if successor_url:
        links.append(f'<{successor_url}>; rel="successor-version"')
    headers["Link"] = ", ".join(links)
    return headers


def add_link(response, value: str) -> None:
    """Append to the Link header (one header, comma-separated links, RFC 8288)."""
    response["Link"] = f"{response['Link']}, {value}" if response.has_header("Link") else value


def error_response(status: int, code: str | None, message: str, headers: dict | None = None) -> JsonResponse:
    """A Hub error: JSON object body, X-Error-Code the clients map to exception classes."""
    response = JsonResponse({"error": message}, status=status)
    if code:
        response["X-Error-Code"] = code
    # Header values must be latin-1 and one line.
    response["X-Error-Message"] = " ".join(message.split()).encode("latin-1", "replace").decode("latin-1")
    for key, value in (headers or {}).items():
        response[key] = value
    return response
