"""RFC 9162 Merkle tree hashing, proofs and their verification.

Leaf hash ``SHA-256(0x00 ‖ leaf)``, node hash ``SHA-256(0x01 ‖ left ‖ right)``, the
tree head MTH of §2.1.1, inclusion paths (§2.1.3) and consistency proofs (§2.1.4).

The tree is kept as its *complete subtrees*: the node at ``(level, index)`` is the hash
of leaves ``[index·2^level, (index+1)·2^level)``; level 0 holds the leaf hashes. Every
hash a proof needs is either such a node or the head of a right edge ``[a, n)``, which is
a fold of at most log2(n) of them, so a proof costs O(log n) node reads (one query).
Appending leaf ``n`` adds one node per trailing 1-bit of ``n``, plus the leaf's own.

Nothing here knows where nodes are kept: callers pass a mapping ``(level, index) → hash``
holding at least the keys the ``*_keys`` functions name (``MemoryTree`` keeps them in a
dict; ``portal.transparency.log`` in the database).
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping

Key = tuple[int, int]
Nodes = Mapping[Key, bytes]

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(size: int) -> int:
    """The largest power of two smaller than ``size`` (size > 1)."""
    return 1 << ((size - 1).bit_length() - 1)


def _complete(a: int, b: int) -> Key | None:
    size = b - a
    if size & (size - 1) == 0 and a % size == 0:
        level = size.bit_length() - 1
        return level, a >> level
    return None


def range_keys(a: int, b: int) -> list[Key]:
    """The stored nodes whose fold is MTH(D[a:b]) (0 <= a < b)."""
    key = _complete(a, b)
    if key is not None:
        return [key]
    k = _split(b - a)
    return range_keys(a, a + k) + range_keys(a + k, b)


def range_hash(a: int, b: int, nodes: Nodes) -> bytes:
    """MTH(D[a:b]) from stored complete subtrees, following §2.1.1's split."""
    key = _complete(a, b)
    if key is not None:
        return nodes[key]
    k = _split(b - a)
    return node_hash(range_hash(a, a + k, nodes), range_hash(a + k, b, nodes))


def root_keys(size: int) -> list[Key]:
    return range_keys(0, size) if size else []


def root(size: int, nodes: Nodes) -> bytes:
    return range_hash(0, size, nodes) if size else EMPTY_ROOT


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose heads make PATH(index, D[0:size]), in proof order (§2.1.3.1)."""
    out: list[tuple[int, int]] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo = lo + k
    out.reverse()  # the recursion emits the deepest sibling first
    return out


def consistency_ranges(first: int, second: int) -> list[tuple[int, int]]:
    """The leaf ranges whose heads make PROOF(first, D[0:second]) (§2.1.4.1), 0 < first <= second."""
    if first == second:
        return []
    out: list[tuple[int, int]] = []
    lo, hi, m, whole = 0, second, first, True
    while True:
        if m == hi - lo:
            if not whole:
                out.append((lo, hi))
            break
        k = _split(hi - lo)
        if m <= k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo, m, whole = lo + k, m - k, False
    out.reverse()
    return out


def keys_for(ranges: list[tuple[int, int]]) -> list[Key]:
    return [key for a, b in ranges for key in range_keys(a, b)]


def hashes_for(ranges: list[tuple[int, int]], nodes: Nodes) -> list[bytes]:
    return [range_hash(a, b, nodes) for a, b in ranges]


def append_keys(index: int) -> list[Key]:
    """The existing nodes that appending leaf ``index`` combines with (its left siblings)."""
    keys, level = [], 0
    while (index >> level) & 1:
        keys.append((level, (index >> level) - 1))
        level += 1
    return keys


def append_nodes(index: int, leaf: bytes, nodes: Nodes) -> list[tuple[int, int, bytes]]:
    """The new nodes (level, index, hash) when leaf ``index`` is appended."""
    current = leaf_hash(leaf)
    out = [(0, index, current)]
    level = 0
    while (index >> level) & 1:
        current = node_hash(nodes[(level, (index >> level) - 1)], current)
        level += 1
        out.append((level, index >> level, current))
    return out


# --- verification (§2.1.3.2 and §2.1.4.2): needs nothing but the hashes ----------------

def _shift_until_set(fn: int, sn: int) -> tuple[int, int]:
    while not fn & 1 and fn != 0:
        fn >>= 1
        sn >>= 1
    return fn, sn


def root_from_inclusion(index: int, size: int, leaf_digest: bytes, proof: list[bytes]) -> bytes | None:
    if not 0 <= index < size:
        return None
    fn, sn, r = index, size - 1, leaf_digest
    for p in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                fn, sn = _shift_until_set(fn, sn)
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def verify_inclusion(index: int, size: int, leaf_digest: bytes, proof: list[bytes], root_hash: bytes) -> bool:
    return root_from_inclusion(index, size, leaf_digest, proof) == root_hash


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes,
                       proof: list[bytes]) -> bool:
    if not 0 <= first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof  # the empty tree is a prefix of every tree
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                fn, sn = _shift_until_set(fn, sn)
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root


class MemoryTree:
    """The same tree in a dict: for rebuilding the log from its leaves, and for tests."""

    def __init__(self) -> None:
        self.nodes: dict[Key, bytes] = {}
        self.size = 0

    def append(self, leaf: bytes) -> None:
        for level, index, digest in append_nodes(self.size, leaf, self.nodes):
            self.nodes[(level, index)] = digest
        self.size += 1

    def root(self, size: int | None = None) -> bytes:
        return root(self.size if size is None else size, self.nodes)

    def inclusion(self, index: int, size: int | None = None) -> list[bytes]:
        return hashes_for(inclusion_ranges(index, self.size if size is None else size), self.nodes)

    def consistency(self, first: int, second: int | None = None) -> list[bytes]:
        return hashes_for(consistency_ranges(first, self.size if second is None else second), self.nodes)


