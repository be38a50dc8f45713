"""The archive's age identities (archive/sealing/keys.py): held apart from the data (a 0600 file outside every
storage and staging root, or wrapped by a KMS key on moto's KMS over HTTP), rotated without losing old ones,
refused when the key service does not answer, and escrowed: an object sealed to the recipients opens with a
custodian's identity in Debian's `age` tool and with the archive's own identity."""

import io
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from django.core.management import call_command

from archive.exceptions import KeyConfigurationError, KeyUnavailable
from archive.models import SealingKey
from archive.sealing import age, keys
from catalogue.models import Proposal
from tests.factories import CuratorFactory

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def key_dir(settings, tmp_path):
    settings.CODA_SEALING_KEY_DIR = str(tmp_path / "keys")
    return tmp_path / "keys"


@pytest.fixture
def kms(s3_server, settings):
    client = boto3.client("kms", endpoint_url=s3_server.url, region_name="us-east-1")
    key = client.create_key(Description="coda test sealing wrap key")["KeyMetadata"]["KeyId"]
    settings.CODA_KMS_KEY_ID = key
    settings.CODA_KMS_ENDPOINT_URL = s3_server.url
    settings.CODA_S3_CONNECT_TIMEOUT = 1
    settings.CODA_S3_READ_TIMEOUT = 1
    return client


def test_local_identity_is_a_0600_file_apart_from_the_data(key_dir):
    row, created = keys.sealing_key_init()
    assert created and row.wrapping == SealingKey.Wrapping.LOCAL_FILE and not row.wrapped_identity
    path = key_dir / f"{row.key_id}.txt"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(key_dir.stat().st_mode) == 0o700
    assert str(keys.identity_load(row).recipient) == row.recipient
    assert keys.sealing_key_init() == (row, False)
    assert "AGE-SECRET-KEY" not in str(SealingKey.objects.values().get())


def test_a_key_directory_inside_a_storage_or_staging_root_is_refused(settings, tmp_path):
    settings.CODA_KMS_KEY_ID = ""
    settings.CODA_STORAGE_LOCATIONS = [{"name": "local", "kind": "filesystem", "root": str(tmp_path / "store")}]
    settings.CODA_SEALING_KEY_DIR = str(tmp_path / "store" / "keys")
    with pytest.raises(KeyConfigurationError, match="keep the key apart"):
        keys.sealing_key_create()
    settings.CODA_SEALING_KEY_DIR = str(settings.CODA_STAGING_ROOTS[0] / ".." / settings.CODA_STAGING_ROOTS[0].name / "k")
    with pytest.raises(KeyConfigurationError):
        keys.sealing_key_create()
    assert not SealingKey.objects.exists()


def test_kms_wraps_the_identity_and_nothing_is_written_in_plaintext(kms, key_dir):
    row = keys.sealing_key_create()
    assert row.wrapping == SealingKey.Wrapping.KMS and row.wrapped_identity and not key_dir.exists()
    assert "AGE-SECRET-KEY" not in str(SealingKey.objects.values().get())
    assert str(keys.identity_load(row).recipient) == row.recipient
    # The wrapped identity is bound to its key id: KMS refuses it without that context.
    import base64
    with pytest.raises(Exception):
        kms.decrypt(CiphertextBlob=base64.b64decode(row.wrapped_identity))


def test_a_kms_that_does_not_answer_fails_cleanly_and_works_once_back(kms, s3_server, key_dir):
    row = keys.sealing_key_create()
    s3_server.freeze()
    try:
        started = time.monotonic()
        with pytest.raises(KeyUnavailable):
            keys.recipients_for_sealing()
        assert time.monotonic() - started < 15
        with pytest.raises(KeyUnavailable):
            keys.sealing_key_create()  # no new key made without the KMS either
    finally:
        s3_server.thaw()
    assert SealingKey.objects.get() == row
    assert keys.recipients_for_sealing()[0] == row


