"""`coda log verify` (client/coda_client/log.py, no server code) against a live Coda after a real ingest: the
checkpoint's signature against GET /api/v1/signing-keys/, an event's inclusion, every leaf (anonymous: what it may
see; curator: all); an event row edited in the database fails naming the first bad leaf; a forger who also rewrites
the leaf hashes and re-signs is caught by the checkpoint saved earlier outside Coda (consistency fails)."""

import json
import os
import subprocess
from pathlib import Path

from django.db import connection
from knox.models import AuthToken

from archive.descriptions import signing
from archive.log import leaves, services, tree
from archive.models import LogCheckpoint, LogLeaf, PreservationEvent
from tests.archive.synthetic_model import build_and_preserve
from tests.coda_client.test_client import CODA
from tests.factories import AIModelFactory, CuratorFactory


def test_log_verify_end_to_end(live_server, transactional_db, staging_dir, monkeypatch, tmp_path, settings):
    signing.key_generate(Path(settings.CODA_SIGNING_KEY_FILE))
    model = AIModelFactory(name="old-gpt", retires_on="2020-01-01", file_access="public")
    build_and_preserve(model=model, staging_dir=staging_dir, monkeypatch=monkeypatch)
    AIModelFactory(name="hidden-gpt", metadata_access="restricted")
    services.log_sequence()
    assert services.checkpoint_sign(agent="worker:test") is not None
    token = AuthToken.objects.create(user=CuratorFactory(), expiry=None)[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "CODA_"))}
    env.update(CODA_ENDPOINT=live_server.url, NO_PROXY="*")

    def coda(*args, token=None, check=True):
        done = subprocess.run([str(CODA), *(("--token", token) if token else ()), "log", "verify", "--json", *args],
                              capture_output=True, text=True, env=env, timeout=300)
        if check:
            assert done.returncode == 0, done.stderr
        return done

    saved = tmp_path / "kept-by-an-outside-party.note"
    anonymous = json.loads(coda("--full", "--save", str(saved)).stdout)
    size = anonymous["checkpoint"]["size"]
    assert size == PreservationEvent.objects.count() - 1  # all but the checkpoint's own signature event
    assert anonymous["full"]["checked"] > 0 and saved.read_text() == LogCheckpoint.objects.get().note
    ingestion = PreservationEvent.objects.filter(event_type="ingestion", model=model).order_by("pk").first()
    curator = json.loads(coda("--full", "--event", str(ingestion.pk), token=token).stdout)
    assert curator["full"] == {"checked": size, "withheld": {}}
    assert curator["events"][str(ingestion.pk)] == LogLeaf.objects.get(event_id=ingestion.pk).index

    # An event row edited behind Coda's back: the full check names its leaf.
    bad = LogLeaf.objects.get(event_id=ingestion.pk).index
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {PreservationEvent._meta.db_table} SET outcome = 'failure' WHERE id = %s",
                       [ingestion.pk])
    failed = coda("--full", token=token, check=False)
    assert failed.returncode == 1 and f"first bad leaf {bad}:" in failed.stderr, failed.stderr
    failed = coda("--event", str(ingestion.pk), token=token, check=False)
    assert failed.returncode == 1 and f"leaf {bad}:" in failed.stderr, failed.stderr

    # The forger recomputes that leaf hash, drops the signed checkpoints and has a new one signed: every leaf
    # matches its event again and the new checkpoint verifies, but not as an extension of the one kept outside.
    forged = tree.leaf_hash(leaves.leaf_data(leaves.event_object(PreservationEvent.objects.get(pk=ingestion.pk))))
    LogLeaf.objects.filter(event_id=ingestion.pk).update(leaf_hash=forged)
    LogCheckpoint.objects.all().delete()
    assert services.checkpoint_sign(agent="worker:test") is not None
    assert coda("--full", token=token).returncode == 0
    caught = coda("--since", str(saved), check=False)
    assert caught.returncode == 1 and "does not extend the checkpoint" in caught.stderr, caught.stderr
