"""Near-duplicate texts: MinHash signatures (datasketch) of word shingles, LSH buckets, clusters.

Two texts are near-duplicates when the Jaccard similarity of their sets of word 3-grams,
estimated from 128-permutation MinHash signatures, is at least the threshold (0.5 by default:
a copy that keeps about 90 % of the words in place, scattered edits included, scores about 0.57;
two different articles from one template score well under 0.2). Candidates come from LSH
banding with datasketch's parameters for the threshold (tilted towards recall), and every
candidate pair is checked against the threshold before it is reported.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "DEFAULT_THRESHOLD",
    "MinHasher",
    "NearPair",
    "clusters",
    "find_near_duplicates",
]

#: Estimated Jaccard similarity of word 3-gram sets at or above which two texts are linked.
DEFAULT_THRESHOLD = 0.5
_WORD = re.compile(r"\w+")
_MIX = np.uint64(0x100000001B3)
# Runs of one LSH bucket longer than this are checked as a chain, not every pair against every
# other (a text copied thousands of times would otherwise cost millions of comparisons).
_MAX_RUN = 64


@dataclass(frozen=True, slots=True)
class NearPair:
    """Two documents whose texts nearly match (``a < b``), with their estimated similarity."""

    a: int
    b: int
    similarity: float


def _identity(value: int) -> int:
    return value


#: datasketch's band layout (bands, rows) for the usual thresholds at 128 permutations, with the
#: weights used here (0.2 false positives, 0.8 false negatives); a test checks it against datasketch.
LSH_LAYOUTS: dict[tuple[float, int], tuple[int, int]] = {
    (0.3, 128): (42, 3),
    (0.4, 128): (31, 3),
    (0.5, 128): (30, 4),
    (0.6, 128): (23, 5),
    (0.7, 128): (18, 7),
    (0.8, 128): (12, 10),
    (0.9, 128): (7, 18),
}


class MinHasher:
    """Signatures, LSH buckets and similarity for one choice of parameters.

    Args:
        threshold: the estimated Jaccard similarity at which texts count as near-duplicates.
        num_perm: MinHash permutations (signature length).
        shingle: words per shingle.
        min_shingles: texts with fewer distinct shingles get no signature (too short to judge).
    """

    __slots__ = ("_perm", "bands", "min_shingles", "num_perm", "rows", "shingle", "threshold")

    def __init__(
        self,
        threshold: float = DEFAULT_THRESHOLD,
        *,
        num_perm: int = 128,
        shingle: int = 3,
        min_shingles: int = 5,
    ) -> None:
        """Prepare the permutations and the LSH band layout."""
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], not {threshold}")
        self.threshold = threshold
        self.num_perm = num_perm
        self.shingle = shingle
        self.min_shingles = min_shingles
        # datasketch imports SciPy (half a second): only when a text is signed here, or for a
        # band layout not in the table (linking signatures made in extraction workers needs neither).
        self._perm: Any = None
        layout = LSH_LAYOUTS.get((threshold, num_perm))
        if layout is None:
            from datasketch import MinHashLSH

            # datasketch picks bands × rows minimising weighted false positives and negatives at
            # the threshold; a missed duplicate costs more than a candidate checked and dropped.
            lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, weights=(0.2, 0.8))
            layout = (int(lsh.b), int(lsh.r))
        self.bands, self.rows = layout

    def shingles(self, text: str) -> np.ndarray:
        """The distinct 32-bit hashes of the text's word shingles (lowercased words)."""
        words = _WORD.findall(text.lower())
        if not words:
            return np.empty(0, dtype=np.uint32)
        hashes = np.fromiter((zlib.crc32(w.encode("utf-8")) for w in words), dtype=np.uint64, count=len(words))
        k = min(self.shingle, len(hashes))
        combined = hashes[: len(hashes) - k + 1].copy()
        for i in range(1, k):
            combined = combined * _MIX ^ hashes[i : len(hashes) - k + 1 + i]
        folded = (combined ^ (combined >> np.uint64(32))) & np.uint64(0xFFFFFFFF)
        return np.unique(folded.astype(np.uint32))

    def signature(self, text: str) -> np.ndarray | None:
        """The text's MinHash signature (``num_perm`` uint32), or None for a text too short."""
        shingles = self.shingles(text)
        if len(shingles) < self.min_shingles:
            return None
        from datasketch import MinHash

        if self._perm is None:
            self._perm = MinHash(num_perm=self.num_perm, seed=1, scheme="affine32").permutations
        minhash = MinHash(num_perm=self.num_perm, hashfunc=_identity, permutations=self._perm, scheme="affine32")
        minhash.update_batch(shingles.tolist())
        return np.asarray(minhash.hashvalues, dtype=np.uint32)

    @staticmethod
    def to_bytes(signature: np.ndarray) -> bytes:
        """Serialise a signature (little-endian uint32)."""
        return signature.astype("<u4").tobytes()

    def signature_bytes(self, text: str) -> bytes:
        """The signature as stored (``b""`` for a text too short to judge), e.g. computed ahead of
        time in an extraction worker and linked later by :func:`archive.duplicates.link_near_duplicates`."""
        signature = self.signature(text)
        return b"" if signature is None else self.to_bytes(signature)

    def from_bytes(self, data: bytes) -> np.ndarray:
        """Read a signature written by :meth:`to_bytes`.

        Raises:
            ValueError: when the bytes are not a signature of this length.
        """
        signature = np.frombuffer(data, dtype="<u4").astype(np.uint32)
        if len(signature) != self.num_perm:
            raise ValueError(f"a signature of {len(signature)} values, expected {self.num_perm}")
        return signature

    def buckets(self, signatures: np.ndarray) -> np.ndarray:
        """LSH bucket keys: one signed 64-bit key per band (the band's number is part of the key).

        Args:
            signatures: one signature, or a matrix of signatures (one per row).

        Returns:
            Keys shaped like the input's rows × ``bands``.
        """
        sigs = np.atleast_2d(signatures)[:, : self.bands * self.rows].astype(np.uint64)
        bands = sigs.reshape(len(sigs), self.bands, self.rows)
        keys = np.broadcast_to(np.arange(1, self.bands + 1, dtype=np.uint64), bands.shape[:2]).copy()
        for col in range(self.rows):
            keys = (keys * _MIX) ^ bands[:, :, col]
        keys ^= keys >> np.uint64(29)
        return keys.view(np.int64).reshape(sigs.shape[0], self.bands)

    @staticmethod
    def similarity(a: np.ndarray, b: np.ndarray) -> float:
        """The estimated Jaccard similarity of two signatures' texts."""
        return float(np.count_nonzero(a == b)) / len(a)


