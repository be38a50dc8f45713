"""Transcripts and reports preserved as files of a sealed snapshot, with the right SHA-256."""

import hashlib

import pytest

from archive.ingest import services as archive_services
from archive.models import IngestJob, Snapshot
from dossier import services
from dossier.models import ExitInterview
from dossier.preservation import dossier_documents, dossier_preserve
from archive.tasks import snapshot_file_ingest
from tests.archive.hub.test_clients import client_python, hf, legacy_python, ok, token_for  # noqa: F401 (fixtures)
from tests.archive.synthetic_model import build_and_preserve
from tests.dossier.test_transcripts import EXAMPLES
from tests.factories import AIModelFactory, CuratorFactory, ProviderFactory, UserFactory


@pytest.fixture
def captured_tasks(monkeypatch):
    from archive.tasks import snapshot_file_ingest

    sent = []
    monkeypatch.setattr(snapshot_file_ingest, "delay", lambda file_id: sent.append(file_id))
    return sent


def test_dossier_preserved_in_a_sealed_snapshot(transactional_db, staging_dir, captured_tasks):
    model = AIModelFactory(provider=ProviderFactory(slug="anthropic"), name="claude-3-opus-20240229")
    curator = CuratorFactory()
    interview = services.interview_import(model=model, text=(EXAMPLES / "interview.json").read_text(), fmt="json")
    services.report_publish(model=model, title="Post-deployment report", body="# Findings\n\nv1", author=curator)
    services.report_publish(model=model, title="Post-deployment report", body="# Findings\n\nv2", author=curator)
    expected = {path: hashlib.sha256(text.encode()).hexdigest() for path, text in dossier_documents(model).items()}

    job = dossier_preserve(model=model, requested_by=curator)
    for file_id in captured_tasks:
        archive_services.snapshot_file_ingest(file_id=file_id)

    assert IngestJob.objects.get(pk=job.pk).state == IngestJob.State.SUCCEEDED
    snapshot = Snapshot.objects.get(pk=job.snapshot_id)
    assert snapshot.state == Snapshot.State.SEALED and snapshot.revision
    stored = {f.path: (f.kind, f.blob.sha256) for f in snapshot.files.select_related("blob")}
    stem = f"interviews/2025-11-20-{interview.pk}"
    assert stored == {
        f"{stem}.json": ("interview", expected[f"{stem}.json"]),
        f"{stem}.md": ("interview", expected[f"{stem}.md"]),
        "reports/post-deployment-report-v1.md": ("report", expected["reports/post-deployment-report-v1.md"]),
        "reports/post-deployment-report-v2.md": ("report", expected["reports/post-deployment-report-v2.md"]),
    }
    from archive.delivery import downloads as delivery

    for row in snapshot.files.select_related("blob"):
        replica = delivery.readable_replica(row.blob)
        assert hashlib.sha256(b"".join(delivery.iter_blob(replica))).hexdigest() == expected[row.path]
    # The preserved transcript is the export: byte for byte the example file.
    assert expected[f"{stem}.json"] == hashlib.sha256((EXAMPLES / "interview.json").read_bytes()).hexdigest()
    assert ExitInterview.objects.get(pk=interview.pk).preserved_in_id == snapshot.pk


def test_restricted_transcript_never_lands_in_public_files(db, staging_dir, django_capture_on_commit_callbacks):
    from catalogue.permissions import can_read_files
    from tests.factories import UserFactory

    model = AIModelFactory(file_access="public")
    services.interview_create(model=model, protocol="p", conducted_on="2025-01-01", restricted=True)
    job = dossier_preserve(model=model)
    snapshot = Snapshot.objects.get(pk=job.snapshot_id)
    assert snapshot.file_access == "restricted"  # the model's public files do not open the transcripts
    assert can_read_files(UserFactory(), model) is True
    assert can_read_files(UserFactory(username="other"), model, snapshot) is False


def test_a_preserved_dossier_never_becomes_main(hf, transactional_db, staging_dir, monkeypatch):
    """The issue's case, end to end with the real clients: weights preserved, then `dossier_preserve` seals a
    newer snapshot of restricted transcripts. from_pretrained and main still mean the weights (not a 403, not a
    snapshot without weights); the dossier is its own branch, and its restricted files stay closed."""
    model = AIModelFactory(provider=ProviderFactory(slug="anthropic"), name="claude-3-opus-20240229",
                           file_access="public")
    weights, _ = build_and_preserve(model=model, staging_dir=staging_dir, monkeypatch=monkeypatch)
    interview = services.interview_import(model=model, text=(EXAMPLES / "interview.json").read_text(), fmt="json")
    ExitInterview.objects.filter(pk=interview.pk).update(restricted=True)
    sent = []
    monkeypatch.setattr(snapshot_file_ingest, "delay", lambda file_id: sent.append(file_id))
    job = dossier_preserve(model=model, requested_by=CuratorFactory())
    for file_id in sent:
        archive_services.snapshot_file_ingest(file_id=file_id)
    dossier = Snapshot.objects.get(pk=IngestJob.objects.get(pk=job.pk, state="succeeded").snapshot_id)
    assert dossier.sealed_at >= weights.sealed_at and dossier.file_access == "restricted"
    token = token_for(UserFactory(username="researcher-d"))
    transcript = dossier.files.filter(kind="interview").first().path
    config, info, refs_, closed = hf(
        {"op": "auto_config", "repo": model.repo_id, "token": token},
        {"op": "model_info", "repo": model.repo_id, "token": token},
        {"op": "list_repo_refs", "repo": model.repo_id, "token": token},
        {"op": "hf_hub_download", "repo": model.repo_id, "filename": transcript, "revision": "dossier", "token": token},
    )
    assert ok(config)["model_type"] == "gpt2"
    assert ok(info)["sha"] == weights.revision
    assert ok(refs_)["branches"] == {"main": weights.revision, "dossier": dossier.revision}
    assert closed["error"] == "GatedRepoError", closed
