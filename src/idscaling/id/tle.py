"""Tight Local intrinsic dimensionality Estimator (Amsaleg et al. 2019, 2022): :class:`TLE`,
:func:`pointwise_tle` (``skdim.id.TLE``, the variant with central measurements and
reflections; same numbers as skdim 0.5.0 on the same points, vectorised).

Why TLE as the third estimator: it is the other *local* maximum-likelihood
estimator of skdim that users compare the MLE with, and it answers the MLE's
main weakness at the paper's small neighbourhoods (k = 20): the MLE uses only
the k distances from a point to its neighbours, TLE also uses the k(k-1)
distances among the neighbours (k² measurements per point), which lowers the
variance at the same k (in the skdim authors' benchmark, Bac et al. 2021, it
is among the most accurate estimators on the benchmark manifolds). It works
from the same exact k-NN search as the MLE and gives pointwise estimates (so the
same bootstrap as the MLE applies). The other candidates fit less well: lPCA is
linear (it overestimates curved manifolds and has no metric), CorrInt is
global and its bootstrap would need all pairwise distances, MOM and MADA use
the same k distances as the MLE with more variance.

Euclidean only: TLE's measurements (the reflections S and T below) are constructed with the
law of cosines, which holds for Euclidean distances and not for the cosine distance
``1 - cos`` (it is not even a metric). Fed cosine distances it was inflated, not halved like
the MLE (measured on a sphere: BENCHMARKS.md), so ``metric="cosine"`` is refused; for directions use
``metric="euclidean"`` on L2-normalised rows (the chord distance, a true Euclidean distance).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from idscaling.id.base import (
    COMBS,
    DEFAULT_COMB,
    DEFAULT_K,
    check_distances,
    check_int,
    check_metric,
    combine,
    combine_checked,
)
from idscaling.id.estimator import Estimator, Fit, reject_inapplicable
from idscaling.id.knn import neighbour_pair_distances

__all__ = ["TLE", "pointwise_tle", "tle_pointwise", "check_tle_metric", "TLE_COSINE_ERROR"]

TLE_COSINE_ERROR = (
    "TLE does not support metric='cosine' (its measurements assume Euclidean geometry, the law of "
    "cosines, which 1 - cos does not satisfy): use metric='euclidean' (on L2-normalised rows for directions)"
)


def check_tle_metric(metric: Any) -> str:
    """``metric`` if TLE accepts it (Euclidean), else the one-line ValueError above."""
    check_metric(metric)
    if metric == "cosine":
        raise ValueError(TLE_COSINE_ERROR)
    return metric


def pointwise_tle(distances: np.ndarray, pair_distances: np.ndarray, epsilon: float = 1e-4) -> np.ndarray:
    """Tight Local ID Estimator, pointwise (``skdim.id.TLE._idtle``, vectorised).

    Parameters
    ----------
    distances : (n, k) array
        Sorted distances from each point to its k nearest other points.
    pair_distances : (n, k, k) array
        ``pair_distances[i, a, b]``: distance between the a-th and b-th
        neighbours of point i (Euclidean), zero diagonal.
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
        Di2, Dj2, V2, r2 = Di**2, Dj**2, V**2, r**2
        Z2 = 2 * Di2 + 2 * Dj2 - V2
        den = 2 * (r2 - Di2)
        A = Di2 + V2 - Dj2
        S = r * (np.sqrt(A**2 + 4 * V2 * (r2 - Di2)) - A) / den
        B = Di2 + Z2 - Dj2
        T = r * (np.sqrt(B**2 + 4 * Z2 * (r2 - Di2)) - B) / den
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


def tle_pointwise(X: np.ndarray, distances: np.ndarray, idx: np.ndarray, metric: str, epsilon: float) -> np.ndarray:
    """Pointwise TLE of the rows of ``X`` from their k-NN (``distances``, ``idx``): the
    distances among the neighbours are computed here."""
    check_tle_metric(metric)
    distances = check_distances(distances, 2)
    return pointwise_tle(distances, neighbour_pair_distances(X, idx, metric), epsilon)


class TLE(Estimator):
    """Tight Local intrinsic dimensionality Estimator (Amsaleg et al.), as ``skdim.id.TLE``.

    Parameters
    ----------
    k : int, default=20
        Neighbours per point (skdim's ``fit(n_neighbors=...)``, default 20).
    metric : {"euclidean"}, default="euclidean"
        Used for the distances to the neighbours *and* among them. ``"cosine"`` is refused
        (see the module docstring).
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

    name = "tle"
    PROTOCOL_KEYS = ("k", "comb")  # the config's id keys it reads (idscaling.id.batching.settings_for_estimator)

    def __init__(self, k: int = 20, metric: str = "euclidean", comb: str = "mean", epsilon: float = 1e-4):
        self.k = k
        self.metric = metric
        self.comb = comb
        self.epsilon = epsilon

    def n_neighbours(self, n_points: int | None = None) -> int:
        return int(self.k)

    def check(self) -> None:
        check_tle_metric(self.metric)
        if self.comb not in COMBS:
            raise ValueError(f"comb must be one of {COMBS}, got {self.comb!r}")
        if not float(self.epsilon) >= 0.0:
            raise ValueError(f"epsilon must be >= 0, got {self.epsilon!r}")
        check_int("k", self.k, 2)

    def _fit(self, X: np.ndarray, distances: np.ndarray, idx: np.ndarray) -> Fit:
        values = tle_pointwise(X, distances, idx, self.metric, float(self.epsilon))
        return Fit(combine_checked(values, self.comb), values)

    def statistic(self, values: np.ndarray) -> np.ndarray:
        return combine(values, self.comb, axis=1)

    def fitted(self, fit: Fit) -> None:
        self.dimension_pw_ = fit.values
        self.n_neighbors_ = int(self.k)

    @classmethod
    def for_protocol(
        cls,
        *,
        metric: str,
        k: int | None = None,
        comb: str | None = None,
        unbiased: bool = False,
        epsilon: float = 1e-4,
        **_: Any,
    ) -> TLE:
        comb = DEFAULT_COMB["tle"] if comb is None else comb
        if comb not in COMBS:
            raise ValueError(f"comb must be one of {COMBS}, got {comb!r}")
        k = check_int("k", DEFAULT_K if k is None else k, 2)
        reject_inapplicable("tle", unbiased=unbiased)
        estimator = cls(k=k, metric=metric, comb=comb, epsilon=epsilon)
        estimator.check()
        return estimator

    def protocol_fields(self) -> dict[str, Any]:
        return {
            "k": int(self.k),
            "comb": self.comb,
            "unbiased": None,
            "discard_fraction": None,
            "twonn_method": None,
            "epsilon": float(self.epsilon),
        }
