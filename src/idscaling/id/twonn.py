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

from idscaling.id.base import TWONN_METHODS, check_distances, check_metric
from idscaling.id.estimator import Estimator, Fit, reject_inapplicable

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


class TwoNN(Estimator):
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

    name = "twonn"
    PROTOCOL_KEYS = (
        "discard_fraction",
    )  # the config's id keys it reads (idscaling.id.batching.settings_for_estimator)

    def __init__(self, discard_fraction: float = 0.1, metric: str = "euclidean", method: str = "linear"):
        self.discard_fraction = discard_fraction
        self.metric = metric
        self.method = method

    def n_neighbours(self, n_points: int | None = None) -> int:
        return 2

    def points_needed(self) -> tuple[int, str]:
        return 3, "2 points to find 2 neighbours per point"

    def check(self) -> None:
        check_metric(self.metric)
        if self.method not in TWONN_METHODS:
            raise ValueError(f"method must be one of {TWONN_METHODS}, got {self.method!r}")
        if not 0.0 <= float(self.discard_fraction) < 1.0:
            raise ValueError(f"discard_fraction must be in [0, 1), got {self.discard_fraction!r}")

    def _fit(self, X: np.ndarray, distances: np.ndarray, idx: np.ndarray) -> Fit:
        values = twonn_ratios(distances)
        return Fit(float(twonn_dimension(values, float(self.discard_fraction), self.method)), values)

    def statistic(self, values: np.ndarray) -> np.ndarray:
        return twonn_dimension(values, float(self.discard_fraction), self.method)

    def fitted(self, fit: Fit) -> None:
        self.mu_ = fit.values

    @classmethod
    def for_protocol(
        cls,
        *,
        metric: str,
        k: int | None = None,
        comb: str | None = None,
        unbiased: bool = False,
        discard_fraction: float = 0.1,
        twonn_method: str = "linear",
        **_: Any,
    ) -> TwoNN:
        reject_inapplicable(
            "twonn", k=k, k_allowed=(None, 2), comb=comb, unbiased=unbiased, k_reason="it uses the first 2 neighbours"
        )
        if twonn_method not in TWONN_METHODS:
            raise ValueError(f"twonn_method must be one of {TWONN_METHODS}, got {twonn_method!r}")
        estimator = cls(discard_fraction=discard_fraction, metric=metric, method=twonn_method)
        estimator.check()
        return estimator

    def protocol_fields(self) -> dict[str, Any]:
        return {
            "k": 2,
            "comb": None,
            "unbiased": None,
            "discard_fraction": float(self.discard_fraction),
            "twonn_method": self.method,
            "epsilon": None,
        }
