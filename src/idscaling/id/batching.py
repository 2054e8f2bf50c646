"""The paper's protocol (Havrilla & Liao 2024, authors' ``embeddings.py``) for any of the
estimators of :data:`idscaling.id.registry.ESTIMATORS`: :func:`estimate_id`.

Drop exact duplicate rows (counted; in the metric's geometry, :mod:`idscaling.id.duplicates`:
under cosine, rows equal after L2 normalisation, e.g. positive multiples, are duplicates),
shuffle the rows with ``seed``, split them into consecutive batches of ``batch_size`` (3,600 in
the authors' code), fit the estimator on each batch separately (neighbours searched within the
batch only) and report the mean of the batch estimates. A final partial batch is kept if it has
at least ``batch_size // 2`` points and more than ``k``; with fewer than ``batch_size`` points in
all, they form one batch (more than ``k`` needed). Plus a confidence interval that
the paper does not have (the estimator's :meth:`~idscaling.id.estimator.Estimator.interval`), and
a count of near-duplicate points (which the paper does not check either; they pull the
harmonic-mean combination down). :func:`estimate_id` fits its batches in parallel threads.

Near-duplicates: in each batch, the points whose nearest neighbour is closer than
``near_duplicate_tol`` times the batch's median nearest-neighbour distance are counted (one per
extra copy, :func:`~idscaling.id.duplicates.near_duplicates`) and reported in
``n_near_duplicates`` with a logged warning: they pull the estimate down, the harmonic-mean
combination most. By default they are kept (the paper's protocol); ``drop_near_duplicates=True``
removes the extra copies (keeping the earliest input row of each group) and fits the batch again
on the rest.

The interval is the estimator's (:meth:`~idscaling.id.estimator.Estimator.interval`): a percentile
bootstrap of the per-point values within batches (MLE, TLE: pointwise estimates recombined with
``comb``; TwoNN: the ratios, refitted), or GRIDE's Wald interval from the likelihood
(``n_bootstrap`` unused). Both ignore the dependence through shared neighbourhoods and the
estimator's bias: likely too narrow.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import numpy as np

from idscaling.id.base import (
    DEFAULT_K,
    KNN_METHODS,
    check_int,
    check_metric,
    check_rows,
    validate_points,
)
from idscaling.id.duplicates import NEAR_DUPLICATE_TOL, near_duplicates, unique_rows
from idscaling.id.estimator import Estimator, Fit
from idscaling.id.knn import (
    ieee_float32_matmul,
    import_faiss,
    knn_distances,
    resolve_knn_method,
)
from idscaling.id.registry import estimator_class

__all__ = ["estimate_id", "batch_indices", "settings_for_estimator", "PROTOCOL_COMMON_KEYS"]

log = logging.getLogger(__name__)

# The config's id keys every estimator's protocol reads (its own: the class's PROTOCOL_KEYS).
PROTOCOL_COMMON_KEYS = ("estimator", "metric", "batch_size", "n_bootstrap", "ci_level", "seed")


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


def batch_indices(
    X: np.ndarray, batch_size: int = 3600, k: int = DEFAULT_K, seed: int = 0, metric: str = "cosine"
) -> tuple[list[np.ndarray], int]:
    """Row indices of the batches :func:`estimate_id` fits, and the number of distinct rows.

    Deduplicate in ``metric``'s geometry (first occurrences; see
    :func:`~idscaling.id.duplicates.unique_rows`), shuffle with ``default_rng(seed)``, cut into
    consecutive batches (see :func:`estimate_id` for the partial last batch). Near-duplicates
    are not dropped here (``drop_near_duplicates`` works within each batch). Public so that a
    comparison (e.g. skdim on the same batches) can reuse them.
    """
    keep = unique_rows(np.asarray(X), check_metric(metric))
    rng = np.random.default_rng(seed)
    order = keep[rng.permutation(keep.size)]
    return [order[a:b] for a, b in _batch_bounds(keep.size, int(batch_size), int(k))], int(keep.size)


def _n_workers(n_jobs: int | None, n_batches: int) -> int:
    if n_jobs is None:
        from threadpoolctl import threadpool_info

        blas = [p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"]
        n_jobs = max(blas) if blas else 1
    return max(1, min(int(n_jobs), n_batches))


def _single_threaded_worker(knn_method: str) -> None:
    """Thread initializer of estimate_id's batch pool: faiss's OpenMP loops run single-threaded
    in this thread (libgomp keeps the setting per thread; the caller's is untouched), as its
    BLAS already is under threadpool_limits, so that parallel batches do not oversubscribe."""
    if knn_method == "faiss":
        import_faiss().omp_set_num_threads(1)


def settings_for_estimator(settings: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of :func:`estimate_id` that a config's ``id`` section gives for its
    estimator: the common keys and the estimator's own (its class's ``PROTOCOL_KEYS``, where
    given); ``knn``, if given, is the neighbour search method ``knn_method``; ``near_duplicate_tol``
    and ``drop_near_duplicates`` are passed on if given. The estimator's settings are checked here,
    before any data is read (TLE refuses the cosine metric: :mod:`idscaling.id.tle`)."""
    cls = estimator_class(settings["estimator"])
    own = {key: settings[key] for key in cls.PROTOCOL_KEYS if key in settings}
    cls.for_protocol(metric=settings["metric"], **own)
    kwargs = {key: settings[key] for key in PROTOCOL_COMMON_KEYS}
    if "knn" in settings:
        kwargs["knn_method"] = settings["knn"]
    kwargs |= {key: settings[key] for key in ("near_duplicate_tol", "drop_near_duplicates") if key in settings}
    return kwargs | own


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
    near_duplicate_tol: float = NEAR_DUPLICATE_TOL,
    drop_near_duplicates: bool = False,
    gride_n1: int = 1,
    gride_range_max: int = 64,
) -> dict[str, Any]:
    """Intrinsic dimension of embeddings with the paper's batched protocol.

    The steps, the near-duplicate check and the interval: see the module docstring.

    Parameters
    ----------
    X : (n_samples, n_features) embeddings (any real dtype; processed batch-wise in float64).
    estimator : a name of :data:`~idscaling.id.registry.ESTIMATORS` ("mle", the paper's;
        "twonn", "tle", "gride").
    k, comb, unbiased : MLE and TLE: neighbours per point (default 20, the authors' K) and the
        combination of pointwise estimates within a batch (default skdim's: "mle" for the MLE,
        "mean" for TLE); ``unbiased``: MLE only, ``k - 2`` numerator. Refused by the others.
    metric : "cosine" (default, as the authors) or "euclidean"; TLE refuses cosine.
    discard_fraction, twonn_method : TwoNN only (:class:`~idscaling.id.twonn.TwoNN`).
    epsilon : TLE only (:class:`~idscaling.id.tle.TLE`).
    gride_n1, gride_range_max : GRIDE only: the estimate at ranks (n1, 2 n1) and the scale curve
        over n1 = 1, 2, 4, ... with 2 n1 <= gride_range_max, from one search of
        ``max(2 gride_n1, gride_range_max)`` neighbours.
    batch_size, n_bootstrap, ci_level, seed : points per batch (3,600 in the authors' code),
        bootstrap replicates (0: no interval), its two-sided level; ``seed`` seeds the shuffle
        and the bootstrap.
    n_jobs : batches fitted at once, in threads with single-threaded BLAS (default: as many as
        BLAS may use threads). Does not change the result.
    knn_method : exact neighbour search, ``method`` of :func:`~idscaling.id.knn.knn_distances`
        ("auto" = "torch" with a CUDA device, else "sklearn"). Changes the speed, not the result
        (up to the order of tied neighbours and the last float64 digits).
    near_duplicate_tol, drop_near_duplicates : the near-duplicate check's relative threshold
        (>= 0; 0 disables it; :data:`~idscaling.id.duplicates.NEAR_DUPLICATE_TOL`) and whether to
        drop them.

    Returns
    -------
    dict, JSON-serialisable: estimator, dimension, ci_low, ci_high, ci_level, k (neighbours
    searched), metric, comb, unbiased, batch_size, n_points_input, n_duplicates_removed,
    n_near_duplicates, near_duplicate_tol, drop_near_duplicates, n_points_used, n_batches,
    batch_estimates, n_bootstrap, seed, discard_fraction, twonn_method, epsilon, knn_method
    (settings that do not apply to the estimator are None); GRIDE's also gride_n1,
    gride_range_max and ``scale_curve`` (:func:`~idscaling.id.gride.mean_over_batches`).
    """
    check_metric(metric)
    est = estimator_class(estimator).for_protocol(
        metric=metric,
        k=k,
        comb=comb,
        unbiased=unbiased,
        discard_fraction=discard_fraction,
        twonn_method=twonn_method,
        epsilon=epsilon,
        gride_n1=gride_n1,
        gride_range_max=gride_range_max,
    )
    k = est.n_neighbours()
    _check_protocol(k, batch_size, n_bootstrap, ci_level, n_jobs, near_duplicate_tol, drop_near_duplicates, knn_method)
    X = _checked_points(X, metric)
    n_input = int(X.shape[0])
    keep = _distinct_rows(X, metric, k)
    n_unique = int(keep.size)
    rng = np.random.default_rng(seed)
    order = keep[rng.permutation(n_unique)]
    bounds = _batch_bounds(n_unique, int(batch_size), int(k))
    tol, drop = float(near_duplicate_tol), bool(drop_near_duplicates)
    fitted = _fit_batches(est, X, order, bounds, knn_method, n_jobs, tol, drop)
    fits = [fit for fit, _ in fitted]
    n_near = sum(count for _, count in fitted)
    n_batched = int(sum(stop - start for start, stop in bounds))
    dimension = float(np.mean([fit.estimate for fit in fits]))
    if n_near:
        _warn_near_duplicates(n_near, n_batched, tol, drop)
    ci_low, ci_high = est.interval(dimension, fits, int(n_bootstrap), float(ci_level), rng)
    fields = est.protocol_fields()
    return {
        "estimator": estimator,
        "dimension": dimension,
        "ci_low": ci_low,
        "ci_high": ci_high,
        "ci_level": float(ci_level),
        "k": int(fields["k"]),
        "metric": metric,
        "comb": fields["comb"],
        "unbiased": fields["unbiased"],
        "batch_size": int(batch_size),
        "n_points_input": n_input,
        "n_duplicates_removed": n_input - n_unique,
        "n_near_duplicates": n_near,
        "near_duplicate_tol": tol,
        "drop_near_duplicates": drop,
        "n_points_used": n_batched - (n_near if drop_near_duplicates else 0),
        "n_batches": len(bounds),
        "batch_estimates": [fit.estimate for fit in fits],
        "n_bootstrap": int(n_bootstrap) if est.bootstrapped else None,
        "seed": int(seed),
        "discard_fraction": fields["discard_fraction"],
        "twonn_method": fields["twonn_method"],
        "epsilon": fields["epsilon"],
        "knn_method": knn_method,
    } | est.batch_fields(fits)


