"""The log's endpoints: a checkpoint and its history, inclusion and consistency proofs that verify (with the
client's own verifier), leaves whose hashes are public while events' contents follow the event rules (an `access`
event or a hidden model's event is withheld from others, shown to curators), and bad input as 4xx JSON naming it."""

import base64

import pytest

from archive.log import services
from coda_client import log as client_log
from core.events import EventOutcome, EventType, event_record
from tests.factories import AIModelFactory


def b64d(value: str) -> bytes:
    return base64.b64decode(value)


@pytest.fixture
def logged(db, signing_key):
    public = AIModelFactory(name="open-model")
    hidden = AIModelFactory(name="hidden-model", metadata_access="restricted")
    events = {
        "public": event_record(event_type=EventType.INGESTION, outcome=EventOutcome.SUCCESS, agent="worker:t",
                               model=public, detail={"files": 3}),
        "access": event_record(event_type=EventType.ACCESS, outcome=EventOutcome.SUCCESS, agent="user:ada",
                               model=public, detail={"path": "x"}),
        "hidden": event_record(event_type=EventType.INGESTION, outcome=EventOutcome.SUCCESS, agent="worker:t",
                               model=hidden, detail={}),
        "internal": event_record(event_type=EventType.INGESTION, outcome=EventOutcome.FAILURE, agent="worker:t",
                                 model=public, detail={"error": "/srv/secret/path unreadable"}),
        "modelless": event_record(event_type=EventType.FIXITY, outcome=EventOutcome.SUCCESS, agent="worker:t"),
    }
    checkpoint = services.checkpoint_sign(agent="worker:test")
    return {"events": events, "checkpoint": checkpoint}


def test_checkpoint_and_history(anon_client, logged):
    answer = anon_client.get("/api/v1/log/checkpoint")
    assert answer.status_code == 200
    body = answer.json()
    assert body["size"] == 5 and body["note"] == logged["checkpoint"].note
    keys = anon_client.get("/api/v1/signing-keys/").json()
    checkpoint = client_log.checkpoint_verify(body["note"], keys)
    assert checkpoint.size == 5 and base64.b64encode(checkpoint.root).decode() == body["root_hash"]
    assert body["key_id"] == keys[0]["key_id"]
    history = anon_client.get("/api/v1/log/checkpoints/").json()
    assert [c["size"] for c in history["results"]] == [5]


def test_inclusion_and_consistency_proofs_verify(anon_client, curator_client, logged):
    checkpoint = logged["checkpoint"]
    root = bytes(checkpoint.root_hash)
    event = logged["events"]["public"]
    proof = anon_client.get(f"/api/v1/log/proof/inclusion?event={event.pk}").json()
    assert proof["index"] == 0 and proof["size"] == 5
    client_log.verify_inclusion(leaf=b64d(proof["leaf_hash"]), index=0, size=5, root=root,
                                proof=[b64d(h) for h in proof["hashes"]])
    # Events others may not see are answered like missing ones; curators get their proofs.
    for name in ("access", "hidden", "modelless"):
        refused = anon_client.get(f"/api/v1/log/proof/inclusion?event={logged['events'][name].pk}")
        assert refused.status_code == 404 and refused.json()["code"] == "log_proof_unavailable"
        assert curator_client.get(f"/api/v1/log/proof/inclusion?event={logged['events'][name].pk}").status_code == 200
    # An event after the last checkpoint waits for the next one.
    later = event_record(event_type=EventType.INGESTION, outcome=EventOutcome.SUCCESS, agent="w", model=event.model)
    services.log_sequence()
    waiting = anon_client.get(f"/api/v1/log/proof/inclusion?event={later.pk}")
    assert waiting.status_code == 404 and "next checkpoint" in waiting.json()["detail"]
    newer = services.checkpoint_sign(agent="worker:test")
    proof = anon_client.get(f"/api/v1/log/proof/consistency?from=5&to={newer.size}").json()
    client_log.verify_consistency(first=5, second=newer.size, first_root=root, second_root=bytes(newer.root_hash),
                                  proof=[b64d(h) for h in proof["hashes"]])
    assert anon_client.get("/api/v1/log/proof/consistency?from=5").json()["to"] == newer.size


@pytest.mark.parametrize("url, field", [
    ("/api/v1/log/proof/inclusion", "event"),
    ("/api/v1/log/proof/inclusion?event=abc", "event"),
    ("/api/v1/log/proof/inclusion?event=1&size=-3", "size"),
    ("/api/v1/log/proof/consistency", "from"),
    ("/api/v1/log/proof/consistency?from=x", "from"),
    ("/api/v1/log/leaves/?count=100000", "count"),
    ("/api/v1/log/leaves/?start=-1", "start"),
])
def test_bad_query_is_400_naming_the_parameter(anon_client, logged, url, field):
    answer = anon_client.get(url)
    assert answer.status_code == 400 and field in str(answer.json())


def test_tree_sizes_the_log_does_not_have_are_404(anon_client, logged):
    for url in ("/api/v1/log/proof/consistency?from=3&to=99", "/api/v1/log/proof/consistency?from=9&to=5",
                f"/api/v1/log/proof/inclusion?event={logged['events']['public'].pk}&size=99"):
        answer = anon_client.get(url)
        assert answer.status_code == 404 and answer.json()["code"] == "log_proof_unavailable", url


def test_leaves_public_hashes_and_events_under_the_event_rules(anon_client, curator_client, logged):
    events = logged["events"]
    anonymous = anon_client.get("/api/v1/log/leaves/").json()
    curator = curator_client.get("/api/v1/log/leaves/").json()
    assert [leaf["leaf_hash"] for leaf in anonymous["leaves"]] == [leaf["leaf_hash"] for leaf in curator["leaves"]]
    hashes = [b64d(leaf["leaf_hash"]) for leaf in anonymous["leaves"][:5]]
    assert client_log.tree_root(hashes) == bytes(logged["checkpoint"].root_hash)
    withheld = {leaf["index"]: leaf["withheld"] for leaf in anonymous["leaves"][:5]}
    assert withheld == {0: None, 1: "not visible", 2: "not visible", 3: "internal detail", 4: "not visible"}
    assert anonymous["leaves"][0]["event"]["id"] == events["public"].pk
    assert all(leaf["event"] is None for leaf in anonymous["leaves"][1:5])
    assert "hidden-model" not in str(anonymous) and "/srv/secret" not in str(anonymous)
    for leaf in curator["leaves"]:
        assert leaf["withheld"] is None
        assert client_log.event_leaf_hash(leaf["event"]) == b64d(leaf["leaf_hash"])
