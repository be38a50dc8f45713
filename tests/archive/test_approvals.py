"""Two-person rule, the archive's kinds: lowering a snapshot's file access, withdrawing with byte deletion, and
rotating the sealing key wait for a second curator on a restricted model (the key: always under the rule); the
stored bytes are still there until the approval, and gone (with `deletion` events) after it."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from archive.models import EventType, PreservationEvent, Replica, SealingKey, Snapshot
from archive.sealing import keys
from archive.storage.locations import backend_for
from catalogue.models import AIModel, Proposal
from tests.archive.helpers import preserve_now
from tests.factories import AIModelFactory, CuratorFactory, ProviderFactory, UserFactory, api_client

FILES = {"config.json": b'{"a": 1}', "model.safetensors": b"\x07" * 8192}


@pytest.fixture
def world(transactional_db, staging_dir, monkeypatch):
    model = AIModelFactory(provider=ProviderFactory(slug="lab"), name="secret", file_access="restricted")
    snapshot = preserve_now(model, staging_dir, FILES, monkeypatch)
    return {"model": model, "snapshot": snapshot, "alice": CuratorFactory(username="alice"),
            "bob": CuratorFactory(username="bob")}


def copies_of(snapshot) -> list[tuple]:
    return [(r.location, r.key) for r in
            Replica.objects.filter(blob__snapshot_files__snapshot=snapshot).select_related("location")]


def stored(copies) -> list[bool]:
    """Whether each of these copies (location, key) is still in its storage location."""
    return [backend_for(location).size_of(key) is not None for location, key in copies]


def test_withdrawal_deleting_bytes_keeps_every_byte_until_a_second_curator_approves(world):
    model, snapshot = world["model"], world["snapshot"]
    copies = copies_of(snapshot)
    assert copies and all(stored(copies))
    url = f"/api/v1/models/lab/secret/snapshots/{snapshot.revision}/withdraw/"
    answer = api_client(world["alice"]).post(url, {"reason": "Legal request", "bytes": "delete"}, format="json")
    assert answer.status_code == 202, answer.content
    proposal = answer.json()["proposal"]
    assert proposal["kind"] == "snapshot_withdraw" and proposal["params"]["bytes"] == "delete"
    snapshot.refresh_from_db()
    assert snapshot.withdrawn_at is None and snapshot.bytes_deleted_at is None
    assert all(stored(copies)) and copies_of(snapshot) == copies  # nothing deleted before approval
    assert not PreservationEvent.objects.filter(event_type__in=[EventType.DELETION, EventType.DEACCESSION]).exists()

    assert api_client(world["alice"]).post(f"/api/v1/approvals/{proposal['id']}/approve/").status_code == 403
    assert all(stored(copies))
    done = api_client(world["bob"]).post(f"/api/v1/approvals/{proposal['id']}/approve/")
    assert done.status_code == 200, done.content
    assert done.json()["result"] == {"withdrawn": True, "bytes": "delete", "bytes_deleted": True}
    snapshot.refresh_from_db()
    assert snapshot.withdrawn_at is not None and snapshot.bytes_deleted_at is not None
    assert not any(stored(copies)) and copies_of(snapshot) == []
    deletions = PreservationEvent.objects.filter(event_type=EventType.DELETION)
    assert deletions.filter(detail__has_key="key").count() == len(copies)
    assert {e.agent for e in deletions} == {"user:alice"}  # the proposer's change, approved by bob:
    approved = PreservationEvent.objects.get(event_type=EventType.POLICY, detail__action="approved")
    assert approved.detail["proposed_by"] == "alice" and approved.detail["decided_by"] == "bob"
    assert approved.snapshot_id is None and approved.model_id == model.pk


def test_model_withdrawal_keeping_bytes_needs_no_second_curator(world):
    answer = api_client(world["alice"]).post("/api/v1/models/lab/secret/withdraw/",
                                             {"reason": "Licence", "bytes": "keep"}, format="json")
    assert answer.status_code == 200 and not Proposal.objects.exists()


def test_model_withdrawal_deleting_bytes_is_proposed_then_applied(world):
    model, snapshot = world["model"], world["snapshot"]
    answer = api_client(world["alice"]).post("/api/v1/models/lab/secret/withdraw/",
                                             {"reason": "Licence", "bytes": "delete"}, format="json")
    assert answer.status_code == 202
    copies = copies_of(snapshot)
    assert AIModel.objects.get(pk=model.pk).withdrawn_at is None and copies and all(stored(copies))
    out = io.StringIO()
    call_command("approvals", "approve", str(answer.json()["proposal"]["id"]), "--by", "bob", stdout=out)
    assert "approved" in out.getvalue()
    assert AIModel.objects.get(pk=model.pk).withdrawn_at is not None
    assert Snapshot.objects.get(pk=snapshot.pk).bytes_deleted_at is not None and not any(stored(copies))


def test_manage_py_withdraw_proposes_under_the_rule(world, capsys):
    call_command("withdraw", f"lab/secret@{world['snapshot'].revision}", "--reason", "Error", "--bytes", "delete",
                 "--by", "alice")
    assert '"approval_required": true' in capsys.readouterr().out
    assert Snapshot.objects.get(pk=world["snapshot"].pk).withdrawn_at is None


def test_admin_withdraw_action_proposes_under_the_rule(world, client):
    staff = CuratorFactory(username="staffer", is_staff=True)
    client.force_login(staff)
    client.post(reverse("admin:archive_snapshot_changelist"),
                {"action": "snapshots_withdraw", "_selected_action": [world["snapshot"].pk], "reason": "Error",
                 "bytes": "delete"})
    assert Snapshot.objects.get(pk=world["snapshot"].pk).withdrawn_at is None
    assert Proposal.objects.get().proposed_by == staff


def test_lowering_a_snapshot_override_waits_for_a_second_curator(world):
    snapshot = world["snapshot"]
    url = f"/api/v1/models/lab/secret/snapshots/{snapshot.revision}/"
    download = url + "files/config.json"
    rita = UserFactory(username="rita")
    assert api_client(rita).get(download).status_code == 403
    # Raising (restricted override on a restricted model: no change of level) applies at once.
    assert api_client(world["alice"]).patch(url, {"file_access": "restricted"}, format="json").status_code == 200
    answer = api_client(world["alice"]).patch(url, {"file_access": "public"}, format="json")
    assert answer.status_code == 202
    assert answer.json()["proposal"]["summary"] == f"Lower lab/secret@{snapshot.revision}'s file access from restricted to public"
    assert Snapshot.objects.get(pk=snapshot.pk).file_access == "restricted"
    assert api_client(rita).get(download).status_code == 403  # nothing changed before approval
    assert api_client(world["bob"]).post(f"/api/v1/approvals/{answer.json()['proposal']['id']}/approve/").status_code == 200
    assert Snapshot.objects.get(pk=snapshot.pk).file_access == "public"
    assert api_client(rita).get(download).status_code == 200


def test_key_rotation_is_a_proposal_under_the_rule(world, settings):
    call_command("sealing_key_init", stdout=io.StringIO())
    old = keys.sealing_key_current()
    with pytest.raises(CommandError, match="--by"):
        call_command("key_rotate")
    call_command("key_rotate", "--by", "alice", stdout=io.StringIO())
    proposal = Proposal.objects.get(kind="sealing_key_rotate")
    assert proposal.model is None and keys.sealing_key_current() == old
    assert api_client(world["alice"]).post(f"/api/v1/approvals/{proposal.pk}/approve/").status_code == 403
    assert SealingKey.objects.count() == 1
    answer = api_client(world["bob"]).post(f"/api/v1/approvals/{proposal.pk}/approve/")
    assert answer.status_code == 200 and keys.sealing_key_current() != old
    assert answer.json()["result"]["key_id"] == keys.sealing_key_current().key_id

    settings.CODA_TWO_PERSON_RULE = "off"
    call_command("key_rotate", stdout=io.StringIO())
    assert SealingKey.objects.count() == 3