def test_rotation_keeps_old_identities_for_old_objects(key_dir):
    call_command("sealing_key_init")
    old = keys.sealing_key_current()
    sealed = age.Encryptor([age.Recipient.parse(old.recipient)])
    ciphertext = sealed.update(b"old object") + sealed.finish()
    # Under the two-person rule (default) a rotation is proposed by one curator and applied when another approves.
    CuratorFactory(username="alice"), CuratorFactory(username="bob")
    out = io.StringIO()
    call_command("key_rotate", "--by", "alice", stdout=out)
    proposal = Proposal.objects.get(kind="sealing_key_rotate", status="pending")
    assert f"Proposed change {proposal.pk}" in out.getvalue() and keys.sealing_key_current() == old
    call_command("approvals", "approve", str(proposal.pk), "--by", "bob", stdout=io.StringIO())
    new = keys.sealing_key_current()
    assert Proposal.objects.get(pk=proposal.pk).result["key_id"] == new.key_id
    assert new != old and SealingKey.objects.get(pk=old.pk).retired_at is not None
    assert keys.recipients_for_sealing()[1][0] == age.Recipient.parse(new.recipient)
    identity = keys.identity_load(SealingKey.objects.get(pk=old.pk))
    assert b"".join(age.decrypt(io.BytesIO(ciphertext).read, [identity])) == b"old object"


@pytest.mark.skipif(shutil.which("age") is None, reason="Debian's age tool is missing (.ci/run installs it)")
def test_custodians_open_sealed_objects_with_age_alone(key_dir, settings, tmp_path):
    custodians = [age.Identity.generate(), age.Identity.generate()]
    settings.CODA_ESCROW_RECIPIENTS = [str(c.recipient) for c in custodians]
    keys.sealing_key_init()
    row, recipients = keys.recipients_for_sealing()
    assert [str(r) for r in recipients] == [row.recipient, *settings.CODA_ESCROW_RECIPIENTS]
    data = os.urandom(100_000)
    encryptor = age.Encryptor(recipients)
    (tmp_path / "object.age").write_bytes(encryptor.update(data) + encryptor.finish())
    for custodian in custodians:
        (tmp_path / "custodian.txt").write_text(f"{custodian}\n")
        result = subprocess.run(["age", "-d", "-i", tmp_path / "custodian.txt", tmp_path / "object.age"],
                                capture_output=True, timeout=60)
        assert result.returncode == 0 and result.stdout == data
    archive_identity = keys.identity_load(row)
    assert b"".join(age.decrypt(open(tmp_path / "object.age", "rb").read, [archive_identity])) == data


@pytest.mark.parametrize("variable,value", [("CODA_ESCROW_RECIPIENTS", "age1notarecipient"),
                                            ("CODA_ESCROW_RECIPIENTS", "ssh-ed25519 AAAA"),
                                            ("CODA_ENCRYPT_AT_REST", "sometimes")])
def test_bad_settings_stop_the_process_at_start_up(variable, value):
    env = {**os.environ, variable: value, "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode != 0 and variable in result.stderr and "ImproperlyConfigured" in result.stderr


def test_encryption_keys_api_lists_public_recipients_for_curators(key_dir, settings):
    from tests.factories import CuratorFactory, UserFactory, api_client

    custodian = age.Identity.generate()
    settings.CODA_ESCROW_RECIPIENTS = [str(custodian.recipient)]
    old = keys.sealing_key_create()
    new = keys.sealing_key_create()
    assert api_client().get("/api/v1/encryption-keys/").status_code == 401
    assert api_client(UserFactory()).get("/api/v1/encryption-keys/").status_code == 403
    body = api_client(CuratorFactory()).get("/api/v1/encryption-keys/").json()
    assert [k["key_id"] for k in body["keys"]] == [new.key_id, old.key_id]
    assert body["keys"][0]["retired_at"] is None and body["keys"][1]["retired_at"] is not None
    assert body["escrow_recipients"] == [{"key_id": keys.key_id_for(custodian.recipient),
                                         "recipient": str(custodian.recipient)}]
    assert "AGE-SECRET" not in str(body) and "wrapped_identity" not in str(body)
