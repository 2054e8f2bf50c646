"""Intrinsic dimension (ID) of a point cloud: Levina–Bickel maximum likelihood.

Two layers:

* :class:`MLE` — a scikit-learn style estimator, numerically identical to
  ``skdim.id.MLE`` (scikit-dimension 0.5.0, ``neighborhood_based=True``,
  no noise model) but vectorised, with a choice of metric and with explicit
  errors for the degenerate cases where skdim silently returns ``inf``/``nan``.
* :func:`estimate_id` — the paper's protocol (Havrilla & Liao 2024, authors'
  ``embeddings.py``): deduplicate, shuffle, split into consecutive batches of
  3,600 points, fit the MLE on each batch (neighbours searched within the
  batch) and report the mean of the batch estimates; plus a percentile
  bootstrap confidence interval that the paper does not have.

Why the estimator is written here instead of calling ``skdim.id.MLE``:
skdim loops over points in Python, has no metric argument (its neighbour search
is always Euclidean), silently ignores ``K`` unless ``neighborhood_based=False``,
returns ``inf`` on duplicate rows, and importing it pulls in numba (~5 s per
process). The neighbour search itself is scikit-learn's exact
``NearestNeighbors``; only the closed-form estimator (two lines of numpy) is
ours. The test-suite checks equality with skdim to 1e-6.

Note on ``metric="cosine"``: the cosine *distance* ``1 - cos(theta)`` behaves
like ``theta**2 / 2`` for close neighbours. The MLE is invariant to scaling the
distances but not to powers of them: distances ``r**p`` divide the estimate by
``p``. On data whose *directions* fill a d-dimensional set, the cosine MLE is
therefore close to d / 2, not d (the Euclidean MLE on L2-normalised rows gives
~d). This is what the authors' setting (skdim MLE with cosine distance, K=20)
measures, and it is kept as the default for fidelity; use
``metric="euclidean"`` on normalised rows for the geometric dimension.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.neighbors import NearestNeighbors

__all__ = ["MLE", "estimate_id", "combine", "pointwise_mle", "knn_distances", "METRICS", "COMBS"]

METRICS = ("euclidean", "cosine")
COMBS = ("mle", "mean", "median")

# Largest number of float64 values materialised at once by the bootstrap
# (replicates x points of one batch): ~64 MB.
_BOOTSTRAP_CHUNK_ELEMENTS = 8_000_000


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
    distances = np.asarray(distances, dtype=np.float64)
    if distances.ndim != 2 or distances.shape[1] < 2:
        raise ValueError(
            f"distances must be 2-D with at least 2 neighbours per row, got shape {distances.shape}"
        )
    if not np.all(np.isfinite(distances)):
        raise ValueError("neighbour distances contain NaN or inf")
    n_zero = int(np.count_nonzero(distances[:, 0] <= 0.0))
    if n_zero:
        raise ValueError(
            f"{n_zero} of {len(distances)} points have a nearest-neighbour distance of 0 "
            "(duplicate or numerically identical rows): the MLE would be infinite. "
            "Deduplicate the rows first (e.g. np.unique(X, axis=0)); estimate_id does this for you."
        )
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
        if isinstance(self.k, bool) or not isinstance(self.k, (int, np.integer)) or self.k < 2:
            raise ValueError(f"k must be an integer >= 2, got {self.k!r}")
        # float64 on purpose: float32 cosine distances of close neighbours lose
        # most of their digits, and the estimator takes logs of distance ratios.
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}")
        if X.shape[0] <= self.k:
            raise ValueError(
                f"need more than k={self.k} points to find k neighbours per point, got {X.shape[0]}"
            )
        if not np.all(np.isfinite(X)):
            raise ValueError("X contains NaN or inf")
        if self.metric == "cosine":
            n_zero_rows = int(np.count_nonzero(~np.any(X != 0.0, axis=1)))
            if n_zero_rows:
                raise ValueError(f"{n_zero_rows} all-zero rows: the cosine distance is undefined for them")
        return X

    def fit(self, X: Any, y: None = None) -> "MLE":
        """Estimate the intrinsic dimension of the rows of ``X``.

        Neighbours are exact (scikit-learn ``NearestNeighbors``; brute force for
        cosine), searched among the rows of ``X`` with each point excluded from
        its own neighbourhood.
        """
        X = self._validate(X)
        distances, _ = knn_distances(X, self.k, self.metric)
        self.dimension_pw_ = pointwise_mle(distances, unbiased=self.unbiased)
        self.dimension_ = float(combine(self.dimension_pw_, self.comb))
        self.n_neighbors_ = int(self.k)
        return self

    def fit_transform(self, X: Any, y: None = None) -> float:
        """Fit and return ``dimension_`` (skdim convention)."""
        return self.fit(X).dimension_


def knn_distances(X: np.ndarray, k: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distances and indices of the k nearest *other* rows of ``X``."""
    algorithm = "brute" if metric == "cosine" else "auto"
    nn = NearestNeighbors(n_neighbors=k, metric=metric, algorithm=algorithm).fit(X)
    # kneighbors() without X excludes each query point from its own neighbours.
    return nn.kneighbors(return_distance=True)


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
    """Indices of the first occurrence of each distinct row, in input order."""
    _, first = np.unique(X, axis=0, return_index=True)
    return np.sort(first)


