"""Duplicate and near-duplicate points, in the metric's own geometry.

Exact duplicates (:func:`unique_rows`) make every log-ratio estimator infinite, so the
protocol removes them first. What counts as a duplicate depends on the metric: under
``"cosine"`` two rows are the same point when their L2-normalised rows are equal (e.g. a row
and a positive multiple of it), since that is all the cosine distance sees. Deduplicating
the raw rows instead left such pairs in, at distance 0, and the estimate failed on data it
had just deduplicated.

Near-duplicates (:func:`near_duplicates`) are distinct but much closer to each other than
points are to their neighbours (repeated texts with a different last token, jittered
copies). They are not an error: each one gets a tiny first-neighbour distance, a huge
``log(R_k / R_1)`` and hence a small pointwise MLE, which the harmonic-mean combination
(``comb="mle"``) weights most (jittered copies of a tenth of the points pull the cosine MLE on a
sphere far down, the median combination much less: BENCHMARKS.md). The protocol reports them and
can drop them.
"""

from __future__ import annotations

import numpy as np

from idscaling.id.base import unit_rows

__all__ = ["unique_rows", "near_duplicates", "NEAR_DUPLICATE_TOL"]

# Rows canonicalised at once by unique_rows (float64: ~64 MB at 768 features).
_CANON_ROWS = 10_000

# A point is a near-duplicate when its nearest neighbour is closer than this fraction of the
# batch's median nearest-neighbour distance (both as lengths: the Euclidean distance, or the
# chord |u - v| = sqrt(2 (1 - cos)) of the unit rows). Why 1e-3: under the locally uniform
# (Poisson) model the estimators assume, P(R_1 < t median R_1) = 1 - 2^(-t^d) ~ t^d ln 2, so
# genuine points fall below t = 1e-3 with probability ~7e-4 on a curve (d = 1), ~7e-7 at
# d = 2 and never in practice above: the count measures duplication, not the data's spread.
# And a point that close to another distorts the estimate badly: it adds log(1/t) ~ 6.9 to
# the MLE's sum of log-ratios, which is ~ (k - 1) / d (~2.4 at d = 8, k = 20), so its
# pointwise estimate drops ~4x. Lower it for data with very close genuine neighbours.
NEAR_DUPLICATE_TOL = 1e-3


def _canonical(X: np.ndarray, metric: str) -> np.ndarray:
    """Rows whose byte-equality is equality of points in ``metric`` (cosine: unit rows),
    -0.0 turned into +0.0 so that equal values have equal bytes."""
    C = unit_rows(X) if metric == "cosine" else np.ascontiguousarray(X)
    if np.issubdtype(C.dtype, np.floating) and np.any((C == 0) & np.signbit(C)):
        C = C + C.dtype.type(0)  # -0.0 + 0.0 = +0.0
    return C


def unique_rows(X: np.ndarray, metric: str = "euclidean") -> np.ndarray:
    """Indices of the first occurrence of each distinct point, in input order.

    ``metric="euclidean"``: rows equal as values, the same result as
    ``np.unique(X, axis=0, return_index=True)`` (NaN excluded by the caller), by hashing
    rows (much faster: BENCHMARKS.md, bench/id_internals.py). ``metric="cosine"``: rows whose L2-normalised
    float64 rows (:func:`~idscaling.id.base.unit_rows`, the points the neighbour search
    uses) are equal, so positive multiples of a row are its duplicates; all-zero rows are
    refused by the caller.
    """
    X = np.asarray(X)
    n = X.shape[0]
    if n == 0:
        return np.empty(0, dtype=np.int64)

    def canon(rows: np.ndarray | slice) -> np.ndarray:
        return _canonical(X[rows], metric)

    hashes = np.empty(n, dtype=np.int64)
    for a in range(0, n, _CANON_ROWS):
        block = canon(slice(a, a + _CANON_ROWS))
        hashes[a : a + len(block)] = np.fromiter(
            (hash(row.tobytes()) for row in block), dtype=np.int64, count=len(block)
        )
    order = np.argsort(hashes, kind="stable")
    sorted_hashes = hashes[order]
    if not np.any(sorted_hashes[1:] == sorted_hashes[:-1]):
        return np.arange(n)
    duplicate = np.zeros(n, dtype=bool)
    # runs of equal hashes: compare the rows exactly (hash collisions are not duplicates)
    starts = np.flatnonzero(np.r_[True, sorted_hashes[1:] != sorted_hashes[:-1]])
    run_len = np.diff(np.r_[starts, n])
    for s, length in zip(starts[run_len > 1], run_len[run_len > 1]):
        members = order[s : s + length]  # ascending input order within a run (stable sort)
        seen: set[bytes] = set()
        for i, row in zip(members, canon(members)):
            key = row.tobytes()
            if key in seen:
                duplicate[i] = True
            else:
                seen.add(key)
    return np.flatnonzero(~duplicate)


def near_duplicates(
    distances: np.ndarray,
    idx: np.ndarray,
    metric: str,
    tol: float = NEAR_DUPLICATE_TOL,
    priority: np.ndarray | None = None,
) -> np.ndarray:
    """Which points are redundant near-copies of another point of the same batch.

    Two points are near-duplicates when one is among the other's k nearest neighbours at a
    length below ``tol`` times the batch's median nearest-neighbour length (see
    ``NEAR_DUPLICATE_TOL``). Each group of near-duplicates (a connected component of that
    relation) keeps one point, the one with the smallest ``priority`` (default: the row
    index; the protocol passes the input row, so that the earliest row is kept, as for
    exact duplicates); the others are flagged. So the count of flagged points is the number
    of points that dropping would remove: 1 for a jittered pair.

    Parameters
    ----------
    distances, idx : (n, k) arrays
        Sorted neighbour distances in ``metric`` and the neighbours' rows
        (:func:`~idscaling.id.knn_distances`).
    metric : {"euclidean", "cosine"}
    tol : float
        Relative threshold, > 0 (0 flags nothing).
    priority : (n,) array, optional

    Returns
    -------
    (n,) bool array, True for the redundant points.

    The median is the reference, so detection needs fewer than half of the points to be
    near-duplicates; a group larger than k + 1 is found as long as the k-NN links connect it.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    distances = np.asarray(distances, dtype=np.float64)
    n, k = distances.shape
    if not float(tol) >= 0.0:
        raise ValueError(f"near_duplicate_tol must be >= 0, got {tol!r}")
    lengths = np.sqrt(2.0 * distances) if metric == "cosine" else distances
    close = lengths < float(tol) * float(np.median(lengths[:, 0]))
    if not np.any(close):
        return np.zeros(n, dtype=bool)
    rows = np.broadcast_to(np.arange(n)[:, None], (n, k))[close]
    graph = coo_matrix((np.ones(rows.size), (rows, np.asarray(idx)[close])), shape=(n, n))
    _, label = connected_components(graph, directed=True, connection="weak")
    priority = np.arange(n) if priority is None else np.asarray(priority)
    # the kept point of each component: the smallest priority (ties: the first row)
    order = np.lexsort((np.arange(n), priority))
    keeper = np.full(label.max() + 1, -1)
    first = np.unique(label[order], return_index=True)[1]
    keeper[label[order][first]] = order[first]
    return keeper[label] != np.arange(n)
