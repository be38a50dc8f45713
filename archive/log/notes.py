"""Checkpoints as C2SP tlog-checkpoint bodies in C2SP signed notes, signed with the archive's P-256 key.

Body: origin line, tree size (decimal), base64 root hash, each ending in a newline. Signature line:
"— <key name> base64(key ID || signature)". The signature type is signed-note's 0x02, "ECDSA signatures as
implemented by github.com/transparency-dev/witness": ASN.1 DER ECDSA P-256 over SHA-256 of the note text, key ID the
first four bytes of SHA-256 of the DER SubjectPublicKeyInfo (the form Rekor's checkpoints use too)."""

import base64
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

DASH = "\u2014"


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root_hash: bytes


def body(*, origin: str, size: int, root_hash: bytes) -> str:
    if not origin or "\n" in origin:
        raise ValueError("a checkpoint origin is one non-empty line")
    return f"{origin}\n{size}\n{base64.b64encode(root_hash).decode('ascii')}\n"


def key_id(public_key) -> bytes:
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).digest()[:4]


def sign(*, text: str, name: str, private_key) -> str:
    """The signed note: text, a blank line, one signature line by `name`."""
    signature = private_key.sign(text.encode("utf-8"), ec.ECDSA(hashes.SHA256()))
    blob = base64.b64encode(key_id(private_key.public_key()) + signature).decode("ascii")
    return f"{text}\n{DASH} {name} {blob}\n"


def parse(note: str) -> tuple[Checkpoint, str, list[tuple[str, bytes, bytes]]]:
    """(checkpoint, signed text, [(key name, key ID, signature)]); ValueError when malformed."""
    text, sep, sigs = note.rpartition("\n\n")
    if not sep:
        raise ValueError("not a signed note: no blank line before the signatures")
    text += "\n"
    lines = text.split("\n")
    if len(lines) < 4:
        raise ValueError("not a checkpoint: origin, size and root hash lines are required")
    try:
        checkpoint = Checkpoint(origin=lines[0], size=int(lines[1]), root_hash=base64.b64decode(lines[2], validate=True))
    except ValueError as exc:
        raise ValueError(f"not a checkpoint: {exc}") from None
    signatures = []
    for line in sigs.splitlines():
        prefix, _, rest = line.partition(" ")
        name, _, blob = rest.partition(" ")
        if prefix != DASH or not name or not blob:
            raise ValueError(f"malformed signature line: {line!r}")
        raw = base64.b64decode(blob)
        signatures.append((name, raw[:4], raw[4:]))
    return checkpoint, text, signatures


def verify(note: str, *, name: str, public_key) -> Checkpoint:
    """The checkpoint when `note` carries a valid signature by (name, public_key); ValueError otherwise."""
    checkpoint, text, signatures = parse(note)
    kid = key_id(public_key)
    for sig_name, sig_id, signature in signatures:
        if sig_name == name and sig_id == kid:
            try:
                public_key.verify(signature, text.encode("utf-8"), ec.ECDSA(hashes.SHA256()))
            except InvalidSignature:
                raise ValueError(f"the signature by {name} does not verify") from None
            return checkpoint
    raise ValueError(f"no signature by {name} with key ID {kid.hex()}")