def _distinct_rows(X: np.ndarray, metric: str, k: int) -> np.ndarray:
    """Indices of X's distinct rows (:func:`~idscaling.id.duplicates.unique_rows`); more than ``k``
    are needed for a neighbour search of ``k``."""
    keep = unique_rows(X, metric)
    if keep.size <= k:
        n_input = int(X.shape[0])
        raise ValueError(
            f"need more than k={k} distinct points, got {keep.size} "
            f"({n_input} rows, {n_input - keep.size} duplicates removed)"
        )
    return keep


def _warn_near_duplicates(n_near: int, n_batched: int, tol: float, dropped: bool) -> None:
    """One warning with how many points are near-duplicates and what was done with them."""
    log.warning(
        "%d of %d points (%.2g%%) are near-duplicates (nearest neighbour closer than %g x the batch's "
        "median nearest-neighbour distance); %s",
        n_near,
        n_batched,
        100.0 * n_near / n_batched,
        tol,
        "dropped (drop_near_duplicates=True)"
        if dropped
        else "kept: they pull the estimate down (comb='mle' most); drop_near_duplicates=True removes them",
    )


def _checked_points(X: Any, metric: str) -> np.ndarray:
    """X as a 2-D real array with finite rows (with a direction under cosine)."""
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}")
    if not np.issubdtype(X.dtype, np.number) or np.issubdtype(X.dtype, np.complexfloating):
        raise ValueError(f"X must be real numeric, got dtype {X.dtype}")
    check_rows(X, metric)
    return X


