"""The interface every intrinsic-dimension estimator implements, in the style of
scikit-dimension's ``LocalEstimator``: the base owns the neighbour search, the batching protocol's
per-batch fit, the combination over batches and the interval; an estimator implements its hook.

An estimator (one module, one entry in :data:`idscaling.id.registry.ESTIMATORS`) subclasses
:class:`Estimator` and implements

* ``n_neighbours(n_points)`` -- the exact neighbours its hook needs;
* ``check()`` -- its settings, refused with a one-line ``ValueError``;
* ``_fit(X, distances, idx)`` -- the estimate of one point set from its sorted neighbour
  distances (and indices): a :class:`Fit` with the estimate and the per-point values that the
  interval resamples;
* ``statistic(values)`` -- the estimates of rows of resampled per-point values (for the
  bootstrap), or override ``interval`` (GRIDE's is the likelihood's);
* ``fitted(fit)`` -- the scikit-learn attributes ``fit(X)`` sets besides ``dimension_``;
* ``for_protocol(**settings)`` -- the estimator that :func:`idscaling.id.batching.estimate_id`'s
  keyword arguments describe, with the settings that do not apply to it refused, and
  ``protocol_fields()`` -- its settings in ``estimate_id``'s result.

``fit(X)`` (all rows, one neighbour search) and the batched protocol run the same hook.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, NamedTuple

import numpy as np
from sklearn.base import BaseEstimator

from idscaling.id.base import validate_points
from idscaling.id.knn import knn_distances

__all__ = ["Estimator", "Fit", "bootstrap_replicates", "reject_inapplicable"]

# Largest number of float64 values materialised at once by the bootstrap
# (replicates x points of one batch): ~64 MB.
BOOTSTRAP_CHUNK_ELEMENTS = 8_000_000


class Fit(NamedTuple):
    """One point set's estimate and the values behind it (per-point values for the bootstrap,
    or the estimator's own: GRIDE's standard error and scale curve)."""

    estimate: float
    values: Any


class Estimator(BaseEstimator):
    """Base of the intrinsic-dimension estimators (see the module docstring)."""

    name: ClassVar[str]
    PROTOCOL_KEYS: ClassVar[tuple[str, ...]] = ()  # the config's id keys it reads
    bootstrapped: ClassVar[bool] = True  # its interval is the bootstrap (n_bootstrap applies)
    metric: str

    def n_neighbours(self, n_points: int | None = None) -> int:
        raise NotImplementedError

    def check(self) -> None:
        raise NotImplementedError

    def _fit(self, X: np.ndarray, distances: np.ndarray, idx: np.ndarray) -> Fit:
        raise NotImplementedError

    def statistic(self, values: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def fitted(self, fit: Fit) -> None:
        """Set the attributes of ``fit(X)`` besides ``dimension_`` (default: none)."""

    def points_needed(self) -> tuple[int, str]:
        """The fewest rows ``fit(X)`` accepts and the end of the message "need more than ...";
        default: one more than the neighbours searched."""
        k = self.n_neighbours()
        return k + 1, f"k={k} points to find k neighbours per point"

    @classmethod
    def for_protocol(cls, **settings: Any) -> Estimator:
        raise NotImplementedError

    def protocol_fields(self) -> dict[str, Any]:
        raise NotImplementedError

    # ---------------------------------------------------------------- shared
    def fit(self, X: Any, y: None = None) -> Estimator:
        """Estimate the intrinsic dimension of the rows of ``X``: exact neighbours
        (:func:`~idscaling.id.knn.knn_distances`), each point excluded from its own
        neighbourhood, then the estimator's hook."""
        self.check()
        minimum, what = self.points_needed()
        X = validate_points(X, self.metric, minimum, what)
        distances, idx = knn_distances(X, self.n_neighbours(X.shape[0]), self.metric)
        fit = self._fit(X, distances, idx)
        self.dimension_ = fit.estimate
        self.fitted(fit)
        return self

    def fit_transform(self, X: Any, y: None = None) -> float:
        """Fit and return ``dimension_`` (skdim convention)."""
        return self.fit(X).dimension_

    def interval(
        self, dimension: float, fits: list[Fit], n_bootstrap: int, ci_level: float, rng: np.random.Generator
    ) -> tuple[float | None, float | None]:
        """Percentile bootstrap over the points of each batch: each replicate resamples every
        batch's per-point values with replacement, applies :meth:`statistic` and averages over
        the batches. The values are treated as independent, which they are not (neighbourhoods
        overlap), and the neighbour search is not redone, so the interval reflects the sampling
        spread of the per-point values only and is likely too narrow. None without replicates."""
        if n_bootstrap <= 0:
            return None, None
        replicates = bootstrap_replicates([f.values for f in fits], self.statistic, n_bootstrap, rng)
        tail = 100.0 * (1.0 - ci_level) / 2.0
        low, high = np.percentile(replicates, [tail, 100.0 - tail])
        return float(low), float(high)

    def batch_fields(self, fits: list[Fit]) -> dict[str, Any]:
        """Fields the batched protocol adds to its result from all batches' fits (default none)."""
        return {}


def bootstrap_replicates(
    per_batch: list[np.ndarray],
    statistic: Callable[[np.ndarray], np.ndarray],
    n_bootstrap: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Replicates of the mean over batches of ``statistic`` (applied to rows of resampled
    values), each batch's per-point values resampled with replacement, in chunks of at most
    ``BOOTSTRAP_CHUNK_ELEMENTS``."""
    replicates = np.zeros(n_bootstrap)
    for values in per_batch:
        m = values.size
        chunk = max(1, BOOTSTRAP_CHUNK_ELEMENTS // m)
        for b0 in range(0, n_bootstrap, chunk):
            b1 = min(n_bootstrap, b0 + chunk)
            idx = rng.integers(0, m, size=(b1 - b0, m))
            replicates[b0:b1] += statistic(values[idx])
    return replicates / len(per_batch)


def reject_inapplicable(
    name: str,
    *,
    k: Any = None,
    k_allowed: tuple = (None,),
    comb: Any = None,
    unbiased: bool = False,
    k_reason: str = "",
    comb_reason: str = "no pointwise estimates",
) -> None:
    """The protocol's one-line refusals of settings an estimator has no use for."""
    if k not in k_allowed:
        raise ValueError(f"k does not apply to {name} ({k_reason}), got k={k!r}")
    if comb is not None:
        raise ValueError(f"comb does not apply to {name} ({comb_reason}), got comb={comb!r}")
    if unbiased:
        raise ValueError(f"unbiased applies to the mle estimator only, not {name!r}")
