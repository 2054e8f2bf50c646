"""What every estimator of :mod:`idscaling.id` shares: the names of its settings, the
validation of points and neighbour distances, and the combination of pointwise estimates.

Kept in one place so that each estimator refuses bad input with the same one-line
``ValueError`` and so that the batching protocol (:mod:`idscaling.id.batching`) and the neighbour
search (:mod:`idscaling.id.knn`) agree on what a metric's geometry is (:func:`unit_rows`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "METRICS",
    "COMBS",
    "TWONN_METHODS",
    "KNN_METHODS",
    "DEFAULT_COMB",
    "DEFAULT_K",
    "combine",
    "combine_checked",
    "check_int",
    "check_metric",
    "check_distances",
    "validate_points",
    "unit_rows",
]

METRICS = ("euclidean", "cosine")
COMBS = ("mle", "mean", "median")
TWONN_METHODS = ("linear", "mle")
KNN_METHODS = ("auto", "blas", "faiss", "sklearn", "torch")

# The combination of pointwise estimates each local estimator uses by default
# (skdim's defaults: MLE.fit(comb="mle"), LocalEstimator.fit(comb="mean")).
DEFAULT_COMB = {"mle": "mle", "tle": "mean"}
DEFAULT_K = 20


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


def combine_checked(pointwise: np.ndarray, comb: str) -> float:
    """:func:`combine`, refusing the harmonic mean of estimates that are not all positive
    (TLE can return 0 or negative pointwise values, where 1 / m_i is meaningless)."""
    if comb == "mle" and np.any(pointwise <= 0):
        raise ValueError(
            f"comb='mle' (harmonic mean) needs positive pointwise estimates; "
            f"{int(np.count_nonzero(pointwise <= 0))} are <= 0: use comb='mean' or 'median'"
        )
    return float(combine(pointwise, comb))


def check_int(name: str, value: Any, minimum: int) -> int:
    """``value`` as an int, or a ValueError naming ``name`` (bools are not integers here)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_metric(metric: Any) -> str:
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    return metric


def check_distances(distances: np.ndarray, min_neighbours: int) -> np.ndarray:
    """Sorted neighbour distances (n, k) as float64, refusing what would make a
    log-ratio estimator infinite or undefined (NaN/inf, a zero nearest distance)."""
    distances = np.asarray(distances, dtype=np.float64)
    if distances.ndim != 2 or distances.shape[1] < min_neighbours:
        raise ValueError(
            f"distances must be 2-D with at least {min_neighbours} neighbours per row, got shape {distances.shape}"
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


def validate_points(X: Any, metric: str, min_points: int, what: str) -> np.ndarray:
    """Points as a float64 (n, D) array, or a one-line ValueError.

    ``min_points`` is the fewest rows accepted and ``what`` completes the message
    "need more than {what}" (e.g. ``"k=20 points to find k neighbours per point"``).
    """
    check_metric(metric)
    # float64 on purpose: float32 cosine distances of close neighbours lose
    # most of their digits, and the estimators take logs of distance ratios.
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}")
    if X.shape[0] < min_points:
        raise ValueError(f"need more than {what}, got {X.shape[0]}")
    check_rows(X, metric)
    return X


def check_rows(X: np.ndarray, metric: str) -> None:
    """Refuse non-finite values, and all-zero rows under the cosine metric (no direction)."""
    if not np.all(np.isfinite(X)):
        raise ValueError("X contains NaN or inf")
    if metric == "cosine":
        n_zero_rows = int(np.count_nonzero(~np.any(X != 0, axis=1)))
        if n_zero_rows:
            raise ValueError(f"{n_zero_rows} all-zero rows: the cosine distance is undefined for them")


def unit_rows(X: np.ndarray) -> np.ndarray:
    """float64 L2-normalised rows: the points whose Euclidean geometry is the cosine metric's
    (``|u - v|^2 / 2 = 1 - cos``).

    The one place rows are normalised, so that the de-duplication of :func:`estimate_id`
    (rows equal here are duplicates under the cosine metric, e.g. positive multiples) and
    the neighbour search see bit-identical points: two rows kept as distinct are at a
    nonzero cosine distance in every k-NN backend. Row by row: a row's result does not
    depend on the other rows.
    """
    P = np.asarray(X, dtype=np.float64)
    norms = np.sqrt(np.einsum("ij,ij->i", P, P))
    return P / norms[:, None]
