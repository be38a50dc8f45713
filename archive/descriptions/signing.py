"""Signed snapshots in the OpenSSF model-signing format (v1.0), verifiable offline with `model_signing verify key`:
a Sigstore bundle (v0.3) whose DSSE envelope holds an in-toto Statement v1 with predicate
`https://model_signing/signature/v1.0`: one resource per file (path, sha256) sorted as model-signing sorts paths,
the subject's digest the SHA-256 over the resources' digests in that order. Built from the digests recorded at
ingest, never from a second read of the bytes. The key is the archive's elliptic-curve (P-256) private key in
CODA_SIGNING_KEY_FILE; its public key is recorded as a SigningKey (key_id = the SHA-256 of its PEM, the bundle's
public-key hint), kept after rotation so older signatures stay verifiable.

What is signed is what the tool's default options hash: `model_signing verify key DIR --signature model.sig
--public_key key.pub` (no flag) leaves out the git paths at the top of the model directory (`.git`, `.gitattributes`,
`.github`, `.gitignore` and everything under them: model_signing/hashing.py, `ignore_git_paths=True`), so a
signature covering them would be refused as "Missing files in model" for every Hub repository. Coda leaves them out of
the resources and names them in `ignore_paths`, so `--no-ignore-git-paths` verifies too. `snapshot_resign` re-signs a
snapshot signed before, keeping the old bundle in a `digital signature generation` event."""

import base64
import hashlib
import json
import logging
import os
from pathlib import Path, PurePosixPath

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from archive.models import SigningKey, Snapshot
from core.events import EventOutcome, EventType, event_record

logger = logging.getLogger(__name__)

BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://model_signing/signature/v1.0"
SIGNATURE_NAME = "model.sig"
# Paths a verifier skips in a downloaded copy: the signature itself and the Hub client's local-dir metadata.
# The git paths model-signing's default hashing leaves out (HashingConfig.hash, ignore_git_paths=True): each is a
# top-level name, and everything under it is left out too (pathlib's is_relative_to).
GIT_PATHS = [".git", ".gitattributes", ".github", ".gitignore"]
IGNORE_PATHS = [SIGNATURE_NAME, ".cache", *GIT_PATHS]
ALGORITHM = "ecdsa-p256-sha256"


def key_generate(path: Path) -> bool:
    """Write a new P-256 private key (PEM, mode 0600) at `path` unless one is there; True when written."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    return True


def public_pem(private_key) -> bytes:
    return private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def key_id_of(pem: bytes) -> str:
    """The model-signing public-key hint: SHA-256 of the PEM public key, hex."""
    return hashlib.sha256(pem).hexdigest()


def private_key_load():
    """The archive's private key, or None when CODA_SIGNING_KEY_FILE names no file (snapshots stay unsigned)."""
    path = Path(settings.CODA_SIGNING_KEY_FILE) if settings.CODA_SIGNING_KEY_FILE else None
    if path is None or not path.exists():
        return None
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ValueError(f"{path} is not an elliptic-curve P-256 private key")
    return key


@transaction.atomic
def signing_key_record(private_key) -> SigningKey:
    """The SigningKey row of `private_key`'s public key; a newly seen key retires the ones before it."""
    pem = public_pem(private_key)
    row, created = SigningKey.objects.get_or_create(
        key_id=key_id_of(pem), defaults={"algorithm": ALGORITHM, "public_key_pem": pem.decode("ascii")}
    )
    if created:
        SigningKey.objects.exclude(pk=row.pk).filter(retired_at__isnull=True).update(retired_at=timezone.now())
    return row


def _path_key(path: str):
    return PurePosixPath(path).parts  # how model-signing orders resources (sorted pathlib paths)


def is_signed_path(path: str) -> bool:
    """Whether the tool's defaults hash `path` (a snapshot file's path): False for the top-level git paths."""
    parts = PurePosixPath(path).parts
    return not parts or parts[0] not in GIT_PATHS


