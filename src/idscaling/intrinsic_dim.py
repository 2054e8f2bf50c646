"""Intrinsic dimension (ID) of a point cloud: Levina–Bickel MLE, TwoNN and TLE.

Two layers:

* Three scikit-learn style estimators, each numerically identical to its
  scikit-dimension 0.5.0 counterpart on the same points (the test-suite checks
  1e-6 relative agreement) but vectorised, with a choice of metric and with
  explicit errors for the degenerate cases where skdim silently returns
  ``inf``/``nan``:

  - :class:`MLE` — Levina & Bickel (2005) maximum likelihood on the k nearest
    neighbour distances of each point (``skdim.id.MLE``, ``neighborhood_based=True``,
    no noise model), combined over points as skdim does (``comb``);
  - :class:`TwoNN` — Facco et al. (2017): the ratios mu = r2 / r1 of second to
    first neighbour distances are Pareto(1, d); the largest ``discard_fraction``
    of them are dropped and d is the slope of the regression through the
    origin of -log(1 - F_emp(mu)) on log(mu) (``skdim.id.TwoNN``; its closed
    form maximum-likelihood variant ``method="mle"`` too);
  - :class:`TLE` — the Tight Local intrinsic dimensionality Estimator of
    Amsaleg et al. (2019, 2022), ``skdim.id.TLE`` (the variant with central
    measurements and reflections).

* :func:`estimate_id` — the paper's protocol (Havrilla & Liao 2024, authors'
  ``embeddings.py``) for any of the three: deduplicate, shuffle, split into
  consecutive batches of 3,600 points, fit the estimator on each batch
  (neighbours searched within the batch) and report the mean of the batch
  estimates; plus a percentile bootstrap confidence interval that the paper
  does not have.

Why TLE as the third estimator: it is the other *local* maximum-likelihood
estimator of skdim that users compare the MLE with, and it answers the MLE's
main weakness at the paper's small neighbourhoods (k = 20): the MLE uses only
the k distances from a point to its neighbours, TLE also uses the k(k-1)
distances among the neighbours (k² measurements per point), which lowers the
variance at the same k (in the skdim authors' benchmark, Bac et al. 2021, it
is among the most accurate estimators on the benchmark manifolds). It works
from the same exact k-NN search as the MLE, gives pointwise estimates (so the
same bootstrap as the MLE applies), and needs nothing but distances, so the
cosine metric carries over. The other candidates fit less well: lPCA is
linear (it overestimates curved manifolds and has no metric), CorrInt is
global and its bootstrap would need all pairwise distances, MOM and MADA use
the same k distances as the MLE with more variance.

Why the estimators are written here instead of calling skdim: skdim loops over
points in Python, has no metric argument (its neighbour search is always
Euclidean), silently ignores ``MLE(K=...)`` unless ``neighborhood_based=False``,
returns ``inf`` on duplicate rows, builds a full distance matrix for TwoNN in
more than 25 dimensions, and importing it pulls in numba (~5 s per process).
Only the closed-form estimators are ours; the neighbour search is
:func:`knn_distances` (below).

Neighbour search, :func:`knn_distances`: exact k nearest neighbours. The
default is scikit-learn's ``NearestNeighbors`` (float64). The opt-in
``method="blas"`` scores all pairs of a batch with one float32 BLAS
product on centred data (numpy computes ``A @ A.T`` as a symmetric rank-k
update), keeps for each point every other point whose float32 score is within
a *rigorous* float32 rounding-error bound of its k-th best, and recomputes the
distances of those candidates in float64 (about k of them: the bound is small
against the gaps between neighbour distances on real data). A point with too
many candidates (heavily tied or ill-conditioned data) is searched again in
float64 (counted in ``last_knn_fallback_rows``). So the result is the exact
k-NN up to ties and float64 rounding, like scikit-learn's brute force search
(``method="sklearn"``, the default and the reference); the test-suite checks 1e-9
agreement. ``method="faiss"`` (opt-in, needs ``faiss-cpu``) ranks with faiss's exact flat
index (``IndexFlatL2``, float32) and applies the same float64 refinement, with the same kind of
rounding-error certificate and float64 fallback. ``method="torch"`` does the float32 ranking
with a matmul and ``topk`` on the GPU (on the CPU without one), then the same refinement;
``method="auto"`` picks it when PyTorch sees a CUDA device, else scikit-learn's.
:func:`estimate_id` fits its batches in parallel threads.

Note on ``metric="cosine"``: the cosine *distance* ``1 - cos(theta)`` behaves
like ``theta**2 / 2`` for close neighbours. The MLE is invariant to scaling the
distances but not to powers of them: distances ``r**p`` divide the estimate by
``p``. On data whose *directions* fill a d-dimensional set, the cosine MLE is
therefore close to d / 2, not d (the Euclidean MLE on L2-normalised rows gives
~d); the same holds for TwoNN (mu is squared). This is what the authors' setting
(skdim MLE with cosine distance, K=20) measures, and it is kept as the default
for fidelity; use ``metric="euclidean"`` on normalised rows for the geometric
dimension. TLE also takes the cosine distance among neighbours; it is a
scale-dependent estimator (its ``epsilon`` is an absolute distance), so its
cosine values are not simply halved.
"""

from __future__ import annotations

import contextlib
import functools
import glob
import sys
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

__all__ = [
    "MLE", "TwoNN", "TLE", "estimate_id", "combine", "pointwise_mle", "pointwise_tle",
    "twonn_dimension", "knn_distances", "batch_indices",
    "METRICS", "COMBS", "ESTIMATORS", "TWONN_METHODS", "KNN_METHODS",
]

METRICS = ("euclidean", "cosine")
COMBS = ("mle", "mean", "median")
ESTIMATORS = ("mle", "twonn", "tle")
TWONN_METHODS = ("linear", "mle")
KNN_METHODS = ("auto", "blas", "faiss", "sklearn", "torch")

# The combination of pointwise estimates each local estimator uses by default
# (skdim's defaults: MLE.fit(comb="mle"), LocalEstimator.fit(comb="mean")).
DEFAULT_COMB = {"mle": "mle", "tle": "mean"}
DEFAULT_K = 20

# Largest number of float64 values materialised at once by the bootstrap
# (replicates x points of one batch): ~64 MB.
_BOOTSTRAP_CHUNK_ELEMENTS = 8_000_000
# Largest float32 block of the distance matrix held at once by the k-NN search (~64 MB).
_KNN_BLOCK_ELEMENTS = 16_000_000
_KNN_ROWS = 4096
# Largest float64 gather (points x neighbours x features) of the refinement / TLE steps
# (~5 MB: cache-sized chunks are 2-3x faster than large ones).
_GATHER_ELEMENTS = 600_000
# Refined squared distances below this fraction of |a|^2 + |b|^2 (centred) are
# recomputed from coordinate differences: the Gram identity loses relative accuracy
# there, and exact duplicates must come out as exactly 0.
_GRAM_RECOMPUTE = 1e-6

# Rows of the last knn_distances(method="blas", "faiss" or "torch") call that had too many float32 candidates
# and were searched again in float64 (diagnostics and tests; with estimate_id's parallel
# batches, whichever batch finished last).
last_knn_fallback_rows = 0


# --------------------------------------------------------------------------------------------
# combination and closed-form estimators
# --------------------------------------------------------------------------------------------

