"""Intrinsic dimension (ID) of a point cloud: the estimators, the paper's batching protocol and
the point sets it is measured on.

* The estimators (:data:`~idscaling.id.registry.ESTIMATORS`), scikit-learn style (``fit(X)``
  sets ``dimension_``), each on the interface of :mod:`.estimator` (the base owns the neighbour
  search and the interval; an estimator implements its hook): :class:`MLE` (:mod:`.mle`,
  Levina & Bickel 2005, the paper's), :class:`TwoNN` (:mod:`.twonn`, Facco et al. 2017),
  :class:`TLE` (:mod:`.tle`, Amsaleg et al.; Euclidean only) and :class:`GRIDE` (:mod:`.gride`,
  Denti et al. 2022: the ID at a neighbour rank, and its scale curve). The first three are
  numerically identical to their scikit-dimension 0.5.0 counterparts on the same points, GRIDE
  to DADApy's (the test-suite checks both), but vectorised, with a choice of metric and with
  explicit errors for the degenerate cases where those libraries silently return ``inf``/``nan``.
* :func:`estimate_id` (:mod:`.batching`): the paper's protocol for any of them -- deduplicate,
  shuffle, fit consecutive batches of 3,600 points, average -- with an interval and a
  near-duplicate check (:mod:`.duplicates`) that the paper does not have.
* :mod:`.protocols`: which points the ID is measured on (token-level states as in the paper,
  window-level states, the Bayes oracle of a latent corpus).
* :mod:`.base` (setting names, validation, :func:`combine`), :mod:`.knn` (the exact neighbour
  search :func:`knn_distances` and its backends), :mod:`.analyses` (the paper's Fig. 4 tables).

Why the estimators are written here instead of calling skdim: skdim loops over points in
Python, has no metric argument (its neighbour search is always Euclidean), silently ignores
``MLE(K=...)`` unless ``neighborhood_based=False``, returns ``inf`` on duplicate rows, builds a
full distance matrix for TwoNN in more than 25 dimensions, and importing it pulls in numba.
Only the closed-form estimators are ours; the neighbour search is :func:`knn_distances`.

Note on ``metric="cosine"``: the cosine *distance* ``1 - cos(theta)`` behaves
like ``theta**2 / 2`` for close neighbours. The MLE is invariant to scaling the
distances but not to powers of them: distances ``r**p`` divide the estimate by
``p``. On data whose *directions* fill a d-dimensional set, the cosine MLE is
therefore close to d / 2, not d (the Euclidean MLE on L2-normalised rows gives
~d); the same holds for TwoNN (mu is squared). This is what the authors' setting
(skdim MLE with cosine distance, K=20) measures, and it is kept as the default
for fidelity; use ``metric="euclidean"`` on normalised rows for the geometric
dimension. TLE refuses the cosine distance: its constructions assume Euclidean
geometry (see :mod:`.tle`).

Import from here: ``from idscaling.id import estimate_id, MLE, knn_distances``.
"""

from __future__ import annotations

import importlib
from typing import Any

# Public name -> its module, imported on first use (PEP 562), so that importing a light module of
# this package (the registry: the CLI's choices) does not load numpy, scipy and scikit-learn.
_EXPORTS = {
    "COMBS": "base",
    "DEFAULT_COMB": "base",
    "DEFAULT_K": "base",
    "KNN_METHODS": "base",
    "METRICS": "base",
    "TWONN_METHODS": "base",
    "combine": "base",
    "batch_indices": "batching",
    "estimate_id": "batching",
    "settings_for_estimator": "batching",
    "GRIDE": "gride",
    "knn_distances": "knn",
    "MLE": "mle",
    "pointwise_mle": "mle",
    "ESTIMATORS": "registry",
    "TLE": "tle",
    "pointwise_tle": "tle",
    "TwoNN": "twonn",
    "twonn_dimension": "twonn",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
