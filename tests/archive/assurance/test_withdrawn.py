"""A withdrawn snapshot whose bytes a curator deleted is owed no copies: replication, the preservation-enforce policy
and the fixity audit leave it out (no false "missing copy" alarm, no failed replication), while a snapshot sharing
a blob with it, or withdrawn with its bytes kept, is still replicated and audited; preservation status says so."""

import pytest

from archive import tasks
from archive.assurance import fixity
from archive.assurance.replication import snapshot_replicate
from archive.models import EventType, PreservationEvent, Replica, Snapshot
from archive.preservation import model_preservation_report, snapshot_health, snapshots_under_replicated
from archive.withdrawals import model_withdraw, snapshot_withdraw
from catalogue.models import PreservationStatus
from tests.archive.helpers import preserve_now
from tests.factories import AIModelFactory, CuratorFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def two_filesystems(settings, tmp_path):
    settings.CODA_STORAGE_LOCATIONS = [
        {"name": "main", "kind": "filesystem", "root": str(tmp_path / "main"), "primary": True},
        {"name": "vault", "kind": "filesystem", "root": str(tmp_path / "vault")},
    ]
    return tmp_path


@pytest.fixture
def alerts(monkeypatch):
    raised = []
    monkeypatch.setattr(fixity, "alert_raise", lambda **kw: raised.append(kw))
    return raised


def preserved(model, staging, monkeypatch, files, name):
    snapshot = preserve_now(model, staging, files, monkeypatch, name=name)
    snapshot_replicate(snapshot_id=snapshot.pk, agent="worker:test")
    return snapshot


def test_deleted_bytes_are_not_replicated_audited_or_called_lost(two_filesystems, staging_dir, monkeypatch, alerts,
                                                                 settings):
    settings.CODA_FIXITY_BATCH_PERIOD_MINUTES = settings.CODA_FIXITY_INTERVAL_DAYS * 24 * 60  # one batch = every copy
    curator = CuratorFactory()
    model = AIModelFactory()
    shared = b'{"shared": true}'
    old = preserved(model, staging_dir, monkeypatch, {"config.json": shared, "weights.bin": b"old" * 1000}, "old")
    new = preserved(model, staging_dir, monkeypatch, {"config.json": shared, "weights.bin": b"new" * 1000}, "new")
    assert Replica.objects.filter(state="verified").count() == 6  # 3 blobs x 2 locations

    # Object names as stored (a sealed copy's is its ciphertext's digest): known before the withdrawal deletes rows.
    gone = {r.key.rsplit("/", 1)[-1] for r in Replica.objects.filter(blob=old.files.get(path="weights.bin").blob)}
    kept = {r.key.rsplit("/", 1)[-1] for r in Replica.objects.filter(blob=new.files.get(path="config.json").blob)}
    snapshot_withdraw(snapshot=old, reason="Wrong weights", keep_bytes="delete", withdrawn_by=curator)
    old.refresh_from_db()
    assert old.bytes_deleted_at is not None
    # The blob the newer snapshot shares is kept; only the old weights' two copies went.
    assert Replica.objects.count() == 4
    for root in ("main", "vault"):
        stored = {p.name for p in (two_filesystems / root / "blobs").rglob("*") if p.is_file()}
        assert not gone & stored and kept & stored

    # The copy policy and the beat entry owe it nothing; replicating it directly does nothing and records nothing.
    assert snapshots_under_replicated() == []
    sent = []
    monkeypatch.setattr(tasks, "task_send", lambda name, *args: sent.append((name, args)))
    assert tasks.preservation_enforce() == 0 and sent == []
    before = PreservationEvent.objects.filter(event_type=EventType.REPLICATION).count()
    assert snapshot_replicate(snapshot_id=old.pk, agent="worker:test")["copied"] == 0
    assert PreservationEvent.objects.filter(event_type=EventType.REPLICATION).count() == before

    # Honest status: the live snapshot is preserved; the withdrawn one is listed as deleted, not as lost.
    report = model_preservation_report(model)
    assert report["status"] == PreservationStatus.PRESERVED and report["problems"] == []
    assert report["snapshots"] == [new.revision]
    assert [row["revision"] for row in report["bytes_deleted"]] == [old.revision]
    model.refresh_from_db()
    assert model.preservation_status == PreservationStatus.PRESERVED
    assert snapshot_health(old)["bytes_deleted"] is True
    assert snapshot_health(old)["status"] == PreservationStatus.NOT_PRESERVED
    assert snapshot_health(new)["bytes_deleted"] is False and snapshot_health(new)["status"] == PreservationStatus.PRESERVED

    # Audits (by model and the beat's batch) read the 4 copies still owed, raise no alarm, report no incomplete
    # checkpoint for the deleted snapshot.
    for result in (tasks.model_audit(model.pk), tasks.fixity_audit_due()):
        assert result["checked"] == 4 and result["ok"] == 4 and result["missing"] == 0
        assert list(result["completeness"]) == [f"{model.repo_id}@{new.revision}"]
    assert alerts == []


def test_leftover_copy_of_deleted_bytes_is_not_a_missing_copy(two_filesystems, staging_dir, monkeypatch, alerts):
    """A deletion that removed the object but left its replica row (a crash half-way) is no audit alarm."""
    model = AIModelFactory()
    snapshot = preserved(model, staging_dir, monkeypatch, {"weights.bin": b"w" * 4096}, "w")
    Snapshot.objects.filter(pk=snapshot.pk).update(withdrawn_at=snapshot.sealed_at, bytes_deleted_at=snapshot.sealed_at)
    for path in (two_filesystems / "main").rglob(snapshot.files.get().blob.sha256):
        path.unlink()
    assert fixity.replicas_due().count() == 0 and fixity.replicas_of_model(model).count() == 0
    assert tasks.fixity_audit_due()["checked"] == 0 and alerts == []


def test_withdrawn_with_bytes_kept_is_still_replicated_and_audited(two_filesystems, staging_dir, monkeypatch, alerts):
    curator = CuratorFactory()
    model = AIModelFactory()
    snapshot = preserve_now(model, staging_dir, {"weights.bin": b"k" * 4096}, monkeypatch, name="k")
    model_withdraw(model=model, reason="Licence", keep_bytes="keep", withdrawn_by=curator)
    assert snapshots_under_replicated() == [snapshot.pk]  # kept bytes are still owed their copies
    assert snapshot_replicate(snapshot_id=snapshot.pk, agent="worker:test")["copied"] == 1
    assert tasks.model_audit(model.pk)["ok"] == 2


def test_model_withdrawn_with_bytes_deleted_is_not_preserved_without_problems(two_filesystems, staging_dir,
                                                                              monkeypatch, alerts):
    curator = CuratorFactory()
    model = AIModelFactory()
    snapshot = preserved(model, staging_dir, monkeypatch, {"weights.bin": b"d" * 4096}, "d")
    model_withdraw(model=model, reason="Legal request", keep_bytes="delete", withdrawn_by=curator)
    snapshot.refresh_from_db()
    assert snapshot.bytes_deleted_at is not None and Replica.objects.count() == 0
    report = model_preservation_report(model)
    assert report["status"] == PreservationStatus.NOT_PRESERVED and report["problems"] == []
    assert report["bytes_deleted"][0]["withdrawn_at"] == model.withdrawn_at
    assert snapshots_under_replicated() == [] and tasks.fixity_audit_due()["checked"] == 0
