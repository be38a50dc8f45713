"""RFC 6962 hashing and proofs (archive/log/tree.py) checked by implementations no one here wrote: sigstore-python's
Merkle inclusion verifier (from Trillian, Rekor's log) accepts every Coda inclusion proof and so recomputes Coda's
root from each leaf; the canonical leaf JSON equals rfc8785's; sigstore's checkpoint parser reads Coda's signed note.
The client's own implementation (coda_client/log.py) is held to the same answers."""

import hashlib
import random
from types import SimpleNamespace

import pytest
import rfc8785
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sigstore._internal.merkle import verify_merkle_inclusion
from sigstore._internal.rekor.checkpoint import SignedCheckpoint
from sigstore.errors import VerificationError

from archive.log import leaves, notes, tree
from coda_client import log as client_log


def _leaves(n: int, seed: int = 0) -> list[bytes]:
    rng = random.Random(seed)
    return [rng.randbytes(rng.randint(0, 40)) for _ in range(n)]


def _rfc_mth(hashes_: list[bytes]) -> bytes:
    """MTH written from RFC 6962 §2.1's text, for comparison."""
    if not hashes_:
        return hashlib.sha256(b"").digest()
    if len(hashes_) == 1:
        return hashes_[0]
    k = 1
    while k * 2 < len(hashes_):
        k *= 2
    return hashlib.sha256(b"\x01" + _rfc_mth(hashes_[:k]) + _rfc_mth(hashes_[k:])).digest()


def _sigstore_entry(data: bytes, index: int, size: int, proof: list[bytes], root: bytes):
    """The shape sigstore's verifier reads from a Rekor entry: its canonicalized body and inclusion proof."""
    return SimpleNamespace(_inner=SimpleNamespace(
        canonicalized_body=data,
        inclusion_proof=SimpleNamespace(log_index=index, tree_size=size, hashes=proof, root_hash=root)))


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 33, 100])
def test_sigstore_accepts_every_inclusion_proof_and_so_computes_the_same_root(size):
    data = _leaves(size, seed=size)
    hashes_ = [tree.leaf_hash(d) for d in data]
    root = tree.root(hashes_)
    assert root == _rfc_mth(hashes_) == client_log.tree_root(hashes_)
    for index in range(size):
        proof = tree.inclusion_proof(hashes_, index)
        verify_merkle_inclusion(_sigstore_entry(data[index], index, size, proof, root))  # raises when wrong
        tree.inclusion_verify(leaf=hashes_[index], index=index, size=size, proof=proof, root_hash=root)
        client_log.verify_inclusion(leaf=hashes_[index], index=index, size=size, proof=proof, root=root)
    # A changed leaf, or a root of another tree, is refused by sigstore and by both of Coda's verifiers.
    other = tree.root(hashes_[:-1] + [tree.leaf_hash(b"forged")])
    proof = tree.inclusion_proof(hashes_, size - 1)
    with pytest.raises(VerificationError):
        verify_merkle_inclusion(_sigstore_entry(b"forged" + data[-1], size - 1, size, proof, root))
    if size > 1:
        with pytest.raises(VerificationError):
            verify_merkle_inclusion(_sigstore_entry(data[0], 0, size, tree.inclusion_proof(hashes_, 0), other))
    with pytest.raises(tree.ProofError):
        tree.inclusion_verify(leaf=tree.leaf_hash(b"x"), index=size - 1, size=size, proof=proof, root_hash=root)
    with pytest.raises(client_log.LogInvalid):
        client_log.verify_inclusion(leaf=tree.leaf_hash(b"x"), index=size - 1, size=size, proof=proof, root=root)


def test_consistency_proofs_for_every_pair_of_sizes_and_a_rewrite_refused():
    hashes_ = [tree.leaf_hash(d) for d in _leaves(40, seed=7)]
    for second in range(1, 41):
        second_root = tree.root(hashes_, 0, second)
        for first in range(0, second + 1):
            first_root = tree.root(hashes_, 0, first)
            proof = tree.consistency_proof(hashes_, first, second)
            tree.consistency_verify(first=first, second=second, first_root=first_root, second_root=second_root,
                                    proof=proof)
            client_log.verify_consistency(first=first, second=second, first_root=first_root,
                                          second_root=second_root, proof=proof)
    rewritten = hashes_[:5] + [tree.leaf_hash(b"rewritten")] + hashes_[6:]
    old_root = tree.root(hashes_, 0, 10)  # a checkpoint of 10 leaves kept before leaf 5 was rewritten
    proof = tree.consistency_proof(rewritten, 10, 40)
    with pytest.raises(tree.ProofError, match="does not extend"):
        tree.consistency_verify(first=10, second=40, first_root=old_root, second_root=tree.root(rewritten), proof=proof)
    with pytest.raises(client_log.LogInvalid, match="rewritten"):
        client_log.verify_consistency(first=10, second=40, first_root=old_root, second_root=tree.root(rewritten),
                                      proof=proof)


VALUES = [0, 1, -1, 1.0, 1.5, -0.0, 1e21, 1e20, 1e-7, 1e-6, 0.1, 100.0, 1e300, 5e-324, 2**53 - 1, 123456789.125,
          "é\u2028\x01\"\\ ✓ 𝄞", True, None, [], {}, {"b": 1, "a": [1, 2.5, {"z": None, "é": True, "\U0001d11e": 0}]}]


@pytest.mark.parametrize("value", VALUES + [random.Random(i).uniform(-1, 1) * 10 ** random.Random(i).randint(-30, 30)
                                            for i in range(200)])
def test_canonical_leaf_json_is_rfc8785(value):
    assert leaves.canonical(value).encode("utf-8") == rfc8785.dumps(value)
    assert client_log.canonical_json(value).encode("utf-8") == rfc8785.dumps(value)


def test_signed_note_is_read_by_sigstore_and_verifies_by_key_id():
    key = ec.generate_private_key(ec.SECP256R1())
    root = tree.root([tree.leaf_hash(b"a"), tree.leaf_hash(b"b"), tree.leaf_hash(b"c")])
    note = notes.sign(text=notes.body(origin="coda.example/log", size=3, root_hash=root), name="coda.example/log",
                      private_key=key)
    parsed = SignedCheckpoint.from_text(note)
    assert parsed.checkpoint.origin == "coda.example/log" and parsed.checkpoint.log_size == 3
    assert parsed.checkpoint.log_hash == root.hex()
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    (signature,) = parsed.signed_note.signatures
    assert signature.name == "coda.example/log" and signature.sig_hash == hashlib.sha256(der).digest()[:4]
    import base64
    key.public_key().verify(base64.b64decode(signature.signature), parsed.signed_note.note.encode(),
                            ec.ECDSA(hashes.SHA256()))  # raises when wrong
    assert notes.verify(note, name="coda.example/log", public_key=key.public_key()).size == 3
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert client_log.checkpoint_verify(note, [{"public_key_pem": pem.decode(), "key_id": "k"}]).root == root
    forged = note.replace("\n3\n", "\n4\n")
    with pytest.raises(ValueError, match="does not verify"):
        notes.verify(forged, name="coda.example/log", public_key=key.public_key())
    with pytest.raises(client_log.LogInvalid, match="does not verify"):
        client_log.checkpoint_verify(forged, [{"public_key_pem": pem.decode(), "key_id": "k"}])
