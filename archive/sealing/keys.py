"""The archive's age identities: made, wrapped, rotated, unwrapped. The secret is held apart from the data: in
production wrapped by a KMS key (AWS KMS or compatible, CODA_KMS_KEY_ID); on the embedded default in a 0600 file
under CODA_SEALING_KEY_DIR, which may not lie inside any storage or staging root. Every sealed object is also
encrypted to the custodians' recipients (CODA_ESCROW_RECIPIENTS), so the holdings open without Coda."""

import base64
import hashlib
import json
import os
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from archive.exceptions import KeyConfigurationError, KeyUnavailable
from archive.models import SealingKey
from archive.sealing.age import Identity, Recipient
from catalogue import approvals

KMS_CONTEXT = "coda-sealing-key"


def key_id_for(recipient: Recipient) -> str:
    return hashlib.sha256(str(recipient).encode()).hexdigest()[:16]


def _kms():
    import boto3
    from botocore.config import Config

    return boto3.client(
        "kms", endpoint_url=settings.CODA_KMS_ENDPOINT_URL or None, region_name=settings.CODA_KMS_REGION,
        config=Config(connect_timeout=settings.CODA_S3_CONNECT_TIMEOUT, read_timeout=settings.CODA_S3_READ_TIMEOUT,
                      retries={"max_attempts": 2, "mode": "standard"}),
    )


def _kms_call(operation: str, **kwargs) -> dict:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return getattr(_kms(), operation)(**kwargs)
    except (BotoCoreError, ClientError) as exc:
        raise KeyUnavailable(f"KMS {operation} failed: {exc}") from exc


def key_dir() -> Path:
    """The local key directory, refused when it lies inside a storage or staging root (resolve, then check)."""
    directory = Path(settings.CODA_SEALING_KEY_DIR).resolve()
    roots = [Path(p).resolve() for p in settings.CODA_STAGING_ROOTS]
    roots += [Path(loc["root"]).resolve() for loc in settings.CODA_STORAGE_LOCATIONS if loc.get("root")]
    for root in roots:
        if directory == root or root in directory.parents:
            raise KeyConfigurationError(f"CODA_SEALING_KEY_DIR ({directory}) lies inside {root}, where stored or "
                                        "staged data lives: keep the key apart from the data.")
    return directory


def _write_local(key_id: str, identity: Identity) -> None:
    directory = key_dir()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = directory / f"{key_id}.txt"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(f"# Coda archive sealing identity {key_id}; recipient: {identity.recipient}\n{identity}\n")
        out.flush()
        os.fsync(out.fileno())


@transaction.atomic
def sealing_key_create() -> SealingKey:
    """A new identity for new objects (wrapped by the KMS key, or a local file); the others are retired."""
    identity = Identity.generate()
    recipient = identity.recipient
    key_id = key_id_for(recipient)
    row = SealingKey(key_id=key_id, recipient=str(recipient))
    if settings.CODA_KMS_KEY_ID:
        wrapped = _kms_call("encrypt", KeyId=settings.CODA_KMS_KEY_ID, Plaintext=str(identity).encode(),
                            EncryptionContext={"purpose": KMS_CONTEXT, "key_id": key_id})
        row.wrapping, row.kms_key_id = SealingKey.Wrapping.KMS, settings.CODA_KMS_KEY_ID
        row.wrapped_identity = base64.b64encode(wrapped["CiphertextBlob"]).decode()
    else:
        row.wrapping = SealingKey.Wrapping.LOCAL_FILE
        _write_local(key_id, identity)
    SealingKey.objects.filter(retired_at__isnull=True).update(retired_at=timezone.now())
    row.save()
    return row


def sealing_key_rotate(*, approval=None) -> SealingKey:
    """Rotate: a new identity for new objects, the current one retired (`manage.py key_rotate`). With a current key
    this needs an approved proposal under the two-person rule (it touches every restricted model's sealed files)."""
    approvals.guard("sealing_key_rotate", params={}, approval=approval)
    return sealing_key_create()


def _rotate_apply(proposal) -> dict:
    row = sealing_key_rotate(approval=proposal)
    return {"key_id": row.key_id, "wrapping": row.wrapping}


def approval_kinds_register() -> None:
    """Rotating the sealing key (making the first one is not a rotation and needs no approval)."""
    approvals.kind_register(
        "sealing_key_rotate", apply=_rotate_apply,
        describe=lambda model, p: "Rotate the archive's sealing key (new objects sealed to a new identity)",
        dangerous=lambda model, p: sealing_key_current() is not None,
    )


def sealing_key_current() -> SealingKey | None:
    return SealingKey.objects.filter(retired_at__isnull=True).order_by("-created_at", "-id").first()


def sealing_key_init() -> tuple[SealingKey, bool]:
    """The current identity, made when there is none (make run; idempotent)."""
    current = sealing_key_current()
    return (current, False) if current is not None else (sealing_key_create(), True)


