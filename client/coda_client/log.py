"""Verify Coda's tamper-evident log from the outside, with none of Coda's server code (docs/log.md).

Its own RFC 6962 hashing and proof verification, its own RFC 8785 canonical JSON for leaf data, and the C2SP
signed-note checkpoint checked with `cryptography` against the archive's public keys (GET /api/v1/signing-keys/).
What it proves: the checkpoint is signed by the archive; an event is in the signed tree; a later checkpoint
extends an earlier one kept elsewhere; every leaf the caller may see matches its event (the first bad leaf named)."""

import base64
import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from coda_client.errors import CodaError

DASH = "\u2014"
PAGE = 1000


class LogInvalid(CodaError):
    """The log, a checkpoint or a proof did not verify; the message says what and, for leaves, which one."""

    def __init__(self, detail: str, bad_leaf: int | None = None):
        super().__init__(0, "log_invalid", detail)
        self.bad_leaf = bad_leaf

    def __str__(self) -> str:
        return f"log verification failed: {self.detail}"


# --- RFC 6962 -------------------------------------------------------------------------------------------------

def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def tree_root(leaf_hashes: list[bytes]) -> bytes:
    """MTH (RFC 6962 §2.1) by recursion on the largest power of two below n."""
    def mth(lo: int, hi: int) -> bytes:
        if hi - lo == 1:
            return leaf_hashes[lo]
        k = 1 << ((hi - lo - 1).bit_length() - 1)
        return node_hash(mth(lo, lo + k), mth(lo + k, hi))
    return mth(0, len(leaf_hashes)) if leaf_hashes else hashlib.sha256(b"").digest()


def _shift_while_even(fn: int, sn: int) -> tuple[int, int]:
    while not fn & 1 and fn != 0:
        fn, sn = fn >> 1, sn >> 1
    return fn, sn