def statement(*, name: str, files: list[tuple[str, str]]) -> dict:
    """The in-toto statement for `files` ((path, sha256) pairs), leaving out the paths the tool ignores by default."""
    resources = [{"name": path, "algorithm": "sha256", "digest": digest}
                 for path, digest in sorted(files, key=lambda f: _path_key(f[0])) if is_signed_path(path)]
    root = hashlib.sha256(b"".join(bytes.fromhex(r["digest"]) for r in resources)).hexdigest()
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": name, "digest": {"sha256": root}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "serialization": {"method": "files", "hash_type": "sha256", "allow_symlinks": False,
                              "ignore_paths": IGNORE_PATHS},
            "resources": resources,
        },
    }


def pae(payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding."""
    return b" ".join([f"DSSEv1 {len(PAYLOAD_TYPE)} {PAYLOAD_TYPE} {len(payload)}".encode(), payload])


def bundle_build(*, private_key, statement_doc: dict) -> dict:
    payload = json.dumps(statement_doc, sort_keys=True, separators=(",", ":")).encode("utf-8")
    signature = private_key.sign(pae(payload), ec.ECDSA(hashes.SHA256()))
    return {
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": {"publicKey": {"hint": key_id_of(public_pem(private_key))}, "tlogEntries": []},
        "dsseEnvelope": {
            "payload": base64.b64encode(payload).decode("ascii"),
            "payloadType": PAYLOAD_TYPE,
            "signatures": [{"sig": base64.b64encode(signature).decode("ascii"), "keyid": ""}],
        },
    }


def _signature_text(*, private_key, snapshot: Snapshot, files) -> str:
    doc = statement(name=snapshot.model.name, files=[(f.path, f.blob.sha256) for f in files])
    return json.dumps(bundle_build(private_key=private_key, statement_doc=doc), indent=2) + "\n"


def snapshot_sign(snapshot: Snapshot, files) -> bool:
    """Sign a sealed snapshot with the archive key (at seal); False when no key is configured."""
    private_key = private_key_load()
    if private_key is None:
        logger.warning("CODA_SIGNING_KEY_FILE names no key: snapshot %s is not signed", snapshot.pk)
        return False
    key = signing_key_record(private_key)
    snapshot.signature = _signature_text(private_key=private_key, snapshot=snapshot, files=files)
    snapshot.signing_key = key
    snapshot.save(update_fields=["signature", "signing_key"])
    return True


def statement_of(signature: str) -> dict | None:
    """The in-toto statement inside a stored bundle (None when there is none)."""
    if not signature:
        return None
    envelope = json.loads(signature)["dsseEnvelope"]
    return json.loads(base64.b64decode(envelope["payload"]))


def snapshot_resign(snapshot: Snapshot, *, agent: str, force: bool = False) -> bool:
    """Re-sign a sealed, signed snapshot with the current key as the tool's defaults hash it; the old bundle is kept
    whole in a `digital signature generation` event (with its SHA-256 and key). False (nothing written) when the
    stored signature already is what signing now gives with the same key, unless `force`."""
    private_key = private_key_load()
    if private_key is None:
        raise ValueError("CODA_SIGNING_KEY_FILE names no key: nothing to re-sign with.")
    with transaction.atomic():
        locked = Snapshot.objects.select_for_update(of=("self",)).select_related("model", "signing_key").get(pk=snapshot.pk)
        if locked.state != Snapshot.State.SEALED or not locked.signature:
            return False
        files = list(locked.files.select_related("blob").order_by("path"))
        wanted = statement(name=locked.model.name, files=[(f.path, f.blob.sha256) for f in files])
        key = signing_key_record(private_key)
        if not force and statement_of(locked.signature) == wanted and locked.signing_key_id == key.pk:
            return False
        old, old_key = locked.signature, locked.signing_key
        locked.signature = _signature_text(private_key=private_key, snapshot=locked, files=files)
        locked.signing_key = key
        locked.save(update_fields=["signature", "signing_key"])
        event_record(
            event_type=EventType.SIGNATURE, outcome=EventOutcome.SUCCESS, agent=agent, model=locked.model,
            snapshot=locked,
            detail={
                "resigned": True,
                "signing_key_id": key.key_id,
                "signature_sha256": hashlib.sha256(locked.signature.encode("utf-8")).hexdigest(),
                "previous_signing_key_id": old_key.key_id if old_key else None,
                "previous_signature_sha256": hashlib.sha256(old.encode("utf-8")).hexdigest(),
                "previous_signature": old,
                "ignore_paths": IGNORE_PATHS,
            },
        )
    snapshot.refresh_from_db()
    return True
