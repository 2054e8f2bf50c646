"""Intrinsic dimension (ID) of a point cloud: Levina–Bickel MLE, TwoNN and TLE.

Two layers:

* Three scikit-learn style estimators (``fit(X)`` sets ``dimension_``), each numerically
  identical to its scikit-dimension 0.5.0 counterpart on the same points (the test-suite
  checks 1e-6 relative agreement) but vectorised, with a choice of metric and with explicit
  errors for the degenerate cases where skdim silently returns ``inf``/``nan``:

  - :class:`MLE` (:mod:`.mle`) — Levina & Bickel (2005) maximum likelihood on the k nearest
    neighbour distances of each point, combined over points as skdim does (``comb``);
  - :class:`TwoNN` (:mod:`.twonn`) — Facco et al. (2017), from the ratios of second to first
    neighbour distances;
  - :class:`TLE` (:mod:`.tle`) — the Tight Local intrinsic dimensionality Estimator of
    Amsaleg et al. (2019, 2022); Euclidean only.

* :func:`estimate_id` (:mod:`.protocol`) — the paper's protocol (Havrilla & Liao 2024,
  authors' ``embeddings.py``) for any of the three: deduplicate, shuffle, split into
  consecutive batches of 3,600 points, fit the estimator on each batch (neighbours searched
  within the batch) and report the mean of the batch estimates; plus a percentile bootstrap
  confidence interval and a near-duplicate check (:mod:`.duplicates`) that the paper does
  not have.

The other modules: :mod:`.base` (setting names, validation, :func:`combine`) and
:mod:`.knn` (the exact neighbour search :func:`knn_distances` with its backends).

Why the estimators are written here instead of calling skdim: skdim loops over
points in Python, has no metric argument (its neighbour search is always
Euclidean), silently ignores ``MLE(K=...)`` unless ``neighborhood_based=False``,
returns ``inf`` on duplicate rows, builds a full distance matrix for TwoNN in
more than 25 dimensions, and importing it pulls in numba (~5 s per process).
Only the closed-form estimators are ours; the neighbour search is
:func:`knn_distances`.

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

from idscaling.id.base import (
    COMBS,
    DEFAULT_COMB,
    DEFAULT_K,
    ESTIMATORS,
    KNN_METHODS,
    METRICS,
    TWONN_METHODS,
    combine,
)
from idscaling.id.knn import knn_distances
from idscaling.id.mle import MLE, pointwise_mle
from idscaling.id.batching import batch_indices, estimate_id, settings_for_estimator
from idscaling.id.tle import TLE, pointwise_tle
from idscaling.id.twonn import TwoNN, twonn_dimension

__all__ = [
    "MLE", "TwoNN", "TLE", "estimate_id", "settings_for_estimator", "combine", "pointwise_mle",
    "pointwise_tle", "twonn_dimension", "knn_distances", "batch_indices",
    "METRICS", "COMBS", "ESTIMATORS", "TWONN_METHODS", "KNN_METHODS", "DEFAULT_K", "DEFAULT_COMB",
]
