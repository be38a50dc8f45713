"""Preserve a model's dossier documents (interview transcripts, report versions) in the archive: they are
written to a fresh staging directory and ingested as a new snapshot through archive.ingest.services, so they
get checksums, copies and events like the weights. A sealed snapshot never changes, hence a new one."""

import shutil
import uuid
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from archive.ingest.services import snapshot_ingest_start
from core.exceptions import DomainError
from catalogue.models import AIModel, FileAccess
from dossier.models import ExitInterview, PostDeploymentReport
from dossier.services import interview_export


def interview_paths(interview: ExitInterview) -> dict[str, str]:
    """Snapshot paths of one interview; 'interviews/' makes archive.ingest.sources classify them as kind `interview`."""
    stem = f"interviews/{interview.conducted_on.isoformat()}-{interview.pk}"
    return {f"{stem}.json": "json", f"{stem}.md": "markdown"}


def report_path(report: PostDeploymentReport) -> str:
    return f"reports/post-deployment-report-v{report.version}.md"


def report_document(report: PostDeploymentReport) -> str:
    """A report version as a self-describing Markdown file."""
    author = report.author.get_username() if report.author else ""
    header = [
        "---",
        f"model: {report.model.repo_id}",
        f"version: {report.version}",
        f"title: {report.title}",
        f"created_at: {report.created_at.isoformat()}",
        f"author: {author}".rstrip(),
        f"change_note: {report.change_note}".rstrip(),
        "---",
        "",
    ]
    return "\n".join(header) + report.body


def dossier_documents(model: AIModel) -> dict[str, str]:
    """Every document of the model's dossier, path → text."""
    documents: dict[str, str] = {}
    for interview in ExitInterview.objects.filter(model=model).select_related("model__provider").order_by("pk"):
        for path, fmt in interview_paths(interview).items():
            documents[path] = interview_export(interview=interview, fmt=fmt)
    for report in PostDeploymentReport.objects.filter(model=model).select_related("author", "model__provider"):
        documents[report_path(report)] = report_document(report)
    return documents


def staging_directory(model: AIModel) -> Path:
    """A new directory per preservation: an ingest source must not change after it is listed."""
    stamp = timezone.now().strftime("%Y%m%dT%H%M%S")
    root = Path(settings.CODA_STAGING_ROOTS[0])
    return root / "dossier" / model.provider.slug / model.name / f"{stamp}-{uuid.uuid4().hex[:8]}"


def dossier_preserve(*, model: AIModel, requested_by=None):
    """Write the dossier documents to staging and start their ingest as a new snapshot; returns the job."""
    restricted = ExitInterview.objects.filter(model=model).filter(restricted=True).exists()
    # Restricted transcripts must not become readable through the model's public files: that snapshot's
    # files are restricted to curators instead.
    file_access = FileAccess.RESTRICTED if restricted and model.file_access == FileAccess.PUBLIC else ""
    documents = dossier_documents(model)
    if not documents:
        raise DomainError(f"{model.repo_id} has no interviews or reports to preserve.", code="empty_dossier")
    directory = staging_directory(model)
    for path, text in documents.items():
        target = directory / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    try:
        with transaction.atomic():
            job = snapshot_ingest_start(
                model=model, source=str(directory), requested_by=requested_by, file_access=file_access
            )
            interview_ids = [int(Path(p).stem.rsplit("-", 1)[1]) for p in documents if p.startswith("interviews/")]
            ExitInterview.objects.filter(pk__in=interview_ids).update(preserved_in=job.snapshot)
    except Exception:
        shutil.rmtree(directory, ignore_errors=True)  # nothing refers to it
        raise
    # The directory stays: the ingest tasks read it after this returns.
    return job
