"""RFC 9162 / RFC 6962 Merkle tree hashing, proofs and proof verification (SHA-256).

Pure functions, no I/O. Trees are the left-balanced trees of RFC 9162 section 2.1.1:
``MTH({}) = SHA-256()``, ``MTH({d0}) = SHA-256(0x00 || d0)`` and, for ``n > 1`` with ``k`` the
largest power of two below ``n``, ``MTH(D[n]) = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))``.

Two layers of API:

* entry level (``root``, ``inclusion_proof``, ``consistency_proof``) takes raw log entries;
* hash level (``root_from_hashes``, ``*_proof_from_hashes``) takes leaf hashes, and the
  ``inclusion_plan`` / ``consistency_plan`` / ``perfect_subtrees`` helpers name the subtrees a
  proof is made of, so that a stored log can answer from stored subtree hashes alone.

Policy where RFC 9162 leaves room (verifiers return ``False``, never raise):

* every hash handed to a verifier (leaf hash, roots, proof elements) must be 32-byte ``bytes``;
* ``old_size == 0``: the only tree of size 0 has root ``SHA-256()``, so the proof must be empty
  and ``old_root`` must equal ``EMPTY_ROOT``; ``new_root`` is then only checked to be a hash.
  (RFC 9162 deems the empty tree consistent with every tree; transparency-dev/merkle rejects
  size 0 outright; we accept it, but only with the empty proof and the true empty root.)
* ``old_size == new_size``: the proof must be empty and the two roots equal.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "leaf_hash",
    "node_hash",
    "root",
    "root_from_hashes",
    "root_from_perfect_subtrees",
    "inclusion_proof",
    "inclusion_proof_from_hashes",
    "inclusion_plan",
    "verify_inclusion",
    "consistency_proof",
    "consistency_proof_from_hashes",
    "consistency_plan",
    "verify_consistency",
    "perfect_subtrees",
]

HASH_SIZE = 32
"""Size in bytes of every hash in the tree (SHA-256)."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""Root of the empty tree: SHA-256 of the empty string."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def leaf_hash(entry: bytes) -> bytes:
    """Return the leaf hash ``SHA-256(0x00 || entry)``."""
    return hashlib.sha256(_LEAF_PREFIX + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the interior node hash ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """Largest power of two strictly less than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


# --------------------------------------------------------------------------------------------
# Roots


def root_from_hashes(hashes: Sequence[bytes]) -> bytes:
    """Return the tree root over leaf hashes ``hashes`` in O(n) hashing.

    Pairs neighbours level by level and carries an odd last node up unchanged, which yields
    exactly the left-balanced RFC 6962 tree.
    """
    if not hashes:
        return EMPTY_ROOT
    level = list(hashes)
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def root(leaves: Sequence[bytes]) -> bytes:
    """Return the Merkle tree hash of the entries ``leaves`` (``EMPTY_ROOT`` for none)."""
    return root_from_hashes([leaf_hash(entry) for entry in leaves])


def perfect_subtrees(start: int, end: int) -> list[tuple[int, int]]:
    """Split the RFC 6962 subtree ``[start, end)`` into perfect subtrees, largest first.

    ``[start, end)`` must be a subtree of some tree (``start`` a multiple of a power of two
    that is ``>= end - start``), as every range named by the plans is. The subtree's hash is
    the right fold of the parts' hashes, see ``root_from_perfect_subtrees``.
    """
    size = end - start
    if start < 0 or size <= 0:
        raise ValueError(f"not a non-empty range: [{start}, {end})")
    if start and start % (1 << (size - 1).bit_length()):
        raise ValueError(f"[{start}, {end}) is not a subtree of a Merkle tree")
    parts: list[tuple[int, int]] = []
    while size:
        width = 1 << (size.bit_length() - 1)
        parts.append((start, start + width))
        start += width
        size -= width
    return parts


def root_from_perfect_subtrees(hashes: Sequence[bytes]) -> bytes:
    """Combine the hashes of ``perfect_subtrees(start, end)`` into the hash of ``[start, end)``."""
    if not hashes:
        raise ValueError("no subtree hashes")
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


# --------------------------------------------------------------------------------------------
# Plans: which subtrees [start, end) a proof consists of, in proof order


def inclusion_plan(index: int, size: int) -> list[tuple[int, int]]:
    """Subtree ranges whose hashes form the inclusion proof of leaf ``index`` (RFC 6962 PATH).

    Ordered leaf-to-root, as in the proof. Raises ``ValueError`` unless ``0 <= index < size``.
    """
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} out of range for tree size {size}")
    plan: list[tuple[int, int]] = []
    lo, hi = 0, size
    while hi - lo > 1:
        mid = lo + _split(hi - lo)
        if index < mid:
            plan.append((mid, hi))
            hi = mid
        else:
            plan.append((lo, mid))
            lo = mid
    plan.reverse()
    return plan


def consistency_plan(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """Subtree ranges whose hashes form the consistency proof (RFC 6962 PROOF/SUBPROOF).

    Empty when ``old_size`` is 0 or equals ``new_size`` (see the module policy). Raises
    ``ValueError`` unless ``0 <= old_size <= new_size``.
    """
    if not 0 <= old_size <= new_size:
        raise ValueError(f"invalid consistency sizes: old {old_size}, new {new_size}")
    if old_size in (0, new_size):
        return []
    plan: list[tuple[int, int]] = []
    lo, hi = 0, new_size
    m = old_size
    complete = True  # the SUBPROOF flag b: is [lo, lo + m) a prefix whose root the verifier has?
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            plan.append((lo + k, hi))
            hi = lo + k
        else:
            plan.append((lo, lo + k))
            lo += k
            m -= k
            complete = False
    if not complete:
        plan.append((lo, hi))
    plan.reverse()
    return plan


# --------------------------------------------------------------------------------------------
# Proof generation


def _hash_ranges(hashes: Sequence[bytes], plan: list[tuple[int, int]]) -> list[bytes]:
    # The ranges of a plan are disjoint, so this is O(n) hashing in total.
    return [root_from_hashes(hashes[start:end]) for start, end in plan]


def inclusion_proof_from_hashes(hashes: Sequence[bytes], index: int) -> list[bytes]:
    """Return the inclusion proof of leaf ``index`` in the tree over leaf hashes ``hashes``."""
    return _hash_ranges(hashes, inclusion_plan(index, len(hashes)))


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """Return the RFC 9162 inclusion proof of entry ``index`` in the tree over ``leaves``.

    Raises ``ValueError`` unless ``0 <= index < len(leaves)``.
    """
    plan = inclusion_plan(index, len(leaves))
    return _hash_ranges([leaf_hash(entry) for entry in leaves], plan)


def consistency_proof_from_hashes(hashes: Sequence[bytes], old_size: int) -> list[bytes]:
    """Return the consistency proof from size ``old_size`` to the tree over leaf ``hashes``."""
    return _hash_ranges(hashes, consistency_plan(old_size, len(hashes)))


def consistency_proof(leaves: Sequence[bytes], old_size: int) -> list[bytes]:
    """Return the RFC 9162 consistency proof from the first ``old_size`` entries to all.

    ``[]`` when ``old_size`` is 0 or ``len(leaves)``. Raises ``ValueError`` unless
    ``0 <= old_size <= len(leaves)``.
    """
    plan = consistency_plan(old_size, len(leaves))
    return _hash_ranges([leaf_hash(entry) for entry in leaves], plan)


# --------------------------------------------------------------------------------------------
# Verification (RFC 9162 sections 2.1.3.2 and 2.1.4.2)


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == HASH_SIZE


def _is_size(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_path(proof: object) -> bool:
    return (
        isinstance(proof, Sequence)
        and not isinstance(proof, (bytes, str))
        and all(_is_hash(p) for p in proof)
    )


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` with ``root``.

    RFC 9162 section 2.1.3.2; ``False`` on any malformed input, never raises.
    """
    if not (_is_size(index) and _is_size(size) and index < size):
        return False
    if not (_is_hash(leaf_hash) and _is_hash(root) and _is_path(proof)):
        return False
    fn, sn = index, size - 1
    r = leaf_hash
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:  # shift until LSB(fn) is set or fn is 0
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Check that the tree of ``old_size`` with ``old_root`` is a prefix of ``new_root``'s tree.

    RFC 9162 section 2.1.4.2 plus the module policy for ``old_size`` 0 and equal sizes;
    ``False`` on any malformed input, never raises.
    """
    if not (_is_size(old_size) and _is_size(new_size) and old_size <= new_size):
        return False
    if not (_is_hash(old_root) and _is_hash(new_root) and _is_path(proof)):
        return False
    if old_size == 0:  # policy: the empty proof, from the true empty-tree root only
        return not proof and old_root == EMPTY_ROOT and (new_size > 0 or new_root == EMPTY_ROOT)
    if old_size == new_size:
        return not proof and old_root == new_root
    return _verify_consistency_path(old_size, new_size, old_root, new_root, proof)


def _verify_consistency_path(
    first: int, second: int, first_hash: bytes, second_hash: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 section 2.1.4.2, steps 1 to 7, for ``0 < first < second``."""
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # exact power of two: the old root is the first proof node
        path.insert(0, first_hash)
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
            while fn and not fn & 1:  # shift until LSB(fn) is set or fn is 0
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_hash and sr == second_hash and sn == 0