def identity_load(row: SealingKey) -> Identity:
    """The secret identity of `row`, unwrapped; KeyUnavailable when the KMS or the file cannot give it, or when
    this process is one that holds no key (CODA_KEY_ACCESS=false: the auditing worker)."""
    if not settings.CODA_KEY_ACCESS:
        raise KeyUnavailable("This process holds no decryption key (CODA_KEY_ACCESS=false).")
    if row.wrapping == SealingKey.Wrapping.KMS:
        answer = _kms_call("decrypt", CiphertextBlob=base64.b64decode(row.wrapped_identity), KeyId=row.kms_key_id,
                           EncryptionContext={"purpose": KMS_CONTEXT, "key_id": row.key_id})
        identity = Identity.parse(answer["Plaintext"].decode())
    else:
        path = key_dir() / f"{row.key_id}.txt"
        try:
            lines = [line for line in path.read_text().splitlines() if line.startswith("AGE-SECRET-KEY-1")]
        except OSError as exc:
            raise KeyUnavailable(f"Sealing identity {row.key_id} cannot be read: {exc}") from exc
        if not lines:
            raise KeyUnavailable(f"Sealing identity file {path} holds no identity.")
        identity = Identity.parse(lines[0])
    if str(identity.recipient) != row.recipient:
        raise KeyUnavailable(f"Sealing identity {row.key_id} does not match its recorded recipient.")
    return identity


def escrow_recipients() -> list[Recipient]:
    return [Recipient.parse(text) for text in settings.CODA_ESCROW_RECIPIENTS]


def recipients_for_sealing() -> tuple[SealingKey, list[Recipient]]:
    """The current key (made on first need) and every recipient a new sealed object is encrypted to (it, then the
    custodians'). The key is unwrapped once as proof it can be opened again: no object is sealed to a key the
    archive cannot use."""
    row = sealing_key_current()
    if row is None:  # the first sealed file: make the key (KMS-wrapped, or the local file) rather than refuse
        row = sealing_key_create()
    identity_load(row)
    return row, [Recipient.parse(row.recipient), *escrow_recipients()]


# --- key records beside the data ----------------------------------------------------------------------------
# Each storage location that holds objects sealed to an archive key also holds that key's public record:
# `keys/sealing/<key_id>.json` (recipient, how it is wrapped and, for a KMS-wrapped key, the KMS ciphertext,
# which only the KMS key opens). With the database lost, `rebuild_catalogue` restores the key rows from these, so
# the archive's own key (through the KMS, or the local key file) opens its objects again.

KEY_RECORD_PREFIX = "keys/sealing/"
KEY_RECORD_FORMAT = "coda-sealing-key/v1"


def key_record_key(key_id: str) -> str:
    return f"{KEY_RECORD_PREFIX}{key_id}.json"


def key_record(row: SealingKey) -> bytes:
    document = {
        "format": KEY_RECORD_FORMAT, "key_id": row.key_id, "recipient": row.recipient, "wrapping": row.wrapping,
        "kms_key_id": row.kms_key_id, "wrapped_identity": row.wrapped_identity,
        "created_at": row.created_at.isoformat(),
        "note": "Public record of one of the archive's age identities; the secret is not here (wrapped by the "
                "KMS key named, or kept in the archive's local key directory). Custodians' identities open every "
                "object without it.",
    }
    return (json.dumps(document, indent=2) + "\n").encode()


def key_records_put(backend, key_ids) -> None:
    """Write the record of each archive key named (when the location lacks it)."""
    for row in SealingKey.objects.filter(key_id__in=set(key_ids)):
        key = key_record_key(row.key_id)
        if backend.size_of(key) is None:
            backend.put_bytes(key, key_record(row))


def key_records_restore(backend) -> list[str]:
    """Recreate the key rows a location's records name and this database lacks (retired: a new identity is made
    for new objects); returns their ids. A record that does not parse raises ValueError naming it."""
    restored = []
    for key in backend.list_keys(KEY_RECORD_PREFIX):
        if not key.endswith(".json"):
            continue
        with backend.open(key) as stream:
            try:
                document = json.loads(stream.read(64 * 1024))
                recipient = Recipient.parse(document["recipient"])
                wrapping = SealingKey.Wrapping(document["wrapping"])
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{key}: not a sealing key record ({exc})") from None
        key_id = key_id_for(recipient)
        if document.get("key_id") != key_id:
            raise ValueError(f"{key}: key_id does not match the recipient")
        _, created = SealingKey.objects.get_or_create(key_id=key_id, defaults={
            "recipient": str(recipient), "wrapping": wrapping, "kms_key_id": document.get("kms_key_id") or "",
            "wrapped_identity": document.get("wrapped_identity") or "", "retired_at": timezone.now(),
        })
        if created:
            restored.append(key_id)
    return restored