def combine(pointwise: np.ndarray, comb: str = "mle", axis: int = -1) -> np.ndarray | float:
    """Combine pointwise ID estimates the way ``skdim.id.MLE`` does.

    Parameters
    ----------
    pointwise : array of positive floats
        Pointwise estimates m_i.
    comb : {"mle", "mean", "median"}
        ``"mle"``: ``1 / mean(1 / m_i)`` (MacKay & Ghahramani; skdim's default and
        the authors' choice); ``"mean"``: arithmetic mean (Levina & Bickel);
        ``"median"``.
    axis : int
        Axis along which to combine.
    """
    pointwise = np.asarray(pointwise, dtype=np.float64)
    if comb == "mle":
        return 1.0 / np.mean(1.0 / pointwise, axis=axis)
    if comb == "mean":
        return np.mean(pointwise, axis=axis)
    if comb == "median":
        return np.median(pointwise, axis=axis)
    raise ValueError(f"comb must be one of {COMBS}, got {comb!r}")


def _check_distances(distances: np.ndarray, min_neighbours: int) -> np.ndarray:
    distances = np.asarray(distances, dtype=np.float64)
    if distances.ndim != 2 or distances.shape[1] < min_neighbours:
        raise ValueError(
            f"distances must be 2-D with at least {min_neighbours} neighbours per row, "
            f"got shape {distances.shape}"
        )
    if not np.all(np.isfinite(distances)):
        raise ValueError("neighbour distances contain NaN or inf")
    n_zero = int(np.count_nonzero(distances[:, 0] <= 0.0))
    if n_zero:
        raise ValueError(
            f"{n_zero} of {len(distances)} points have a nearest-neighbour distance of 0 "
            "(duplicate or numerically identical rows): the estimate would be infinite. "
            "Deduplicate the rows first (e.g. np.unique(X, axis=0)); estimate_id does this for you."
        )
    return distances


def pointwise_mle(distances: np.ndarray, unbiased: bool = False) -> np.ndarray:
    """Levina–Bickel pointwise estimates from sorted neighbour distances.

    ``m_i = (k - 1) / sum_{j=1..k} log(R_k / R_j)`` (``k - 2`` if ``unbiased``),
    where row i of ``distances`` holds R_1 <= ... <= R_k, the distances from
    point i to its k nearest other points. Same formula as skdim's
    ``_maxLikDimEstFromR_haro_approx`` without a noise model, vectorised.

    Raises
    ------
    ValueError
        If a nearest distance is zero (duplicate rows) or all k distances of a
        point are equal (the estimate would be infinite).
    """
    distances = _check_distances(distances, 2)
    k = distances.shape[1]
    kfac = k - 2 if unbiased else k - 1
    if kfac < 1:
        raise ValueError(f"unbiased=True needs k >= 3 neighbours, got k={k}")
    log_ratio_sum = np.sum(np.log(distances[:, -1:] / distances), axis=1)
    n_flat = int(np.count_nonzero(log_ratio_sum <= 0.0))
    if n_flat:
        raise ValueError(
            f"{n_flat} of {len(distances)} points have all k={k} neighbour distances equal: "
            "the MLE is infinite there (lattice-like or heavily tied data); try a larger k"
        )
    return kfac / log_ratio_sum


def twonn_dimension(mu: np.ndarray, discard_fraction: float = 0.1, method: str = "linear") -> np.ndarray | float:
    """TwoNN estimate from the ratios ``mu = r2 / r1`` (last axis = points).

    Exactly ``skdim.id.TwoNN`` (0.5.0) given the same ratios: with N ratios,
    keep the ``n = int(N * (1 - discard_fraction))`` smallest, F_i = i / N for the
    i-th smallest, and

    * ``method="linear"`` (Facco et al. 2017, skdim's default): the least-squares
      slope through the origin of ``y_i = -log(1 - F_i)`` on ``x_i = log(mu_(i))``,
      ``sum(x y) / sum(x^2)``;
    * ``method="mle"``: the unbiased maximum-likelihood estimate of the Pareto
      shape with the discarded ratios treated as censored,
      ``(n - 1) / (sum_{i<=n} x_i + (N - n) x_n)``.

    ``mu`` may be 2-D (replicates x points): one estimate per row.
    """
    mu = np.asarray(mu, dtype=np.float64)
    if method not in TWONN_METHODS:
        raise ValueError(f"method must be one of {TWONN_METHODS}, got {method!r}")
    if not 0.0 <= float(discard_fraction) < 1.0:
        raise ValueError(f"discard_fraction must be in [0, 1), got {discard_fraction!r}")
    n_total = mu.shape[-1]
    n_keep = int(n_total * (1 - discard_fraction))
    if n_keep < 2:
        raise ValueError(
            f"fewer than 2 ratios left to estimate the dimension ({n_total} points, "
            f"discard_fraction={discard_fraction})"
        )
    x = np.log(np.sort(mu, axis=-1)[..., :n_keep])
    if method == "mle":
        return (n_keep - 1) / (np.sum(x, axis=-1) + (n_total - n_keep) * x[..., -1])
    if n_keep == n_total:
        raise ValueError(
            "method='linear' needs discard_fraction > 0 with enough points to discard one: the largest "
            "ratio has F_emp = 1 and -log(1 - F) is infinite (skdim fails there too); use method='mle'"
        )
    y = -np.log(1.0 - np.arange(1, n_keep + 1) / n_total)
    return np.sum(x * y, axis=-1) / np.sum(x * x, axis=-1)


def pointwise_tle(distances: np.ndarray, pair_distances: np.ndarray, epsilon: float = 1e-4) -> np.ndarray:
    """Tight Local ID Estimator, pointwise (``skdim.id.TLE._idtle``, vectorised).

    Parameters
    ----------
    distances : (n, k) array
        Sorted distances from each point to its k nearest other points.
    pair_distances : (n, k, k) array
        ``pair_distances[i, a, b]``: distance between the a-th and b-th
        neighbours of point i (same metric), zero diagonal.
    epsilon : float
        Measurements and distances below it are dropped (skdim's default 1e-4;
        an absolute distance, so the estimator depends on the data's scale).

    Every branch of skdim's implementation is kept, in its order: rows of
    neighbours tied with the k-th distance, zero distances, the epsilon filter
    with NaN measurements dropped, and 0 when (almost) all measurements are
    equal.
    """
    D = np.asarray(distances, dtype=np.float64)
    V = np.asarray(pair_distances, dtype=np.float64)
    if D.ndim != 2 or D.shape[1] < 2:
        raise ValueError(f"distances must be 2-D with at least 2 neighbours per row, got shape {D.shape}")
    n, k = D.shape
    if V.shape != (n, k, k):
        raise ValueError(f"pair_distances must have shape {(n, k, k)}, got {V.shape}")
    if not (np.all(np.isfinite(D)) and np.all(np.isfinite(V))):
        raise ValueError("neighbour distances contain NaN or inf")
    r1 = D[:, -1]
    if np.any(r1 == 0):
        raise ValueError("all k-NN distances of a point are zero (duplicate rows): deduplicate first")
    eps = float(epsilon)
    off = ~np.eye(k, dtype=bool)
    r = r1[:, None, None]
    Di = np.broadcast_to(D[:, :, None], (n, k, k))
    Dj = np.broadcast_to(D[:, None, :], (n, k, k))
    with np.errstate(all="ignore"):
        Di2, Dj2, V2, r2 = Di ** 2, Dj ** 2, V ** 2, r ** 2
        Z2 = 2 * Di2 + 2 * Dj2 - V2
        den = 2 * (r2 - Di2)
        A = Di2 + V2 - Dj2
        S = r * (np.sqrt(A ** 2 + 4 * V2 * (r2 - Di2)) - A) / den
        B = Di2 + Z2 - Dj2
        T = r * (np.sqrt(B ** 2 + 4 * Z2 * (r2 - Di2)) - B) / den
        # neighbours at the k-th distance (always the last one): the limit of the formulas
        Dr = np.broadcast_to((D == r1[:, None])[:, :, None], (n, k, k))
        S = np.where(Dr, r * V2 / (r2 + V2 - Dj2), S)
        T = np.where(Dr, r * Z2 / (r2 + Z2 - Dj2), T)
        # boundary cases 2 and 3: a zero distance to the centre
        Di0 = Di == 0
        T = np.where(Di0, Dj, T)
        S = np.where(Di0, Dj, S)
        Dj0 = Dj == 0
        T = np.where(Dj0, r * V / (r + V), T)
        S = np.where(Dj0, r * V / (r + V), S)
        # boundary case 4: coinciding neighbours; both measurements are dropped
        V0 = (V == 0) & off
        T = np.where(V0, r, T)
        S = np.where(V0, r, S)
        n_v0 = V0.sum(axis=(1, 2))
        # drop measurements below epsilon and NaN ones (0/0 with duplicates)
        ts_eps = ((T < eps) | (S < eps) | np.isnan(T) | np.isnan(S)) & off
        n_ts_eps = ts_eps.sum(axis=(1, 2))
        T = np.where(ts_eps, r, T)
        S = np.where(ts_eps, r, S)
        T = np.where(off, np.log(T / r), 0.0)
        S = np.where(off, np.log(S / r), 0.0)
        s1t = T.sum(axis=(1, 2))
        s1s = S.sum(axis=(1, 2))
        # distances below epsilon are dropped (skdim drops the first n_deps of the sorted row)
        d_eps = D < eps
        n_d_eps = d_eps.sum(axis=1)
        s2 = np.where(d_eps, 0.0, np.log(D / r1[:, None])).sum(axis=1)
        est = -2.0 * (k * k - n_ts_eps - n_d_eps - n_v0) / (s1t + s1s + 2 * s2)
    # boundary case 5: (almost) all k-NN distances are equal
    return np.where(s1t + s1s > -eps, 0.0, est)


