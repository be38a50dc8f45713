"""The client and `coda approvals …` against a live Coda: a curator's change to a restricted model comes back as a
proposal (202), is listed for another curator, cannot be approved by its proposer, and takes effect when the second
curator approves from the command line."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from knox.models import AuthToken

from catalogue.models import AIModel
from coda_client import Coda, Conflict, PermissionDenied, Proposal
from tests.factories import AIModelFactory, CuratorFactory, ProviderFactory

CODA = Path(sys.executable).with_name("coda")


@pytest.fixture
def server(live_server, transactional_db):
    tokens = {name: AuthToken.objects.create(user=CuratorFactory(username=name), expiry=None)[1]
              for name in ("alice", "bob")}
    model = AIModelFactory(provider=ProviderFactory(slug="lab"), name="secret", file_access="restricted")
    return {"url": live_server.url, "tokens": tokens, "model": model}


def coda_cli(server, token, *args) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODA_")}
    env.update(CODA_ENDPOINT=server["url"], CODA_TOKEN=token)
    return subprocess.run([str(CODA), *args], capture_output=True, text=True, env=env, timeout=120)


def test_client_and_cli_list_and_approve(server):
    alice = Coda(server["url"], server["tokens"]["alice"])
    answer = alice.request("PATCH", "models/lab/secret/", body={"file_access": "public"})
    assert answer["approval_required"] is True
    proposal = Proposal.from_json(answer["proposal"])
    assert proposal.status == "pending" and proposal.kind == "model_access" and proposal.proposed_by == "alice"
    assert [p.id for p in alice.approvals(status="pending")] == [proposal.id]
    assert alice.approval(proposal.id).summary == "Lower lab/secret's file access from restricted to public"
    with pytest.raises(PermissionDenied) as own:
        alice.approve(proposal.id)
    assert own.value.code == "self_approval"
    assert AIModel.objects.get(pk=server["model"].pk).file_access == "restricted"

    listed = coda_cli(server, server["tokens"]["bob"], "approvals", "list", "--status", "pending")
    assert listed.returncode == 0, listed.stderr
    assert f"{proposal.id}\tpending\tmodel_access\talice" in listed.stdout
    refused = coda_cli(server, server["tokens"]["alice"], "approvals", "approve", str(proposal.id))
    assert refused.returncode == 1 and "different curator" in refused.stderr
    done = coda_cli(server, server["tokens"]["bob"], "approvals", "approve", str(proposal.id), "--note", "ok",
                    "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "approved" and json.loads(done.stdout)["decided_by"] == "bob"
    assert AIModel.objects.get(pk=server["model"].pk).file_access == "public"
    with pytest.raises(Conflict):
        Coda(server["url"], server["tokens"]["bob"]).refuse(proposal.id)  # already decided


def test_refuse_from_the_client(server):
    alice = Coda(server["url"], server["tokens"]["alice"])
    proposal_id = alice.request("PATCH", "models/lab/secret/", body={"file_access": "gated"})["proposal"]["id"]
    refused = Coda(server["url"], server["tokens"]["bob"]).refuse(proposal_id, note="not yet")
    assert refused.status == "refused" and refused.decided_by == "bob"
    assert AIModel.objects.get(pk=server["model"].pk).file_access == "restricted"