def _check_protocol(
    k: int,
    batch_size: Any,
    n_bootstrap: Any,
    ci_level: Any,
    n_jobs: Any,
    near_duplicate_tol: Any,
    drop_near_duplicates: Any,
    knn_method: Any,
) -> None:
    """The protocol's own settings, refused with one line each."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size <= k:
        raise ValueError(f"batch_size must be an integer > k={k}, got {batch_size!r}")
    if isinstance(n_bootstrap, bool) or not isinstance(n_bootstrap, (int, np.integer)) or n_bootstrap < 0:
        raise ValueError(f"n_bootstrap must be a non-negative integer, got {n_bootstrap!r}")
    if not 0.0 < float(ci_level) < 1.0:
        raise ValueError(f"ci_level must be in (0, 1), got {ci_level!r}")
    if n_jobs is not None:
        check_int("n_jobs", n_jobs, 1)
    if not 0.0 <= float(near_duplicate_tol) < np.inf:
        raise ValueError(f"near_duplicate_tol must be a finite number >= 0, got {near_duplicate_tol!r}")
    if not isinstance(drop_near_duplicates, (bool, np.bool_)):
        raise ValueError(f"drop_near_duplicates must be True or False, got {drop_near_duplicates!r}")
    if knn_method not in KNN_METHODS:
        raise ValueError(f"knn_method must be one of {KNN_METHODS}, got {knn_method!r}")
    if knn_method == "faiss":
        import_faiss()  # fail before any work if it is missing


def _fit_batches(
    est: Estimator,
    X: np.ndarray,
    order: np.ndarray,
    bounds: list[tuple[int, int]],
    knn_method: str,
    n_jobs: int | None,
    near_duplicate_tol: float,
    drop: bool,
) -> list[tuple[Fit, int]]:
    """Each batch's fit and its number of near-duplicates, the batches in threads."""
    k = est.n_neighbours()
    metric = est.metric
    method = resolve_knn_method(knn_method)

    def fit_batch(bound: tuple[int, int]) -> tuple[Fit, int]:
        start, stop = bound
        rows = order[start:stop]
        Xb = validate_points(X[rows], metric, k + 1, f"k={k} points in a batch")
        distances, idx = knn_distances(Xb, k, metric, method=method)
        redundant = near_duplicates(distances, idx, metric, near_duplicate_tol, priority=rows)
        n_near = int(np.count_nonzero(redundant))
        if drop and n_near:
            Xb = validate_points(
                Xb[~redundant], metric, k + 1, f"k={k} points in a batch after dropping {n_near} near-duplicates"
            )
            distances, idx = knn_distances(Xb, k, metric, method=method)
        return est._fit(Xb, distances, idx), n_near

    workers = _n_workers(n_jobs, len(bounds))
    # "torch": IEEE float32 matmuls set once here, not by each worker thread (see ieee_float32_matmul)
    precision = ieee_float32_matmul() if method == "torch" else contextlib.nullcontext()
    if workers == 1:
        with precision:
            return [fit_batch(b) for b in bounds]
    # Batches are independent: one per thread, each with single-threaded BLAS. The float32
    # product is only part of a batch's cost (selection, float64 refinement and the estimator
    # are single-threaded numpy), so this beats one multi-threaded BLAS call at a time (measured
    # in BENCHMARKS.md). numpy releases the GIL in all the heavy steps.
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    with (
        precision,
        threadpool_limits(limits=1, user_api="blas"),
        ThreadPoolExecutor(workers, initializer=_single_threaded_worker, initargs=(knn_method,)) as pool,
    ):
        return list(pool.map(fit_batch, bounds))