# --------------------------------------------------------------------------------------------
# exact k-nearest-neighbour search
# --------------------------------------------------------------------------------------------

def _search_points(X: np.ndarray, metric: str) -> np.ndarray:
    """float64 points whose Euclidean geometry gives the metric (cosine: unit rows)."""
    P = np.asarray(X, dtype=np.float64)
    if metric == "cosine":
        norms = np.sqrt(np.einsum("ij,ij->i", P, P))
        P = P / norms[:, None]
    return P


def _to_metric(d2: np.ndarray, metric: str) -> np.ndarray:
    """Squared Euclidean distances of the search points -> distances in ``metric``.

    For unit vectors ``|a - b|^2 / 2 = 1 - cos(a, b)``: scikit-learn's cosine distance.
    """
    return np.sqrt(d2) if metric == "euclidean" else 0.5 * d2


def _exact_sq_dist(Pc: np.ndarray, sq: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """float64 squared distances between Pc[rows[i]] and Pc[cols[i, j]].

    Gram identity on centred points; entries small against the norms (where it
    loses relative accuracy, and exact duplicates, which must give 0) are
    recomputed from coordinate differences.
    """
    n_rows, c = cols.shape
    out = np.empty((n_rows, c))
    step = max(1, _GATHER_ELEMENTS // max(1, c * Pc.shape[1]))
    for a in range(0, n_rows, step):
        r = rows[a:a + step]
        cc = cols[a:a + step]
        dots = np.matmul(Pc[cc], Pc[r][:, :, None])[:, :, 0]
        out[a:a + step] = sq[r][:, None] + sq[cc] - 2.0 * dots
    scale = sq[rows][:, None] + sq[cols]
    small = np.nonzero(out <= _GRAM_RECOMPUTE * scale)
    if small[0].size:
        diff = Pc[rows[small[0]]] - Pc[cols[small]]
        out[small] = np.einsum("ij,ij->i", diff, diff)
    return out


def _candidates(M: np.ndarray, c: int) -> np.ndarray:
    """Columns of the c smallest entries per row (the diagonal holds +inf)."""
    n_cols = M.shape[1]
    if c >= n_cols - 1:  # every other point
        return np.argsort(M, axis=1)[:, :n_cols - 1]
    return np.argpartition(M, c, axis=1)[:, :c]


def _select(Pc: np.ndarray, sq: np.ndarray, rows: np.ndarray, cand: np.ndarray, k: int,
            valid: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest of each row's candidates, by exact float64 distance (invalid ones excluded)."""
    d2 = np.maximum(_exact_sq_dist(Pc, sq, rows, cand), 0.0)
    if valid is not None:
        d2[~valid] = np.inf
    order = np.argsort(d2, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(d2, order, axis=1), np.take_along_axis(cand, order, axis=1)


def _within_bound(H: np.ndarray, rows: np.ndarray, k: int, slack: np.ndarray, cap: int):
    """Per row, every column whose float32 score is within ``slack`` of the k-th smallest.

    Returns (candidates, valid, ok): (r, w) padded column indices (padding: the row's own
    index, flagged invalid) and the rows whose candidate count fits in ``cap``.
    """
    kth = np.partition(H, k - 1, axis=1)[:, k - 1]
    # flatnonzero + divmod: several times faster than 2-D nonzero
    r_nz, c_nz = np.divmod(np.flatnonzero(H <= (kth + slack)[:, None]), H.shape[1])
    counts = np.bincount(r_nz, minlength=rows.size)
    ok = counts <= cap
    if not np.all(ok):
        keep = ok[r_nz]
        r_nz, c_nz = r_nz[keep], c_nz[keep]
        counts = np.where(ok, counts, 0)
    width = max(int(counts.max()), k) if counts.size else k
    starts = np.cumsum(counts) - counts
    pos = np.arange(r_nz.size) - starts[r_nz]
    cand = np.broadcast_to(rows[:, None], (rows.size, width)).copy()
    valid = np.zeros((rows.size, width), dtype=bool)
    cand[r_nz, pos] = c_nz
    valid[r_nz, pos] = True
    return cand, valid, ok


def _knn_blas(X: np.ndarray, k: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Exact k-NN: float32 BLAS scores, float64 refinement of every candidate the float32
    rounding error cannot rule out (see below), float64 search for rows with too many."""
    global last_knn_fallback_rows
    P = _search_points(X, metric)
    n, dim = P.shape
    Pc = P - P.mean(axis=0)  # centring: the float32 error scales with the norms
    sq = np.einsum("ij,ij->i", Pc, Pc)
    A = Pc.astype(np.float32)
    half = np.float32(0.5) * np.einsum("ij,ij->i", A, A)  # float32 |a_j|^2 / 2 (exact halving)
    normA = np.sqrt(np.einsum("ij,ij->i", A, A, dtype=np.float64))
    # Score H_ij = fl(|a_j|^2/2 - a_i.a_j): for the true points, (|p_i - p_j|^2 - |a_i|^2) / 2
    # differs from H_ij by at most E_i / 2 with E_i bounding: rounding the centred points to
    # float32 (2u(|a_i|+|a_j|)^2), float32 dot products and norms (gamma_D |a_i||a_j| in any
    # summation order) and one subtraction; factors kept generous. A column j whose score
    # exceeds the row's k-th smallest score by more than E_i is then provably farther than k
    # other points: every other column is a candidate, refined exactly in float64.
    u = 2.0 ** -24
    gamma = dim * u / (1.0 - dim * u)
    slack = 1.01 * (gamma + 6.0 * u) * (normA + normA.max()) ** 2
    cap = min(n - 1, 2 * k + 8)
    dist = np.empty((n, k))
    idx = np.empty((n, k), dtype=np.int64)
    failed: list[np.ndarray] = []
    step = max(1, min(_KNN_ROWS, _KNN_BLOCK_ELEMENTS // n))
    for start in range(0, n, step):
        rows = np.arange(start, min(n, start + step))
        # A @ A.T is computed by numpy as one symmetric rank-k update (syrk): half the work
        H = A @ A.T if rows.size == n else A[rows] @ A.T
        np.subtract(half[None, :], H, out=H)
        H[np.arange(rows.size), rows] = np.inf
        cand, valid, ok = _within_bound(H, rows, k, slack[rows].astype(np.float32), cap)
        del H
        d2, nb = _select(Pc, sq, rows, cand, k, valid)
        dist[rows[ok]] = d2[ok]
        idx[rows[ok]] = nb[ok]
        if not np.all(ok):
            failed.append(rows[~ok])
    bad = np.concatenate(failed) if failed else np.empty(0, dtype=np.int64)
    last_knn_fallback_rows = int(bad.size)
    _search_float64(Pc, sq, bad, k, dist, idx)
    return _to_metric(dist, metric), idx


def _search_float64(Pc: np.ndarray, sq: np.ndarray, bad: np.ndarray, k: int, dist: np.ndarray,
                    idx: np.ndarray) -> None:
    """Fill rows ``bad`` of (dist, idx) by a float64 ranking (the accuracy of scikit-learn's
    brute force) and the same exact refinement: the fallback of the float32 searches."""
    n = Pc.shape[0]
    c = min(n - 1, k + max(4, k // 4))
    step = max(1, min(_KNN_ROWS, _KNN_BLOCK_ELEMENTS // n))
    for start in range(0, bad.size, step):
        rows = bad[start:start + step]
        M = sq[None, :] - 2.0 * (Pc[rows] @ Pc.T)
        M[np.arange(rows.size), rows] = np.inf
        cand = _candidates(M, c)
        del M
        dist[rows], idx[rows] = _select(Pc, sq, rows, cand, k)


def _import_faiss():
    try:
        import faiss
    except ImportError:
        raise ImportError("knn method 'faiss' needs the faiss-cpu package (pip install faiss-cpu==1.15.1)") from None
    return faiss


def _knn_faiss(X: np.ndarray, k: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Exact k-NN through faiss's exact flat index: float32 ranking of k + margin candidates,
    float64 refinement, certificate, float64 search of the rows it cannot certify.

    Why it exists: it hands the float32 ranking (product and top-k selection, fused in C++
    and blocked) to a well-kept library instead of the hand-written selection of
    ``method="blas"``; same exactness guarantee, fewer float64 candidates (k + margin).
    Cosine uses ``IndexFlatL2`` on the centred unit rows rather than ``IndexFlatIP`` on the
    unit rows: the same ranking (|a - b|^2 = 2 - 2 cos), but centring shrinks the float32
    rounding error (it scales with the norms) and one certificate covers both metrics.
    On CPU, ``torch.mm`` + ``torch.topk`` (float32) was measured slower than this on a
    3,600 x 768 batch (0.34 s vs 0.23 s, one thread), with the same exactness work; the
    ``"torch"`` method (:func:`_knn_torch`) is for a CUDA device.
    """
    faiss = _import_faiss()
    Pc, sq, A, normA = _centred_float32(X, metric)
    n, dim = A.shape
    c = _ranked_width(n, k)
    index = faiss.IndexFlatL2(dim)
    index.add(A)
    D, I = index.search(A, c)  # float32 squared distances, ascending; -1 only if c > n
    del index
    return _refine_ranked(Pc, sq, normA, D, I, k, metric)


def _centred_float32(X: np.ndarray, metric: str):
    """(float64 centred search points, their squared norms, the float32 copy, its norms):
    centring shrinks the float32 rounding error of the rankings (it scales with the norms)."""
    P = _search_points(X, metric)
    Pc = P - P.mean(axis=0)
    sq = np.einsum("ij,ij->i", Pc, Pc)
    A = np.ascontiguousarray(Pc, dtype=np.float32)
    normA = np.sqrt(np.einsum("ij,ij->i", A, A, dtype=np.float64))
    return Pc, sq, A, normA


def _ranked_width(n: int, k: int) -> int:
    """Results per row of the float32 rankings: k + margin, + 1 as the row itself may be one."""
    return min(n, k + max(4, k // 4) + 1)


def _refine_ranked(Pc: np.ndarray, sq: np.ndarray, normA: np.ndarray, D: np.ndarray, I: np.ndarray, k: int,
                   metric: str) -> tuple[np.ndarray, np.ndarray]:
    """From a float32 ranking (D: squared distances of the float32 centred points, ascending per
    row; I: their columns, -1 for none; a row's own index is ignored) to the exact k-NN: float64
    refinement of the candidates the float32 error cannot rule out, certificate, float64 search
    of the rows it cannot certify. D's float32 error must be within the bound below."""
    global last_knn_fallback_rows
    n, c = D.shape
    dim = Pc.shape[1]
    rows = np.arange(n)
    valid = (I != rows[:, None]) & (I >= 0)
    # Error bound. faiss's or torch's float32 squared distance (|a|^2 + |b|^2 - 2 a.b with BLAS, or
    # summed squared differences, any summation order) of the float32-rounded centred points differs
    # from the float64 one by at most (gamma_D + 5u)(|a_i| + |a_j|)^2 (rounding the points,
    # the dot product and norms, the additions): E_i below, with a factor 2 for generosity.
    u = 2.0 ** -24
    gamma = dim * u / (1.0 - dim * u)
    bound = 2.02 * (gamma + 6.0 * u) * (normA + normA.max()) ** 2
    D = D.astype(np.float64)
    # Only candidates within 2 E_i of the k-th valid float32 distance can be among the k nearest
    # (k others are provably nearer than the rest): refine those, a prefix of each sorted row.
    kth = np.partition(np.where(valid, D, np.inf), k - 1, axis=1)[:, k - 1]
    valid &= D <= (kth + 2.0 * bound)[:, None]
    width = max(k, int(np.max(np.flatnonzero(valid.any(axis=0)), initial=0)) + 1)
    valid = valid[:, :width]
    cand = np.where(valid, I[:, :width], rows[:, None]).astype(np.int64)
    dist, idx = _select(Pc, sq, rows, cand, k, valid)
    # Certificate: a point that the ranking did not return has a float32 distance >= D[:, -1], so a
    # true one >= D[:, -1] - E_i; if the exact k-th distance found is no larger, no point left
    # out can be nearer. Rows that fail are searched again in float64.
    if c < n:
        bad = np.flatnonzero(~(dist[:, -1] <= D[:, -1] - bound))
    else:  # every other point was a candidate
        bad = np.empty(0, dtype=np.int64)
    last_knn_fallback_rows = int(bad.size)
    _search_float64(Pc, sq, bad, k, dist, idx)
    return _to_metric(dist, metric), idx


def _torch_device():
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@contextlib.contextmanager
def _ieee_float32_matmul():
    """Full float32 matmuls (no TF32 on the GPU, no bf16 on oneDNN) inside: the rounding-error
    bound of the certificate assumes them. Only settings that are not already IEEE are touched
    (and restored), through torch's per-backend ``fp32_precision``."""
    import torch

    default = getattr(torch.backends, "fp32_precision", "none")
    changed = {}
    for backend in (torch.backends.cuda.matmul, torch.backends.mkldnn.matmul):
        value = backend.fp32_precision
        if (default if value == "none" else value) not in ("ieee", "none"):
            changed[backend] = value
            backend.fp32_precision = "ieee"
    try:
        yield
    finally:
        for backend, value in changed.items():
            backend.fp32_precision = value


def _knn_torch(X: np.ndarray, k: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Exact k-NN with the float32 ranking on the torch device (CUDA when available, else CPU):
    blocks of rows, squared distances |a_i|^2 + |a_j|^2 - 2 a_i.a_j from one float32 matmul
    against all points, ``torch.topk`` of the k + margin smallest; then on the host the float64
    refinement, certificate and float64 fallback of ``method="faiss"`` (:func:`_refine_ranked`).
    Only the (n, k + margin) ranking comes back from the device."""
    import torch

    Pc, sq, A, normA = _centred_float32(X, metric)
    n = A.shape[0]
    c = _ranked_width(n, k)
    device = _torch_device()
    step = max(1, min(_KNN_ROWS, _KNN_BLOCK_ELEMENTS // n))
    with torch.inference_mode(), _ieee_float32_matmul():
        At = torch.from_numpy(A).to(device)
        norms = (At * At).sum(dim=1)
        D, I = [], []
        for start in range(0, n, step):
            stop = min(n, start + step)
            S = (norms[start:stop, None] + norms[None, :]) - 2.0 * (At[start:stop] @ At.T)
            S[torch.arange(stop - start, device=device), torch.arange(start, stop, device=device)] = torch.inf
            d, i = torch.topk(S, c, dim=1, largest=False, sorted=True)
            D.append(d)
            I.append(i)
            del S
        D = torch.cat(D).cpu().numpy()
        I = torch.cat(I).cpu().numpy()
    return _refine_ranked(Pc, sq, normA, D, I, k, metric)


def _knn_sklearn(X: np.ndarray, k: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.neighbors import NearestNeighbors

    algorithm = "brute" if metric == "cosine" else "auto"
    X = np.asarray(X, dtype=np.float64)
    nn = NearestNeighbors(n_neighbors=k, metric=metric, algorithm=algorithm).fit(X)
    # kneighbors() without X excludes each query point from its own neighbours.
    dist, idx = nn.kneighbors(return_distance=True)
    if metric == "euclidean":
        # Brute force uses |a|^2 + |b|^2 - 2ab, which leaves ~1e-8 where the distance is 0 (duplicates)
        # and loses relative precision for close pairs; recompute the k found distances directly.
        step = max(1, _GATHER_ELEMENTS // (k * X.shape[1]))
        for a in range(0, len(X), step):
            diff = X[idx[a : a + step]] - X[a : a + step, None, :]
            dist[a : a + step] = np.sqrt(np.einsum("nkd,nkd->nk", diff, diff))
        order = np.argsort(dist, axis=1, kind="stable")
        dist, idx = np.take_along_axis(dist, order, 1), np.take_along_axis(idx, order, 1)
    return dist, idx


def knn_distances(X: np.ndarray, k: int, metric: str, method: str = "auto") -> tuple[np.ndarray, np.ndarray]:
    """Sorted distances and indices of the k nearest *other* rows of ``X`` (exact).

    Parameters
    ----------
    X : (n, D) array, n > k; for ``"cosine"`` no all-zero rows.
    k : int
    metric : {"euclidean", "cosine"}
        ``"cosine"`` is scikit-learn's ``1 - cos``.
    method : {"auto", "sklearn", "blas", "faiss", "torch"}
        ``"auto"`` (the default): ``"torch"`` when PyTorch sees a CUDA device, else
        ``"sklearn"``. ``"sklearn"``: scikit-learn's
        ``NearestNeighbors`` in float64 (brute force for cosine), the well-kept
        library route and the reference. ``"blas"`` (opt-in): float32 BLAS scores
        with float64 refinement of every candidate the float32 rounding error cannot
        rule out (see the module docstring); it exists because numpy computes a
        batch's Gram matrix as a symmetric product (half the float32 work of a
        general one), ~2x faster than sklearn on 768-wide embeddings on 2 cores.
        ``"faiss"`` (opt-in, needs ``faiss-cpu``): faiss's exact ``IndexFlatL2``
        ranks k + margin candidates in float32, refined and certified the same way
        (see :func:`_knn_faiss`); it exists as the library-backed fast route.
        ``"torch"``: float32 matmul + ``topk`` ranking on the GPU (CPU without one),
        refined and certified as ``"faiss"`` (see :func:`_knn_torch`). All
        are exact; they can differ only in the order of tied neighbours and in the
        last float64 digits.

    Returns
    -------
    distances : (n, k) float64, ascending per row
    indices : (n, k) int64
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    if method not in KNN_METHODS:
        raise ValueError(f"method must be one of {KNN_METHODS}, got {method!r}")
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[0] <= k:
        raise ValueError(f"need a 2-D array with more than k={k} rows, got shape {X.shape}")
    method = _resolve_knn_method(method)
    if method == "blas":
        return _knn_blas(X, k, metric)
    if method == "faiss":
        return _knn_faiss(X, k, metric)
    if method == "torch":
        return _knn_torch(X, k, metric)
    return _knn_sklearn(X, k, metric)


@functools.lru_cache(maxsize=1)
def _cuda_available() -> bool:
    """Whether PyTorch sees a CUDA device. Without an NVIDIA device file torch is not imported
    (that alone takes ~1.5 s)."""
    if "torch" not in sys.modules and not glob.glob("/dev/nvidia[0-9]*"):
        return False
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def _resolve_knn_method(method: str) -> str:
    """``"auto"``: ``"torch"`` with a CUDA device, else ``"sklearn"``; other names unchanged."""
    if method != "auto":
        return method
    return "torch" if _cuda_available() else "sklearn"


def _neighbour_pair_distances(X: np.ndarray, idx: np.ndarray, metric: str) -> np.ndarray:
    """(n, k, k) distances between the neighbours of each point, in ``metric``."""
    P = _search_points(X, metric)
    n, k = idx.shape
    out = np.empty((n, k, k))
    step = max(1, _GATHER_ELEMENTS // (k * P.shape[1]))
    diag = np.arange(k)
    for a in range(0, n, step):
        nb = idx[a:a + step]
        Y = P[nb] - P[a:a + step][:, None, :]  # neighbours relative to their centre point
        G = np.matmul(Y, Y.transpose(0, 2, 1))
        g = G[:, diag, diag]
        d2 = g[:, :, None] + g[:, None, :] - 2.0 * G
        small = np.nonzero(d2 <= _GRAM_RECOMPUTE * (g[:, :, None] + g[:, None, :]))
        if small[0].size:
            diff = P[nb[small[0], small[1]]] - P[nb[small[0], small[2]]]
            d2[small] = np.einsum("ij,ij->i", diff, diff)
        d2 = np.maximum(d2, 0.0)
        d2[:, diag, diag] = 0.0
        out[a:a + step] = d2
    return _to_metric(out, metric)


# --------------------------------------------------------------------------------------------
# estimators
# --------------------------------------------------------------------------------------------

def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _validate_points(X: Any, metric: str, min_points: int, what: str) -> np.ndarray:
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    # float64 on purpose: float32 cosine distances of close neighbours lose
    # most of their digits, and the estimators take logs of distance ratios.
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}")
    if X.shape[0] < min_points:
        raise ValueError(f"need more than {what}, got {X.shape[0]}")
    if not np.all(np.isfinite(X)):
        raise ValueError("X contains NaN or inf")
    if metric == "cosine":
        n_zero_rows = int(np.count_nonzero(~np.any(X != 0.0, axis=1)))
        if n_zero_rows:
            raise ValueError(f"{n_zero_rows} all-zero rows: the cosine distance is undefined for them")
    return X


class MLE(BaseEstimator):
    """Levina–Bickel maximum-likelihood intrinsic dimension estimator.

    Parameters
    ----------
    k : int, default=20
        Number of nearest neighbours (the point itself excluded). Equivalent to
        ``skdim.id.MLE().fit(X, n_neighbors=k)``.
    metric : {"euclidean", "cosine"}, default="euclidean"
        Neighbour distance; ``"cosine"`` is scikit-learn's ``1 - cos`` (see the
        module docstring: it roughly halves the estimate compared with angles).
    comb : {"mle", "mean", "median"}, default="mle"
        How pointwise estimates are combined (see :func:`combine`).
    unbiased : bool, default=False
        Use ``k - 2`` instead of ``k - 1`` in the numerator.

    Attributes
    ----------
    dimension_ : float
        Combined estimate.
    dimension_pw_ : ndarray of shape (n_samples,)
        Pointwise estimates.
    n_neighbors_ : int
        Neighbours used (= k).
    """

    def __init__(self, k: int = 20, metric: str = "euclidean", comb: str = "mle", unbiased: bool = False):
        self.k = k
        self.metric = metric
        self.comb = comb
        self.unbiased = unbiased

    def _validate(self, X: Any) -> np.ndarray:
        if self.metric not in METRICS:
            raise ValueError(f"metric must be one of {METRICS}, got {self.metric!r}")
        if self.comb not in COMBS:
            raise ValueError(f"comb must be one of {COMBS}, got {self.comb!r}")
        k = _check_int("k", self.k, 2)
        return _validate_points(X, self.metric, k + 1, f"k={k} points to find k neighbours per point")

    def fit(self, X: Any, y: None = None) -> "MLE":
        """Estimate the intrinsic dimension of the rows of ``X``.

        Neighbours are exact (:func:`knn_distances`), searched among the rows of
        ``X`` with each point excluded from its own neighbourhood.
        """
        X = self._validate(X)
        distances, _ = knn_distances(X, int(self.k), self.metric)
        self.dimension_pw_ = pointwise_mle(distances, unbiased=self.unbiased)
        self.dimension_ = float(combine(self.dimension_pw_, self.comb))
        self.n_neighbors_ = int(self.k)
        return self

    def fit_transform(self, X: Any, y: None = None) -> float:
        """Fit and return ``dimension_`` (skdim convention)."""
        return self.fit(X).dimension_


class TwoNN(BaseEstimator):
    """TwoNN intrinsic dimension estimator (Facco et al. 2017), as ``skdim.id.TwoNN``.

    Parameters
    ----------
    discard_fraction : float, default=0.1
        Fraction of the largest ratios mu = r2 / r1 dropped before the fit
        (skdim's default; a heuristic of the paper against noise).
    metric : {"euclidean", "cosine"}, default="euclidean"
        Neighbour distance (cosine: mu is about squared, the estimate about halved).
    method : {"linear", "mle"}, default="linear"
        See :func:`twonn_dimension`.

    Only the first two neighbours of each point are searched (exactly, with
    :func:`knn_distances`); skdim builds all pairwise distances above 25 features.

    Attributes
    ----------
    dimension_ : float
    mu_ : ndarray of shape (n_samples,)
        r2 / r1 for every point (before discarding).
    """

    def __init__(self, discard_fraction: float = 0.1, metric: str = "euclidean", method: str = "linear"):
        self.discard_fraction = discard_fraction
        self.metric = metric
        self.method = method

    def fit(self, X: Any, y: None = None) -> "TwoNN":
        if self.method not in TWONN_METHODS:
            raise ValueError(f"method must be one of {TWONN_METHODS}, got {self.method!r}")
        if not 0.0 <= float(self.discard_fraction) < 1.0:
            raise ValueError(f"discard_fraction must be in [0, 1), got {self.discard_fraction!r}")
        X = _validate_points(X, self.metric, 3, "2 points to find 2 neighbours per point")
        distances, _ = knn_distances(X, 2, self.metric)
        self.mu_ = _twonn_ratios(distances)
        self.dimension_ = float(twonn_dimension(self.mu_, self.discard_fraction, self.method))
        return self

    def fit_transform(self, X: Any, y: None = None) -> float:
        return self.fit(X).dimension_


def _twonn_ratios(distances: np.ndarray) -> np.ndarray:
    distances = _check_distances(distances, 2)
    mu = distances[:, 1] / distances[:, 0]
    if np.all(mu == 1.0):
        raise ValueError("every point's first and second neighbours are equidistant: TwoNN is undefined")
    return mu


class TLE(BaseEstimator):
    """Tight Local intrinsic dimensionality Estimator (Amsaleg et al.), as ``skdim.id.TLE``.

    Parameters
    ----------
    k : int, default=20
        Neighbours per point (skdim's ``fit(n_neighbors=...)``, default 20).
    metric : {"euclidean", "cosine"}, default="euclidean"
        Used for the distances to the neighbours *and* among them.
    comb : {"mean", "median", "mle"}, default="mean"
        Combination of the pointwise estimates (skdim's default for TLE: mean;
        "mle" is the harmonic mean, needs positive pointwise estimates).
    epsilon : float, default=1e-4
        skdim's threshold below which measurements are dropped (absolute).

    Attributes
    ----------
    dimension_ : float
    dimension_pw_ : ndarray of shape (n_samples,)
    n_neighbors_ : int
    """

    def __init__(self, k: int = 20, metric: str = "euclidean", comb: str = "mean", epsilon: float = 1e-4):
        self.k = k
        self.metric = metric
        self.comb = comb
        self.epsilon = epsilon

    def fit(self, X: Any, y: None = None) -> "TLE":
        if self.comb not in COMBS:
            raise ValueError(f"comb must be one of {COMBS}, got {self.comb!r}")
        if not float(self.epsilon) >= 0.0:
            raise ValueError(f"epsilon must be >= 0, got {self.epsilon!r}")
        k = _check_int("k", self.k, 2)
        X = _validate_points(X, self.metric, k + 1, f"k={k} points to find k neighbours per point")
        distances, idx = knn_distances(X, k, self.metric)
        self.dimension_pw_ = _tle_pointwise(X, distances, idx, self.metric, float(self.epsilon))
        self.dimension_ = float(_combine_checked(self.dimension_pw_, self.comb))
        self.n_neighbors_ = k
        return self

    def fit_transform(self, X: Any, y: None = None) -> float:
        return self.fit(X).dimension_


def _tle_pointwise(X: np.ndarray, distances: np.ndarray, idx: np.ndarray, metric: str, epsilon: float) -> np.ndarray:
    distances = _check_distances(distances, 2)
    return pointwise_tle(distances, _neighbour_pair_distances(X, idx, metric), epsilon)


def _combine_checked(pointwise: np.ndarray, comb: str) -> float:
    if comb == "mle" and np.any(pointwise <= 0):
        raise ValueError(
            f"comb='mle' (harmonic mean) needs positive pointwise estimates; "
            f"{int(np.count_nonzero(pointwise <= 0))} are <= 0: use comb='mean' or 'median'"
        )
    return float(combine(pointwise, comb))


# --------------------------------------------------------------------------------------------
# the paper's protocol
# --------------------------------------------------------------------------------------------

def _batch_bounds(n: int, batch_size: int, k: int) -> list[tuple[int, int]]:
    """Consecutive [start, stop) batches following the protocol in :func:`estimate_id`."""
    if n < batch_size:
        return [(0, n)]
    n_full = n // batch_size
    bounds = [(i * batch_size, (i + 1) * batch_size) for i in range(n_full)]
    rest = n - n_full * batch_size
    if rest >= batch_size // 2 and rest > k:
        bounds.append((n_full * batch_size, n))
    return bounds


def _unique_rows(X: np.ndarray) -> np.ndarray:
    """Indices of the first occurrence of each distinct row, in input order.

    Same result as ``np.unique(X, axis=0, return_index=True)`` (rows equal as
    values; NaN excluded by the caller), by hashing rows: 5x faster on 200,000 x 768.
    """
    X = np.ascontiguousarray(X)
    n = X.shape[0]
    if n == 0:
        return np.empty(0, dtype=np.int64)
    if np.issubdtype(X.dtype, np.floating) and np.any((X == 0) & np.signbit(X)):
        X = X + X.dtype.type(0)  # -0.0 + 0.0 = +0.0: equal values get equal bytes
    hashes = np.fromiter((hash(row.tobytes()) for row in X), dtype=np.int64, count=n)
    order = np.argsort(hashes, kind="stable")
    sorted_hashes = hashes[order]
    same = np.flatnonzero(sorted_hashes[1:] == sorted_hashes[:-1])
    if same.size == 0:
        return np.arange(n)
    duplicate = np.zeros(n, dtype=bool)
    # runs of equal hashes: compare the rows exactly (hash collisions are not duplicates)
    starts = np.flatnonzero(np.r_[True, sorted_hashes[1:] != sorted_hashes[:-1]])
    run_len = np.diff(np.r_[starts, n])
    for s, length in zip(starts[run_len > 1], run_len[run_len > 1]):
        seen: dict[bytes, int] = {}
        for i in order[s:s + length]:  # ascending input order within a run (stable sort)
            key = X[i].tobytes()
            if key in seen:
                duplicate[i] = True
            else:
                seen[key] = int(i)
    return np.flatnonzero(~duplicate)


def batch_indices(X: np.ndarray, batch_size: int = 3600, k: int = DEFAULT_K, seed: int = 0) -> tuple[list[np.ndarray], int]:
    """Row indices of the batches :func:`estimate_id` fits, and the number of distinct rows.

    Deduplicate (first occurrences), shuffle with ``default_rng(seed)``, cut into
    consecutive batches (see :func:`estimate_id` for the partial last batch).
    Public so that a comparison (e.g. skdim on the same batches) can reuse them.
    """
    keep = _unique_rows(np.asarray(X))
    rng = np.random.default_rng(seed)
    order = keep[rng.permutation(keep.size)]
    return [order[a:b] for a, b in _batch_bounds(keep.size, int(batch_size), int(k))], int(keep.size)


def _n_workers(n_jobs: int | None, n_batches: int) -> int:
    if n_jobs is None:
        from threadpoolctl import threadpool_info

        blas = [p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"]
        n_jobs = max(blas) if blas else 1
    return max(1, min(int(n_jobs), n_batches))


def _bootstrap_pointwise(pointwise: list[np.ndarray], comb: str, n_bootstrap: int, rng: np.random.Generator) -> np.ndarray:
    replicates = np.zeros(n_bootstrap)
    for pw in pointwise:
        m = pw.size
        chunk = max(1, _BOOTSTRAP_CHUNK_ELEMENTS // m)
        for b0 in range(0, n_bootstrap, chunk):
            b1 = min(n_bootstrap, b0 + chunk)
            idx = rng.integers(0, m, size=(b1 - b0, m))
            replicates[b0:b1] += combine(pw[idx], comb, axis=1)
    return replicates / len(pointwise)


def _bootstrap_twonn(ratios: list[np.ndarray], discard_fraction: float, method: str, n_bootstrap: int,
                     rng: np.random.Generator) -> np.ndarray:
    replicates = np.zeros(n_bootstrap)
    for mu in ratios:
        m = mu.size
        chunk = max(1, _BOOTSTRAP_CHUNK_ELEMENTS // m)
        for b0 in range(0, n_bootstrap, chunk):
            b1 = min(n_bootstrap, b0 + chunk)
            idx = rng.integers(0, m, size=(b1 - b0, m))
            replicates[b0:b1] += twonn_dimension(mu[idx], discard_fraction, method)
    return replicates / len(ratios)


def _single_threaded_worker(knn_method: str) -> None:
    """Thread initializer of estimate_id's batch pool: faiss's OpenMP loops run single-threaded
    in this thread (libgomp keeps the setting per thread; the caller's is untouched), as its
    BLAS already is under threadpool_limits, so that parallel batches do not oversubscribe."""
    if knn_method == "faiss":
        _import_faiss().omp_set_num_threads(1)


def settings_for_estimator(settings: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of :func:`estimate_id` that a config's ``id`` section gives for its
    estimator (TwoNN has no k or comb; only TwoNN has discard_fraction; ``knn``, if given, is
    the neighbour search method ``knn_method``)."""
    kwargs = {key: settings[key] for key in ("estimator", "metric", "batch_size", "n_bootstrap", "ci_level", "seed")}
    if "knn" in settings:
        kwargs["knn_method"] = settings["knn"]
    if settings["estimator"] == "twonn":
        kwargs["discard_fraction"] = settings["discard_fraction"]
    else:
        kwargs |= {"k": settings["k"], "comb": settings["comb"]}
    return kwargs


def estimate_id(
    X: np.ndarray,
    *,
    estimator: str = "mle",
    k: int | None = None,
    metric: str = "cosine",
    comb: str | None = None,
    batch_size: int = 3600,
    n_bootstrap: int = 1000,
    ci_level: float = 0.95,
    seed: int = 0,
    unbiased: bool = False,
    discard_fraction: float = 0.1,
    twonn_method: str = "linear",
    epsilon: float = 1e-4,
    n_jobs: int | None = None,
    knn_method: str = "auto",
) -> dict[str, Any]:
    """Intrinsic dimension of embeddings with the paper's batched protocol.

    Steps: drop exact duplicate rows (counted); shuffle the rows with ``seed``;
    split them into consecutive batches of ``batch_size``; fit the estimator on
    each batch separately (neighbours searched within the batch only); the
    estimate is the mean of the batch estimates.

    A final partial batch is kept if it has at least ``batch_size // 2`` points
    and more than ``k``; otherwise its points are dropped. With fewer than
    ``batch_size`` points in total, all of them form a single batch (more than
    ``k`` needed).

    Confidence interval: percentile bootstrap over the points of each batch.
    For the pointwise estimators (MLE, TLE) each replicate resamples the
    pointwise estimates within each batch with replacement and recombines them
    with ``comb``; for TwoNN it resamples the points' ratios mu = r2 / r1 within
    each batch and redoes the fit; a replicate is the mean over batches. The
    per-point values are treated as independent, which they are not
    (neighbourhoods overlap), and the neighbour search is not redone, so the
    interval reflects the sampling spread of the per-point values only and is
    likely too narrow; it says nothing about the estimator's bias.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Embeddings (any real dtype; processed batch-wise in float64).
    estimator : {"mle", "twonn", "tle"}
        :class:`MLE` (the paper's), :class:`TwoNN` or :class:`TLE`.
    k : int, optional
        Neighbours per point for "mle" and "tle" (default 20, the authors' K).
        TwoNN always uses the first 2 and rejects any other ``k``.
    metric : {"cosine", "euclidean"}
        Default cosine, as the authors.
    comb : {"mle", "mean", "median"}, optional
        Combination of pointwise estimates within a batch; default skdim's:
        "mle" for the MLE, "mean" for TLE. Not applicable to TwoNN (must be None).
    batch_size : int
        Points per batch (3,600 in the authors' code).
    n_bootstrap : int
        Bootstrap replicates; 0 skips the interval (``ci_low``/``ci_high`` None).
    ci_level : float
        Two-sided level of the interval, in (0, 1).
    seed : int
        Seeds the shuffle and the bootstrap.
    unbiased : bool
        MLE only: ``k - 2`` numerator.
    discard_fraction, twonn_method
        TwoNN only (see :class:`TwoNN`).
    epsilon
        TLE only (see :class:`TLE`).
    n_jobs : int, optional
        Batches fitted at once, in threads (each with single-threaded BLAS). Default: as many
        as the BLAS library may use threads (so a caller that limits BLAS, e.g. with
        ``OMP_NUM_THREADS=1`` or threadpoolctl, gets one). Does not change the result.
    knn_method : {"auto", "sklearn", "blas", "faiss", "torch"}
        Exact neighbour search within each batch, ``method`` of :func:`knn_distances`
        ("auto" = "torch" with a CUDA device, else "sklearn"). With "torch" the batches' float32
        rankings run on the GPU while the worker threads refine others on the CPU. Changes the
        speed, not the result (up to the order of tied neighbours and the last float64 digits).

    Returns
    -------
    dict
        JSON-serialisable: estimator, dimension, ci_low, ci_high, ci_level, k,
        metric, comb, unbiased, batch_size, n_points_input,
        n_duplicates_removed, n_points_used, n_batches, batch_estimates,
        n_bootstrap, seed, discard_fraction, twonn_method, epsilon, knn_method. Settings
        that do not apply to the estimator are None (e.g. comb for TwoNN,
        epsilon for the MLE); ``k`` is the number of neighbours used (2 for TwoNN).
    """
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}")
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    if estimator == "twonn":
        if k not in (None, 2):
            raise ValueError(f"k does not apply to twonn (it uses the first 2 neighbours), got k={k!r}")
        if comb is not None:
            raise ValueError(f"comb does not apply to twonn (no pointwise estimates), got comb={comb!r}")
        k = 2
    else:
        k = DEFAULT_K if k is None else k
        comb = DEFAULT_COMB[estimator] if comb is None else comb
        if comb not in COMBS:
            raise ValueError(f"comb must be one of {COMBS}, got {comb!r}")
    k = _check_int("k", k, 2)
    if unbiased and estimator != "mle":
        raise ValueError(f"unbiased applies to the mle estimator only, not {estimator!r}")
    if unbiased and k < 3:
        raise ValueError(f"unbiased=True needs k >= 3 neighbours, got k={k}")
    if estimator == "twonn":
        if twonn_method not in TWONN_METHODS:
            raise ValueError(f"twonn_method must be one of {TWONN_METHODS}, got {twonn_method!r}")
        if not 0.0 <= float(discard_fraction) < 1.0:
            raise ValueError(f"discard_fraction must be in [0, 1), got {discard_fraction!r}")
    if estimator == "tle" and not float(epsilon) >= 0.0:
        raise ValueError(f"epsilon must be >= 0, got {epsilon!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size <= k:
        raise ValueError(f"batch_size must be an integer > k={k}, got {batch_size!r}")
    if isinstance(n_bootstrap, bool) or not isinstance(n_bootstrap, (int, np.integer)) or n_bootstrap < 0:
        raise ValueError(f"n_bootstrap must be a non-negative integer, got {n_bootstrap!r}")
    if not 0.0 < float(ci_level) < 1.0:
        raise ValueError(f"ci_level must be in (0, 1), got {ci_level!r}")
    if n_jobs is not None:
        _check_int("n_jobs", n_jobs, 1)
    if knn_method not in KNN_METHODS:
        raise ValueError(f"knn_method must be one of {KNN_METHODS}, got {knn_method!r}")
    if knn_method == "faiss":
        _import_faiss()  # fail before any work if it is missing
    method = _resolve_knn_method(knn_method)

    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}")
    if not np.issubdtype(X.dtype, np.number) or np.issubdtype(X.dtype, np.complexfloating):
        raise ValueError(f"X must be real numeric, got dtype {X.dtype}")
    if not np.all(np.isfinite(X)):
        raise ValueError("X contains NaN or inf")
    n_input = int(X.shape[0])

    keep = _unique_rows(X)
    n_unique = int(keep.size)
    if n_unique <= k:
        raise ValueError(
            f"need more than k={k} distinct points, got {n_unique} "
            f"({n_input} rows, {n_input - n_unique} duplicates removed)"
        )

    rng = np.random.default_rng(seed)
    order = keep[rng.permutation(n_unique)]
    bounds = _batch_bounds(n_unique, int(batch_size), int(k))

    def fit_batch(bound: tuple[int, int]) -> tuple[float, np.ndarray]:
        """Estimate of one batch and its per-point values: pointwise estimates (mle, tle)
        or ratios mu (twonn)."""
        start, stop = bound
        Xb = _validate_points(X[order[start:stop]], metric, k + 1, f"k={k} points in a batch")
        distances, idx = knn_distances(Xb, k, metric, method=method)
        if estimator == "mle":
            values = pointwise_mle(distances, unbiased=bool(unbiased))
            return float(combine(values, comb)), values
        if estimator == "tle":
            values = _tle_pointwise(Xb, distances, idx, metric, float(epsilon))
            return _combine_checked(values, comb), values
        values = _twonn_ratios(distances)
        return float(twonn_dimension(values, float(discard_fraction), twonn_method)), values

    workers = _n_workers(n_jobs, len(bounds))
    # "torch": IEEE float32 matmuls set once here, not by each worker thread (see _ieee_float32_matmul)
    precision = _ieee_float32_matmul() if method == "torch" else contextlib.nullcontext()
    if workers == 1:
        with precision:
            fitted = [fit_batch(b) for b in bounds]
    else:
        # Batches are independent: one per thread, each with single-threaded BLAS. The float32
        # product is only part of a batch's cost (selection, float64 refinement and the
        # estimator are single-threaded numpy), so this beats one multi-threaded BLAS call at a
        # time (~1.5x on 2 cores). numpy releases the GIL in all the heavy steps.
        from concurrent.futures import ThreadPoolExecutor

        from threadpoolctl import threadpool_limits

        with precision, threadpool_limits(limits=1, user_api="blas"), \
                ThreadPoolExecutor(workers, initializer=_single_threaded_worker, initargs=(knn_method,)) as pool:
            fitted = list(pool.map(fit_batch, bounds))
    batch_estimates = [est for est, _ in fitted]
    per_point = [values for _, values in fitted]
    dimension = float(np.mean(batch_estimates))

    ci_low: float | None = None
    ci_high: float | None = None
    if n_bootstrap > 0:
        if estimator == "twonn":
            replicates = _bootstrap_twonn(per_point, float(discard_fraction), twonn_method, int(n_bootstrap), rng)
        else:
            replicates = _bootstrap_pointwise(per_point, comb, int(n_bootstrap), rng)
        tail = 100.0 * (1.0 - float(ci_level)) / 2.0
        ci_low, ci_high = (float(v) for v in np.percentile(replicates, [tail, 100.0 - tail]))

    return {
        "estimator": estimator,
        "dimension": dimension,
        "ci_low": ci_low,
        "ci_high": ci_high,
        "ci_level": float(ci_level),
        "k": int(k),
        "metric": metric,
        "comb": comb,
        "unbiased": bool(unbiased) if estimator == "mle" else None,
        "batch_size": int(batch_size),
        "n_points_input": n_input,
        "n_duplicates_removed": n_input - n_unique,
        "n_points_used": int(sum(stop - start for start, stop in bounds)),
        "n_batches": len(bounds),
        "batch_estimates": batch_estimates,
        "n_bootstrap": int(n_bootstrap),
        "seed": int(seed),
        "discard_fraction": float(discard_fraction) if estimator == "twonn" else None,
        "twonn_method": twonn_method if estimator == "twonn" else None,
        "epsilon": float(epsilon) if estimator == "tle" else None,
        "knn_method": knn_method,
    }
