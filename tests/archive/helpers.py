import hashlib
import os
from pathlib import Path

from archive.models import IngestJob


def make_tree(root: Path, files: dict[str, bytes]) -> dict[str, bytes]:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return files


def random_bytes(n: int, seed: int = 0) -> bytes:
    # Deterministic but incompressible-looking content.
    out = bytearray()
    block = hashlib.sha256(str(seed).encode()).digest()
    while len(out) < n:
        block = hashlib.sha256(block).digest()
        out += block * 64
    return bytes(out[:n])


def independent_revision(files: dict[str, bytes]) -> str:
    """The recipe from docs/revision-id.md, written out again without Coda's code."""
    lines = sorted(
        (f"{path}\t{len(data)}\t{hashlib.sha256(data).hexdigest()}\n" for path, data in files.items()),
        key=lambda line: line.split("\t")[0].encode(),
    )
    return hashlib.sha256("".join(lines).encode()).hexdigest()[:40]


def wait_job(job_id: int, timeout: float = 90) -> IngestJob:
    from tests.conftest import wait_for

    def done():
        job = IngestJob.objects.get(pk=job_id)
        return job if job.state in (IngestJob.State.SUCCEEDED, IngestJob.State.FAILED) else None

    return wait_for(done, timeout=timeout)


def chmod_safe(path: Path, mode: int) -> None:
    os.chmod(path, mode)


def preserve_now(model, staging_root: Path, files: dict[str, bytes], monkeypatch, name: str | None = None):
    """Ingest `files` for `model` synchronously (the tasks' work run inline) and return the sealed snapshot."""
    from archive.ingest import services
    from archive.tasks import snapshot_file_ingest

    sent = []
    monkeypatch.setattr(snapshot_file_ingest, "delay", lambda file_id: sent.append(file_id))
    source = staging_root / (name or f"{model.provider.slug}-{model.name}")
    make_tree(source, files)
    job = services.snapshot_ingest_start(model=model, source=str(source))
    for file_id in sent:
        services.snapshot_file_ingest(file_id=file_id)
    job.refresh_from_db()
    assert job.state == IngestJob.State.SUCCEEDED, job.error
    job.snapshot.refresh_from_db()
    return job.snapshot


def count_source_reads(monkeypatch) -> dict[str, int]:
    """Count the bytes each source file gives to ingest (path -> bytes read), to prove one read per file."""
    from archive.ingest import sources

    counted: dict[str, int] = {}
    original = sources.OpenedSource.__enter__

    def counting_enter(self):
        stream = original(self)
        raw_read = stream.read

        def read(n=-1):
            data = raw_read(n)
            counted[self.path] = counted.get(self.path, 0) + len(data)
            return data

        stream.read = read
        return stream

    monkeypatch.setattr(sources.OpenedSource, "__enter__", counting_enter)
    return counted
