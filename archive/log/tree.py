"""RFC 6962 (Certificate Transparency) Merkle tree hashing, proofs and their verification; pure functions over a
list of leaf hashes (RFC 6962 §2.1, verification as in RFC 9162 §2.1.3.2 and §2.1.4.2)."""

import hashlib
from collections.abc import Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(ValueError):
    """A proof that does not verify (or asked for sizes that make no sense)."""


def leaf_hash(data: bytes) -> bytes:
    """MTH of one leaf: SHA-256(0x00 || leaf data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """An interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(hashes: Sequence[bytes], lo: int = 0, hi: int | None = None) -> bytes:
    """The Merkle tree hash of leaf hashes[lo:hi], in one pass: perfect subtrees are merged as they complete (a
    binary counter), then the remaining ones folded right to left, which is exactly MTH's recursive split."""
    hi = len(hashes) if hi is None else hi
    if hi <= lo:
        return EMPTY_ROOT
    stack: list[tuple[int, bytes]] = []
    for i in range(lo, hi):
        size, node = 1, hashes[i]
        while stack and stack[-1][0] == size:
            size, node = size * 2, node_hash(stack.pop()[1], node)
        stack.append((size, node))
    node = stack.pop()[1]
    while stack:
        node = node_hash(stack.pop()[1], node)
    return node


def inclusion_proof(hashes: Sequence[bytes], index: int, size: int | None = None) -> list[bytes]:
    """PATH(index, D[size]) of RFC 6962 §2.1.1, bottom to top."""
    size = len(hashes) if size is None else size
    if not 0 <= index < size <= len(hashes):
        raise ProofError(f"leaf {index} is not in a tree of {size} leaves")
    path: list[bytes] = []
    lo, hi, m = 0, size, index
    while hi - lo > 1:
        k = _split(hi - lo)
        if m < k:
            path.append(root(hashes, lo + k, hi))
            hi = lo + k
        else:
            path.append(root(hashes, lo, lo + k))
            lo, m = lo + k, m - k
    return path[::-1]


def consistency_proof(hashes: Sequence[bytes], first: int, second: int | None = None) -> list[bytes]:
    """PROOF(first, D[second]) of RFC 6962 §2.1.2."""
    second = len(hashes) if second is None else second
    if not 0 <= first <= second <= len(hashes):
        raise ProofError(f"no consistency proof from {first} to {second} leaves (the log has {len(hashes)})")
    if first == 0 or first == second:
        return []
    path: list[bytes] = []
    lo, hi, m, complete = 0, second, first, True
    while True:
        if m == hi - lo:
            if not complete:
                path.append(root(hashes, lo, hi))
            break
        k = _split(hi - lo)
        if m <= k:
            path.append(root(hashes, lo + k, hi))
            hi = lo + k
        else:
            path.append(root(hashes, lo, lo + k))
            lo, m, complete = lo + k, m - k, False
    return path[::-1]


def inclusion_verify(*, leaf: bytes, index: int, size: int, proof: Sequence[bytes], root_hash: bytes) -> None:
    """Raise ProofError unless `proof` shows leaf hash `leaf` at `index` in the tree of `size` with `root_hash`."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size} leaves")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("inclusion proof is too short")
    if r != root_hash:
        raise ProofError(f"inclusion proof of leaf {index} does not lead to the root of the tree of {size} leaves")


def consistency_verify(*, first: int, second: int, first_root: bytes, second_root: bytes,
                       proof: Sequence[bytes]) -> None:
    """Raise ProofError unless `proof` shows the tree of `second` leaves extends the tree of `first` leaves."""
    if not 0 <= first <= second:
        raise ProofError(f"a tree of {second} leaves cannot extend one of {first}")
    if first == second:
        if proof or first_root != second_root:
            raise ProofError(f"two different roots for the same size {first}")
        return
    if first == 0:
        if proof:
            raise ProofError("a consistency proof from the empty tree is empty")
        return
    if not proof:
        raise ProofError("empty consistency proof")
    path = list(proof)
    if first & (first - 1) == 0:  # a power of two: the old root is itself a node of the new tree
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("consistency proof is too short")
    if fr != first_root:
        raise ProofError(f"the log of {second} leaves does not extend the checkpoint of {first} leaves: "
                         f"its first {first} leaves have another root")
    if sr != second_root:
        raise ProofError(f"consistency proof does not lead to the root of the tree of {second} leaves")