def verify_inclusion(*, leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> None:
    """RFC 9162 §2.1.3.2."""
    if not 0 <= index < size:
        raise LogInvalid(f"leaf {index} cannot be in a tree of {size} leaves")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise LogInvalid("inclusion proof too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            fn, sn = _shift_while_even(fn, sn)
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0 or r != root:
        raise LogInvalid(f"leaf {index} is not in the signed tree of {size} leaves")


def verify_consistency(*, first: int, second: int, first_root: bytes, second_root: bytes, proof: list[bytes]) -> None:
    """RFC 9162 §2.1.4.2."""
    if first > second:
        raise LogInvalid(f"the checkpoint of {second} leaves is older than the one of {first}")
    if first == second:
        if first_root != second_root:
            raise LogInvalid(f"two signed checkpoints of {first} leaves with different roots: the log was rewritten")
        return
    if first == 0:
        return
    path = ([first_root] if first & (first - 1) == 0 else []) + list(proof)
    if not path:
        raise LogInvalid("empty consistency proof")
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise LogInvalid("consistency proof too long")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            fn, sn = _shift_while_even(fn, sn)
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0 or fr != first_root or sr != second_root:
        raise LogInvalid(f"the log of {second} leaves does not extend the checkpoint of {first} leaves kept "
                         "earlier: the log was rewritten")


# --- RFC 8785 leaf data ---------------------------------------------------------------------------------------

def _number(value) -> str:
    if isinstance(value, int) and abs(value) < 2**53:
        return str(value)
    value = float(value)
    if value == 0:
        return "0"
    sign, (_, digits, exponent) = ("-" if value < 0 else ""), Decimal(repr(abs(value))).as_tuple()
    text = "".join(map(str, digits))
    stripped = text.rstrip("0")
    exponent += len(text) - len(stripped)
    k, n = len(stripped), len(stripped) + exponent
    if k <= n <= 21:
        out = stripped + "0" * (n - k)
    elif 0 < n <= 21:
        out = f"{stripped[:n]}.{stripped[n:]}"
    elif -6 < n <= 0:
        out = "0." + "0" * -n + stripped
    else:
        out = stripped[0] + (f".{stripped[1:]}" if k > 1 else "") + f"e{'+' if n - 1 > 0 else '-'}{abs(n - 1)}"
    return sign + out


def canonical_json(value) -> str:
    """RFC 8785 JSON Canonicalization Scheme."""
    if value is None or value is True or value is False:
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return _number(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ",".join(map(canonical_json, value)) + "]"
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{canonical_json(value[k])}" for k in keys) + "}"
    raise TypeError(type(value).__name__)


def event_leaf_hash(event: dict) -> bytes:
    """The leaf hash of an event's leaf object as served by GET /api/v1/log/leaves/."""
    return leaf_hash(canonical_json(event).encode("utf-8"))


# --- C2SP signed-note checkpoints -----------------------------------------------------------------------------

@dataclass
class Checkpoint:
    origin: str
    size: int
    root: bytes
    note: str
    key_id: str = ""  # the signing key's key_id (SHA-256 of its PEM), as GET /api/v1/signing-keys/ lists it

    def as_dict(self) -> dict:
        return {"origin": self.origin, "size": self.size, "root_hash": base64.b64encode(self.root).decode(),
                "key_id": self.key_id}


def checkpoint_verify(note: str, signing_keys: list[dict]) -> Checkpoint:
    """The checkpoint in `note` when a signature line by its origin verifies with one of `signing_keys`."""
    text, sep, signature_block = note.rpartition("\n\n")
    if not sep:
        raise LogInvalid("not a signed note: no blank line before the signatures")
    text += "\n"
    lines = text.split("\n")
    try:
        origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2], validate=True)
    except (IndexError, ValueError) as exc:
        raise LogInvalid(f"not a checkpoint: {exc}") from None
    keys = {}
    for row in signing_keys:
        public = serialization.load_pem_public_key(row["public_key_pem"].encode())
        der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        keys[hashlib.sha256(der).digest()[:4]] = (public, row["key_id"])
    for line in signature_block.splitlines():
        dash, name, blob = (line.split(" ", 2) + ["", ""])[:3]
        if dash != DASH or name != origin:
            continue
        raw = base64.b64decode(blob)
        if raw[:4] not in keys:
            continue
        public, key_id = keys[raw[:4]]
        try:
            public.verify(raw[4:], text.encode("utf-8"), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            raise LogInvalid(f"the checkpoint's signature by {name} does not verify") from None
        return Checkpoint(origin=origin, size=size, root=root, note=note, key_id=key_id)
    raise LogInvalid(f"the checkpoint of {origin} carries no signature by a key the archive lists")


# --- against a server -----------------------------------------------------------------------------------------

@dataclass
class FullReport:
    size: int
    checked: int = 0
    withheld: dict = field(default_factory=dict)


class LogVerifier:
    """Checks against a live Coda, through the `Coda` client (what an anonymous caller or a curator may see)."""

    def __init__(self, coda):
        self.coda = coda

    def checkpoint(self) -> Checkpoint:
        keys = self.coda.request("GET", "signing-keys/")
        return checkpoint_verify(self.coda.request("GET", "log/checkpoint")["note"], keys)

    def note_verify(self, note: str) -> Checkpoint:
        return checkpoint_verify(note, self.coda.request("GET", "signing-keys/"))

    def inclusion(self, event_id: int, checkpoint: Checkpoint) -> int:
        """The event's leaf index, once its proof leads to the signed root (and its leaf matches its contents)."""
        proof = self.coda.request("GET", "log/proof/inclusion", params={"event": event_id, "size": checkpoint.size})
        leaf = base64.b64decode(proof["leaf_hash"])
        verify_inclusion(leaf=leaf, index=proof["index"], size=checkpoint.size, root=checkpoint.root,
                         proof=[base64.b64decode(h) for h in proof["hashes"]])
        served = self.coda.request("GET", "log/leaves/", params={"start": proof["index"], "count": 1})["leaves"]
        if served and served[0]["event"] is not None:
            if served[0]["event"].get("id") != event_id or event_leaf_hash(served[0]["event"]) != leaf:
                raise LogInvalid(f"leaf {proof['index']}: event {event_id} no longer matches its leaf",
                                 bad_leaf=proof["index"])
        return proof["index"]

    def consistency(self, older: Checkpoint, newer: Checkpoint) -> None:
        if older.origin != newer.origin:
            raise LogInvalid(f"the saved checkpoint is of another log ({older.origin}, not {newer.origin})")
        proof = self.coda.request("GET", "log/proof/consistency", params={"from": older.size, "to": newer.size})
        verify_consistency(first=older.size, second=newer.size, first_root=older.root, second_root=newer.root,
                           proof=[base64.b64decode(h) for h in proof["hashes"]])

    def full(self, checkpoint: Checkpoint) -> FullReport:
        """Every leaf of the signed tree: their root must be the signed root, and every leaf whose event the caller
        may see must be that event's hash; the first bad leaf is named."""
        report, hashes_seen, first_bad = FullReport(size=checkpoint.size), [], None
        start = 0
        while start < checkpoint.size:
            page = self.coda.request("GET", "log/leaves/",
                                     params={"start": start, "count": min(PAGE, checkpoint.size - start)})["leaves"]
            if not page:
                raise LogInvalid(f"the server has no leaf {start} of the signed tree of {checkpoint.size}")
            for leaf in page:
                if leaf["index"] != len(hashes_seen):
                    raise LogInvalid(f"leaf {len(hashes_seen)} is missing from the server's answer",
                                     bad_leaf=len(hashes_seen))
                value = base64.b64decode(leaf["leaf_hash"])
                hashes_seen.append(value)
                if leaf["event"] is not None:
                    report.checked += 1
                    if first_bad is None and event_leaf_hash(leaf["event"]) != value:
                        first_bad = (leaf["index"], f"event {leaf['event'].get('id')} no longer matches its leaf")
                elif leaf["withheld"] == "missing" and first_bad is None:
                    first_bad = (leaf["index"], "its event is missing")
                else:
                    report.withheld[leaf["withheld"]] = report.withheld.get(leaf["withheld"], 0) + 1
            start += len(page)
        if first_bad is not None:
            raise LogInvalid(f"first bad leaf {first_bad[0]}: {first_bad[1]}", bad_leaf=first_bad[0])
        if tree_root(hashes_seen[:checkpoint.size]) != checkpoint.root:
            raise LogInvalid(f"the leaf hashes served do not have the root of the signed checkpoint of "
                             f"{checkpoint.size} leaves")
        return report
