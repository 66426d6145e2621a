"""The log's Merkle code against RFC 9162 written again here, straight from the RFC's
recursive definitions (§2.1.1 MTH, §2.1.3.1 PATH, §2.1.4.1 PROOF/SUBPROOF), and against
pymerkle's roots. Every tree size from 1 to 1,000; random proofs up to 100,000 leaves."""
from __future__ import annotations

import hashlib
import random
from functools import lru_cache

import pytest

from portal.transparency import merkle


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


class Reference:
    """RFC 9162 §2.1, as written there, over a list of leaf hashes (memoised by range)."""

    def __init__(self, leaf_hashes: list[bytes]):
        self.h = leaf_hashes
        self.mth = lru_cache(maxsize=None)(self._mth)

    def _mth(self, lo: int, hi: int) -> bytes:
        n = hi - lo
        if n == 0:
            return sha(b"")
        if n == 1:
            return self.h[lo]
        k = 1
        while k * 2 < n:
            k *= 2
        return sha(b"\x01" + self.mth(lo, lo + k) + self.mth(lo + k, hi))

    def path(self, m: int, lo: int, hi: int) -> list[bytes]:
        n = hi - lo
        if n <= 1:
            return []
        k = 1
        while k * 2 < n:
            k *= 2
        if m < k:
            return self.path(m, lo, lo + k) + [self.mth(lo + k, hi)]
        return self.path(m - k, lo + k, hi) + [self.mth(lo, lo + k)]

    def subproof(self, m: int, lo: int, hi: int, whole: bool) -> list[bytes]:
        n = hi - lo
        if m == n:
            return [] if whole else [self.mth(lo, hi)]
        k = 1
        while k * 2 < n:
            k *= 2
        if m <= k:
            return self.subproof(m, lo, lo + k, whole) + [self.mth(lo + k, hi)]
        return self.subproof(m - k, lo + k, hi, False) + [self.mth(lo, lo + k)]


def leaf(i: int) -> bytes:
    return f'{{"leaf":{i}}}'.encode()


@pytest.fixture(scope="module")
def thousand():
    tree = merkle.MemoryTree()
    for i in range(1000):
        tree.append(leaf(i))
    return tree, Reference([sha(b"\x00" + leaf(i)) for i in range(1000)])


def test_leaf_and_node_hashes_are_rfc_9162():
    assert merkle.leaf_hash(b"abc") == sha(b"\x00abc")
    assert merkle.node_hash(b"L" * 32, b"R" * 32) == sha(b"\x01" + b"L" * 32 + b"R" * 32)
    assert merkle.root(0, {}) == sha(b"")


def test_every_size_from_1_to_1000(thousand):
    tree, ref = thousand
    rng = random.Random(9162)
    for n in range(1, 1001):
        root = tree.root(n)
        assert root == ref.mth(0, n), n
        indexes = {0, n - 1, n // 2, rng.randrange(n), rng.randrange(n)}
        for m in indexes:
            proof = tree.inclusion(m, n)
            assert proof == ref.path(m, 0, n), (m, n)
            assert merkle.verify_inclusion(m, n, ref.h[m], proof, root)
        for first in {1, n, max(1, n - 1), rng.randint(1, n), rng.randint(1, n)}:
            proof = tree.consistency(first, n)
            assert proof == ([] if first == n else ref.subproof(first, 0, n, True)), (first, n)
            assert merkle.verify_consistency(first, n, ref.mth(0, first), root, proof)


def test_every_proof_of_the_small_trees(thousand):
    tree, ref = thousand
    for n in range(1, 65):
        for m in range(n):
            assert tree.inclusion(m, n) == ref.path(m, 0, n)
        for first in range(1, n):
            assert tree.consistency(first, n) == ref.subproof(first, 0, n, True)


def test_random_proofs_up_to_100000_leaves():
    n = 100_000
    tree = merkle.MemoryTree()
    hashes = []
    for i in range(n):
        data = leaf(i)
        tree.append(data)
        hashes.append(sha(b"\x00" + data))
    ref = Reference(hashes)
    rng = random.Random(6962)
    for _ in range(25):
        size = rng.randint(1, n)
        root = tree.root(size)
        assert root == ref.mth(0, size)
        m = rng.randrange(size)
        proof = tree.inclusion(m, size)
        assert proof == ref.path(m, 0, size)
        assert merkle.verify_inclusion(m, size, hashes[m], proof, root)
        first = rng.randint(1, size)
        proof = tree.consistency(first, size)
        assert proof == ([] if first == size else ref.subproof(first, 0, size, True))
        assert merkle.verify_consistency(first, size, ref.mth(0, first), root, proof)


def test_a_proof_that_does_not_fit_is_refused(thousand):
    tree, ref = thousand
    n, m = 777, 345
    root, proof = tree.root(n), tree.inclusion(m, n)
    assert not merkle.verify_inclusion(m + 1, n, ref.h[m], proof, root)  # another index
    assert not merkle.verify_inclusion(m, n, ref.h[m + 1], proof, root)  # another leaf
    assert not merkle.verify_inclusion(m, 2 * n, ref.h[m], proof, root)  # another shape of tree
    assert not merkle.verify_inclusion(n, n, ref.h[m], proof, root)  # past the end
    assert not merkle.verify_inclusion(m, n, ref.h[m], proof[:-1], root)  # a hash short
    assert not merkle.verify_inclusion(m, n, ref.h[m], [*proof, proof[0]], root)  # a hash too many
    bent = [bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]]
    assert not merkle.verify_inclusion(m, n, ref.h[m], bent, root)
    assert not merkle.verify_inclusion(m, n, ref.h[m], proof, b"\x00" * 32)
    consistency = tree.consistency(300, n)
    assert merkle.verify_consistency(300, n, tree.root(300), root, consistency)
    assert not merkle.verify_consistency(300, n, tree.root(301), root, consistency)  # a fork
    assert not merkle.verify_consistency(300, n, tree.root(300), tree.root(n - 1), consistency)
    assert not merkle.verify_consistency(301, n, tree.root(300), root, consistency)
    assert not merkle.verify_consistency(n, 300, root, tree.root(300), consistency)  # rollback
    assert not merkle.verify_consistency(300, n, tree.root(300), root, [])


def test_roots_match_pymerkle():
    pymerkle = pytest.importorskip("pymerkle")
    other = pymerkle.InmemoryTree(algorithm="sha256")
    tree = merkle.MemoryTree()
    for i in range(1, 300):
        tree.append(leaf(i))
        other.append_entry(leaf(i))
        assert other.get_root(i) == tree.root(i), i