def estimate_id(
    X: np.ndarray,
    *,
    k: int = 20,
    metric: str = "cosine",
    comb: str = "mle",
    batch_size: int = 3600,
    n_bootstrap: int = 1000,
    ci_level: float = 0.95,
    seed: int = 0,
    unbiased: bool = False,
) -> dict[str, Any]:
    """Intrinsic dimension of embeddings with the paper's batched MLE protocol.

    Steps: drop exact duplicate rows (counted); shuffle the rows with ``seed``;
    split them into consecutive batches of ``batch_size``; fit :class:`MLE`
    on each batch separately (neighbours searched within the batch only); the
    estimate is the mean of the batch estimates.

    A final partial batch is kept if it has at least ``batch_size // 2`` points
    and more than ``k``; otherwise its points are dropped. With fewer than
    ``batch_size`` points in total, all of them form a single batch (more than
    ``k`` needed).

    Confidence interval: percentile bootstrap. Each replicate resamples the
    pointwise estimates within each batch with replacement, recombines each
    batch with ``comb`` and averages over batches. The pointwise estimates are
    treated as independent, which they are not (neighbourhoods overlap), and
    the neighbour search is not redone, so the interval reflects the sampling
    spread of the pointwise estimates only and is likely too narrow; it says
    nothing about the estimator's bias.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Embeddings (any float dtype; processed batch-wise in float64).
    k, metric, comb, unbiased
        Passed to :class:`MLE`. Defaults are the authors' (K=20, cosine, skdim's
        default comb "mle").
    batch_size : int
        Points per batch (3,600 in the authors' code).
    n_bootstrap : int
        Bootstrap replicates; 0 skips the interval (``ci_low``/``ci_high`` None).
    ci_level : float
        Two-sided level of the interval, in (0, 1).
    seed : int
        Seeds the shuffle and the bootstrap.

    Returns
    -------
    dict
        JSON-serialisable: estimator, dimension, ci_low, ci_high, ci_level, k,
        metric, comb, unbiased, batch_size, n_points_input,
        n_duplicates_removed, n_points_used, n_batches, batch_estimates,
        n_bootstrap, seed.
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    if comb not in COMBS:
        raise ValueError(f"comb must be one of {COMBS}, got {comb!r}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 2:
        raise ValueError(f"k must be an integer >= 2, got {k!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size <= k:
        raise ValueError(f"batch_size must be an integer > k={k}, got {batch_size!r}")
    if isinstance(n_bootstrap, bool) or not isinstance(n_bootstrap, (int, np.integer)) or n_bootstrap < 0:
        raise ValueError(f"n_bootstrap must be a non-negative integer, got {n_bootstrap!r}")
    if not 0.0 < float(ci_level) < 1.0:
        raise ValueError(f"ci_level must be in (0, 1), got {ci_level!r}")

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

    estimator = MLE(k=int(k), metric=metric, comb=comb, unbiased=bool(unbiased))
    pointwise: list[np.ndarray] = []
    batch_estimates: list[float] = []
    for start, stop in bounds:
        estimator.fit(X[order[start:stop]])
        pointwise.append(estimator.dimension_pw_)
        batch_estimates.append(float(estimator.dimension_))
    dimension = float(np.mean(batch_estimates))

    ci_low: float | None = None
    ci_high: float | None = None
    if n_bootstrap > 0:
        replicates = np.zeros(int(n_bootstrap))
        for pw in pointwise:
            m = pw.size
            chunk = max(1, _BOOTSTRAP_CHUNK_ELEMENTS // m)
            for b0 in range(0, int(n_bootstrap), chunk):
                b1 = min(int(n_bootstrap), b0 + chunk)
                idx = rng.integers(0, m, size=(b1 - b0, m))
                replicates[b0:b1] += combine(pw[idx], comb, axis=1)
        replicates /= len(pointwise)
        tail = 100.0 * (1.0 - float(ci_level)) / 2.0
        ci_low, ci_high = (float(v) for v in np.percentile(replicates, [tail, 100.0 - tail]))

    return {
        "estimator": "mle",
        "dimension": dimension,
        "ci_low": ci_low,
        "ci_high": ci_high,
        "ci_level": float(ci_level),
        "k": int(k),
        "metric": metric,
        "comb": comb,
        "unbiased": bool(unbiased),
        "batch_size": int(batch_size),
        "n_points_input": n_input,
        "n_duplicates_removed": n_input - n_unique,
        "n_points_used": int(sum(stop - start for start, stop in bounds)),
        "n_batches": len(bounds),
        "batch_estimates": batch_estimates,
        "n_bootstrap": int(n_bootstrap),
        "seed": int(seed),
    }