def _candidate_pairs(keys: np.ndarray) -> Iterable[tuple[int, int]]:
    """Pairs of row numbers that share at least one bucket (each pair possibly more than once)."""
    rows = np.repeat(np.arange(keys.shape[0]), keys.shape[1])
    flat = keys.ravel()
    order = np.argsort(flat, kind="stable")
    flat, rows = flat[order], rows[order]
    starts = np.flatnonzero(np.r_[True, flat[1:] != flat[:-1]])
    ends = np.r_[starts[1:], len(flat)]
    for start, end in zip(starts[ends - starts > 1], ends[ends - starts > 1], strict=True):
        members = np.unique(rows[start:end])
        if len(members) > _MAX_RUN:
            yield from zip(members[:-1].tolist(), members[1:].tolist(), strict=True)
            continue
        for i in range(len(members) - 1):
            for j in range(i + 1, len(members)):
                yield int(members[i]), int(members[j])


def find_near_duplicates(signatures: Mapping[int, np.ndarray], hasher: MinHasher) -> list[NearPair]:
    """Every pair of near-duplicate documents among the given signatures (all in memory).

    Args:
        signatures: signature by document id.
        hasher: the parameters (threshold, band layout) the signatures were made with.

    Returns:
        The pairs, ``a < b``, sorted.
    """
    if len(signatures) < 2:
        return []
    ids = np.fromiter(signatures, dtype=np.int64, count=len(signatures))
    matrix = np.stack([signatures[int(i)] for i in ids])
    found: dict[tuple[int, int], float] = {}
    for i, j in _candidate_pairs(hasher.buckets(matrix)):
        a, b = sorted((int(ids[i]), int(ids[j])))
        if (a, b) in found:
            continue
        similarity = hasher.similarity(matrix[i], matrix[j])
        if similarity >= hasher.threshold:
            found[(a, b)] = similarity
    return [NearPair(a, b, round(s, 4)) for (a, b), s in sorted(found.items())]


def clusters(pairs: Iterable[tuple[int, int]]) -> list[list[int]]:
    """Group linked documents into clusters (connected components).

    Args:
        pairs: links between document ids.

    Returns:
        Clusters of two or more ids, each sorted, largest first (then by smallest id).
    """
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = {}
    for node in parent:
        groups.setdefault(root(node), []).append(node)
    return sorted((sorted(g) for g in groups.values() if len(g) > 1), key=lambda g: (-len(g), g[0]))
