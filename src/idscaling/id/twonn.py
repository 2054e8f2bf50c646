"""TwoNN intrinsic dimension (Facco et al. 2017): :class:`TwoNN`, :func:`twonn_dimension`.

The ratios mu = r2 / r1 of second to first neighbour distances are Pareto(1, d); the largest
``discard_fraction`` of them are dropped and d is the slope of the regression through the
origin of -log(1 - F_emp(mu)) on log(mu) (``skdim.id.TwoNN``; its closed-form
maximum-likelihood variant ``method="mle"`` too). Same numbers as skdim 0.5.0 on the same
points, but only the first two neighbours are searched: skdim builds the full distance matrix
in more than 25 dimensions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from idscaling.id.base import TWONN_METHODS, check_distances, validate_points
from idscaling.id.knn import knn_distances

__all__ = ["TwoNN", "twonn_dimension", "twonn_ratios"]


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


def twonn_ratios(distances: np.ndarray) -> np.ndarray:
    """mu = r2 / r1 per point from sorted neighbour distances (n, >= 2), refusing zero first
    distances (duplicates) and data where every mu is 1 (TwoNN undefined)."""
    distances = check_distances(distances, 2)
    mu = distances[:, 1] / distances[:, 0]
    if np.all(mu == 1.0):
        raise ValueError("every point's first and second neighbours are equidistant: TwoNN is undefined")
    return mu


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
    :func:`~idscaling.id.knn_distances`); skdim builds all pairwise distances above 25 features.

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
        X = validate_points(X, self.metric, 3, "2 points to find 2 neighbours per point")
        distances, _ = knn_distances(X, 2, self.metric)
        self.mu_ = twonn_ratios(distances)
        self.dimension_ = float(twonn_dimension(self.mu_, self.discard_fraction, self.method))
        return self

    def fit_transform(self, X: Any, y: None = None) -> float:
        return self.fit(X).dimension_
