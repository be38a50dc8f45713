"""`Coda`: the REST API under /api/v1/ and downloads through the Hub-compatible /hf (huggingface_hub)."""

import hashlib
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import huggingface_hub

from coda_client.approvals import ApprovalsMixin
from coda_client.errors import CodaError, error_for
from coda_client.types import AccessRequest, Event, Job, Model, Provider, Retirement, Snapshot

DEFAULT_ENDPOINT = "http://127.0.0.1:8000"
POLL_FIRST = 0.02  # seconds before the first look at a preserve's job (Coda.preserve)


class Coda(ApprovalsMixin):
    """A Coda server: `endpoint` (else CODA_ENDPOINT, else the local `make run`) and `token` (else CODA_TOKEN)."""

    def __init__(self, endpoint: str | None = None, token: str | None = None, *, timeout: float = 60.0):
        self.endpoint = (endpoint or os.environ.get("CODA_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
        self.token = token if token is not None else os.environ.get("CODA_TOKEN") or None
        self.timeout = timeout

    # --- HTTP ---------------------------------------------------------------------------------------------

    def request(self, method: str, path: str, *, params: dict | None = None, body: dict | None = None):
        """One API call; JSON in and out; an error answer raises the CodaError subclass of its `code`."""
        url = path if path.startswith("http") else f"{self.endpoint}/api/v1/{path.lstrip('/')}"
        if params:
            query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None}, doseq=True)
            url += ("&" if "?" in url else "?") + query
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = {"detail": raw.decode(errors="replace")[:500]}
            raise error_for(exc.code, parsed) from None
        except urllib.error.URLError as exc:
            raise CodaError(0, "unreachable", f"{self.endpoint}: {exc.reason}") from None
        return json.loads(raw) if raw else None

    def paginate(self, path: str, params: dict | None = None) -> Iterator[dict]:
        """Every item of a cursor-paged list, following `next` until the end."""
        page = self.request("GET", path, params=params)
        while True:
            if isinstance(page, list):  # an unpaged list
                yield from page
                return
            yield from page.get("results", [])
            if not page.get("next"):
                return
            page = self.request("GET", page["next"])

    # --- catalogue ----------------------------------------------------------------------------------------

    def providers(self) -> Iterator[Provider]:
        return (Provider.from_json(p) for p in self.paginate("providers/"))

    def models(self, *, status: str | list[str] | None = None, q: str | None = None, provider: str | None = None,
               preservation: str | None = None, page_size: int | None = None) -> Iterator[Model]:
        params = {"status": status, "q": q, "provider": provider, "preservation": preservation, "page_size": page_size}
        return (Model.from_json(m) for m in self.paginate("models/", params))

    def model(self, repo_id: str) -> Model:
        return Model.from_json(self.request("GET", f"models/{repo_id}/"))

    def retirements(self) -> Iterator[Retirement]:
        return (Retirement.from_json(r) for r in self.paginate("retirements/"))

    def access_requests(self) -> Iterator[AccessRequest]:
        return (AccessRequest.from_json(r) for r in self.paginate("access-requests/"))

    # --- archive ------------------------------------------------------------------------------------------

    def snapshots(self, repo_id: str) -> Iterator[Snapshot]:
        return (Snapshot.from_json(s) for s in self.paginate(f"models/{repo_id}/snapshots/"))

    def snapshot(self, repo_id: str, revision: str = "main") -> Snapshot:
        """One snapshot with its files; `revision`: a revision id, `main`, `dossier` or a tag."""
        return Snapshot.from_json(self.request("GET", f"models/{repo_id}/snapshots/{revision}/"))

    def refs(self, repo_id: str) -> dict:
        return self.request("GET", f"models/{repo_id}/refs/")

    def tag(self, repo_id: str, name: str, revision: str, message: str = "") -> dict:
        return self.request("POST", f"models/{repo_id}/refs/", body={"name": name, "revision": revision,
                                                                      "message": message})

    def manifest(self, repo_id: str, revision: str = "main") -> dict:
        return self.request("GET", f"models/{repo_id}/snapshots/{revision}/manifest")

    def job(self, job_id: int) -> Job:
        return Job.from_json(self.request("GET", f"ingest-jobs/{job_id}/"))

    def events(self, **filters) -> Iterator[Event]:
        return (Event.from_json(e) for e in self.paginate("events/", filters))

    def preserve(self, repo_id: str, source: str, *, wait: bool = True, file_access: str | None = None,
                 progress: Callable[[Job], None] | None = None, poll: float = 0.25, timeout: float | None = None) -> Job:
        """Curators: preserve `source` (a staging directory or s3:// prefix) as a new snapshot; with `wait`,
        poll until the ingest ends, calling `progress(job)` each time; a failed ingest raises CodaError.
        The first looks at the job come quickly and back off to one every `poll` seconds. A relative local path is
        the caller's: it is made absolute here, against the current directory (the server confines it to its
        staging roots, CODA_STAGING_ROOTS, and says so when it lies outside them)."""
        if "://" not in source and not os.path.isabs(source):
            source = os.path.abspath(source)
        body = {"source": source} | ({"file_access": file_access} if file_access else {})
        job = Job.from_json(self.request("POST", f"models/{repo_id}/snapshots/", body=body))
        deadline = time.monotonic() + timeout if timeout else None
        # A small model is sealed within a fraction of a second: a fixed one-second sleep cost up to that much on
        # every call, whatever its size. From POLL_FIRST, growing by half each time, to `poll`.
        interval = min(POLL_FIRST, poll)
        while wait:
            if progress:
                progress(job)
            if job.done:
                break
            if deadline and time.monotonic() > deadline:
                raise CodaError(0, "timeout", f"ingest job {job.id} still {job.state}")
            time.sleep(interval)
            interval = min(interval * 1.5, poll)
            job = self.job(job.id)
        if wait and job.state != "succeeded":
            raise CodaError(0, f"ingest_{job.state}", job.error or f"ingest job {job.id} {job.state}")
        return job

    # --- bytes (through /hf and huggingface_hub) ----------------------------------------------------------

    def page_url(self, repo_id: str) -> str:
        """The model's page on the site."""
        return f"{self.endpoint}/models/{repo_id}/"

    @property
    def hf_endpoint(self) -> str:
        return f"{self.endpoint}/hf"

    def download(self, repo_id: str, *, revision: str = "main", local_dir: str | None = None, **kwargs) -> str:
        """Download a snapshot with huggingface_hub (cache, resume, digest checks) from Coda's /hf."""
        return huggingface_hub.snapshot_download(repo_id, revision=revision, local_dir=local_dir,
                                                 endpoint=self.hf_endpoint, token=self.token or False, **kwargs)

    def verify(self, repo_id: str, directory: str, *, revision: str = "main",
               progress: Callable[[str, int], None] | None = None) -> dict:
        """Re-hash every file of a downloaded snapshot against Coda's manifest: ok, mismatched, missing, extra."""
        manifest = self.manifest(repo_id, revision)
        root = Path(directory)
        report = {"revision": manifest.get("revision"), "ok": [], "mismatched": [], "missing": [], "extra": []}
        expected = {f["path"]: f for f in manifest["files"]}
        for path, entry in expected.items():
            target = root / path
            if not target.is_file():
                report["missing"].append(path)
                continue
            digest = hashlib.sha256()
            with open(target, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
                    if progress:
                        progress(path, len(block))
            good = digest.hexdigest() == entry["sha256"] and target.stat().st_size == entry["size"]
            report["ok" if good else "mismatched"].append(path)
        present = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
        report["extra"] = sorted(p for p in present - set(expected) if not p.startswith(".cache/"))
        report["valid"] = not (report["mismatched"] or report["missing"])
        return report
