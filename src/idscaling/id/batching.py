"""The paper's protocol (Havrilla & Liao 2024, authors' ``embeddings.py``) for any of the
estimators: :func:`estimate_id`.

Deduplicate (in the metric's geometry, :mod:`idscaling.id.duplicates`), shuffle, split into
consecutive batches of 3,600 points, fit the estimator on each batch (neighbours searched
within the batch) and report the mean of the batch estimates; plus a percentile bootstrap
confidence interval that the paper does not have, and a count of near-duplicate points
(which the paper does not check either; they pull the harmonic-mean combination down).
:func:`estimate_id` fits its batches in parallel threads.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

import numpy as np

from idscaling.id.base import (
    COMBS,
    DEFAULT_COMB,
    DEFAULT_K,
    ESTIMATORS,
    KNN_METHODS,
    TWONN_METHODS,
    check_int,
    check_metric,
    combine,
    check_rows,
    combine_checked,
    validate_points,
)
from idscaling.id.duplicates import NEAR_DUPLICATE_TOL, near_duplicates, unique_rows
from idscaling.id.gride import gride_from_distances, gride_scale_curve, mean_over_batches, wald_interval
from idscaling.id.knn import _ieee_float32_matmul, _import_faiss, _resolve_knn_method, knn_distances
from idscaling.id.mle import pointwise_mle
from idscaling.id.tle import check_tle_metric, tle_pointwise
from idscaling.id.twonn import twonn_dimension, twonn_ratios

__all__ = ["estimate_id", "batch_indices", "settings_for_estimator"]

log = logging.getLogger(__name__)

# Largest number of float64 values materialised at once by the bootstrap
# (replicates x points of one batch): ~64 MB.
_BOOTSTRAP_CHUNK_ELEMENTS = 8_000_000


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


def batch_indices(X: np.ndarray, batch_size: int = 3600, k: int = DEFAULT_K, seed: int = 0,
                  metric: str = "cosine") -> tuple[list[np.ndarray], int]:
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


def _bootstrap(per_batch: list[np.ndarray], statistic: Callable[[np.ndarray], np.ndarray], n_bootstrap: int,
               rng: np.random.Generator) -> np.ndarray:
    """Replicates of the mean over batches of ``statistic`` (applied to rows of resampled
    values), each batch's per-point values resampled with replacement, in chunks of at most
    ``_BOOTSTRAP_CHUNK_ELEMENTS``."""
    replicates = np.zeros(n_bootstrap)
    for values in per_batch:
        m = values.size
        chunk = max(1, _BOOTSTRAP_CHUNK_ELEMENTS // m)
        for b0 in range(0, n_bootstrap, chunk):
            b1 = min(n_bootstrap, b0 + chunk)
            idx = rng.integers(0, m, size=(b1 - b0, m))
            replicates[b0:b1] += statistic(values[idx])
    return replicates / len(per_batch)


def _single_threaded_worker(knn_method: str) -> None:
    """Thread initializer of estimate_id's batch pool: faiss's OpenMP loops run single-threaded
    in this thread (libgomp keeps the setting per thread; the caller's is untouched), as its
    BLAS already is under threadpool_limits, so that parallel batches do not oversubscribe."""
    if knn_method == "faiss":
        _import_faiss().omp_set_num_threads(1)


def settings_for_estimator(settings: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of :func:`estimate_id` that a config's ``id`` section gives for its
    estimator (TwoNN has no k or comb; only TwoNN has discard_fraction; ``knn``, if given, is
    the neighbour search method ``knn_method``; ``near_duplicate_tol`` and
    ``drop_near_duplicates`` are passed on if given). TLE with the cosine metric is refused
    here, before any data is read (see :mod:`idscaling.id.tle`)."""
    if settings["estimator"] == "tle":
        check_tle_metric(settings["metric"])
    kwargs = {key: settings[key] for key in ("estimator", "metric", "batch_size", "n_bootstrap", "ci_level", "seed")}
    if "knn" in settings:
        kwargs["knn_method"] = settings["knn"]
    kwargs |= {key: settings[key] for key in ("near_duplicate_tol", "drop_near_duplicates") if key in settings}
    if settings["estimator"] == "twonn":
        kwargs["discard_fraction"] = settings["discard_fraction"]
    elif settings["estimator"] == "gride":  # no k or comb; its ranks if given
        kwargs |= {key: settings[key] for key in ("gride_n1", "gride_range_max") if key in settings}
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
    near_duplicate_tol: float = NEAR_DUPLICATE_TOL,
    drop_near_duplicates: bool = False,
    gride_n1: int = 1,
    gride_range_max: int = 64,
) -> dict[str, Any]:
    """Intrinsic dimension of embeddings with the paper's batched protocol.

    Steps: drop exact duplicate rows (counted; under ``metric="cosine"`` rows equal after L2
    normalisation, e.g. positive multiples, are duplicates); shuffle the rows with ``seed``;
    split them into consecutive batches of ``batch_size``; fit the estimator on
    each batch separately (neighbours searched within the batch only); the
    estimate is the mean of the batch estimates.

    Near-duplicates: in each batch, the points whose nearest neighbour is closer than
    ``near_duplicate_tol`` times the batch's median nearest-neighbour distance are counted
    (one per extra copy, see :func:`~idscaling.id.duplicates.near_duplicates`) and reported
    in ``n_near_duplicates`` with a logged warning: they pull the estimate down, the
    harmonic-mean combination most. By default they are kept, so that the paper's protocol is
    unchanged; ``drop_near_duplicates=True`` removes the extra copies (keeping the earliest
    input row of each group) and fits the batch again on the rest.

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
    estimator : {"mle", "twonn", "tle", "gride"}
        :class:`MLE` (the paper's), :class:`TwoNN`, :class:`TLE` or
        :class:`~idscaling.id.gride.GRIDE` (scale-dependent; see ``gride_n1``).
    k : int, optional
        Neighbours per point for "mle" and "tle" (default 20, the authors' K).
        TwoNN always uses the first 2 and rejects any other ``k``.
    metric : {"cosine", "euclidean"}
        Default cosine, as the authors. TLE refuses cosine (use euclidean, on L2-normalised
        rows for directions).
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
    near_duplicate_tol : float
        Relative threshold of the near-duplicate check, >= 0 (default 1e-3, justified at
        ``idscaling.id.duplicates.NEAR_DUPLICATE_TOL``; 0 disables it).
    drop_near_duplicates : bool
        Remove the extra copies of near-duplicates from each batch before estimating.
    gride_n1, gride_range_max : int
        GRIDE only: the estimate is GRIDE's at ranks (gride_n1, 2 gride_n1) (default 1: TwoNN's
        ratio, fitted by the likelihood), and each batch also gives its scale curve over n1 =
        1, 2, 4, ... with 2 n1 <= gride_range_max (default 64, DADApy's); the neighbours
        searched are ``k = max(2 gride_n1, gride_range_max)``. The interval is not bootstrapped
        (``n_bootstrap`` is unused): it is the Wald interval of the mean of the batch estimates
        from their likelihood standard errors (:func:`~idscaling.id.gride.wald_interval`),
        with the same caveats as the bootstrap.

    Returns
    -------
    dict
        JSON-serialisable: estimator, dimension, ci_low, ci_high, ci_level, k,
        metric, comb, unbiased, batch_size, n_points_input,
        n_duplicates_removed, n_near_duplicates, near_duplicate_tol, drop_near_duplicates,
        n_points_used (after any near-duplicates were dropped), n_batches, batch_estimates,
        n_bootstrap, seed, discard_fraction, twonn_method, epsilon, knn_method. Settings
        that do not apply to the estimator are None (e.g. comb for TwoNN,
        epsilon for the MLE, n_bootstrap for GRIDE); ``k`` is the number of neighbours used (2
        for TwoNN, the largest rank searched for GRIDE). GRIDE's result also has gride_n1,
        gride_range_max and ``scale_curve``: one dict per n1 with n1, n2, dimension and scale
        (means over batches), error (of that mean) and n_ratios (see
        :func:`~idscaling.id.gride.mean_over_batches`).
    """
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}")
    check_metric(metric)
    if estimator == "twonn":
        if k not in (None, 2):
            raise ValueError(f"k does not apply to twonn (it uses the first 2 neighbours), got k={k!r}")
        if comb is not None:
            raise ValueError(f"comb does not apply to twonn (no pointwise estimates), got comb={comb!r}")
        k = 2
    elif estimator == "gride":
        if k is not None:
            raise ValueError(f"k does not apply to gride (set gride_n1 and gride_range_max), got k={k!r}")
        if comb is not None:
            raise ValueError(f"comb does not apply to gride (no pointwise estimates), got comb={comb!r}")
        gride_n1 = check_int("gride_n1", gride_n1, 1)
        gride_range_max = check_int("gride_range_max", gride_range_max, 2)
        k = max(2 * gride_n1, gride_range_max)  # one search for the estimate and the scale curve
    else:
        k = DEFAULT_K if k is None else k
        comb = DEFAULT_COMB[estimator] if comb is None else comb
        if comb not in COMBS:
            raise ValueError(f"comb must be one of {COMBS}, got {comb!r}")
    k = check_int("k", k, 2)
    if unbiased and estimator != "mle":
        raise ValueError(f"unbiased applies to the mle estimator only, not {estimator!r}")
    if unbiased and k < 3:
        raise ValueError(f"unbiased=True needs k >= 3 neighbours, got k={k}")
    if estimator == "tle":  # after the settings that do not apply: those are named first
        check_tle_metric(metric)
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
        check_int("n_jobs", n_jobs, 1)
    if not 0.0 <= float(near_duplicate_tol) < np.inf:
        raise ValueError(f"near_duplicate_tol must be a finite number >= 0, got {near_duplicate_tol!r}")
    if not isinstance(drop_near_duplicates, (bool, np.bool_)):
        raise ValueError(f"drop_near_duplicates must be True or False, got {drop_near_duplicates!r}")
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
    check_rows(X, metric)
    n_input = int(X.shape[0])

    keep = unique_rows(X, metric)
    n_unique = int(keep.size)
    if n_unique <= k:
        raise ValueError(
            f"need more than k={k} distinct points, got {n_unique} "
            f"({n_input} rows, {n_input - n_unique} duplicates removed)"
        )

    rng = np.random.default_rng(seed)
    order = keep[rng.permutation(n_unique)]
    bounds = _batch_bounds(n_unique, int(batch_size), int(k))

    def fit_batch(bound: tuple[int, int]) -> tuple[float, Any, int]:
        """Estimate of one batch, its per-point values (pointwise estimates for mle and tle,
        ratios mu for twonn; for gride its standard error and scale curve) and its number of
        near-duplicates."""
        start, stop = bound
        rows = order[start:stop]
        Xb = validate_points(X[rows], metric, k + 1, f"k={k} points in a batch")
        distances, idx = knn_distances(Xb, k, metric, method=method)
        redundant = near_duplicates(distances, idx, metric, float(near_duplicate_tol), priority=rows)
        n_near = int(np.count_nonzero(redundant))
        if drop_near_duplicates and n_near:
            Xb = validate_points(Xb[~redundant], metric, k + 1,
                                 f"k={k} points in a batch after dropping {n_near} near-duplicates")
            distances, idx = knn_distances(Xb, k, metric, method=method)
        if estimator == "mle":
            values = pointwise_mle(distances, unbiased=bool(unbiased))
            return float(combine(values, comb)), values, n_near
        if estimator == "tle":
            values = tle_pointwise(Xb, distances, idx, metric, float(epsilon))
            return combine_checked(values, comb), values, n_near
        if estimator == "gride":
            d, err = gride_from_distances(distances, gride_n1)
            return d, (err, gride_scale_curve(distances, gride_range_max)), n_near
        values = twonn_ratios(distances)
        return float(twonn_dimension(values, float(discard_fraction), twonn_method)), values, n_near

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
    batch_estimates = [est for est, _, _ in fitted]
    per_point = [values for _, values, _ in fitted]
    n_near = sum(count for _, _, count in fitted)
    n_batched = int(sum(stop - start for start, stop in bounds))
    dimension = float(np.mean(batch_estimates))
    if n_near:
        log.warning(
            "%d of %d points (%.2g%%) are near-duplicates (nearest neighbour closer than %g x the batch's "
            "median nearest-neighbour distance); %s", n_near, n_batched, 100.0 * n_near / n_batched,
            float(near_duplicate_tol),
            "dropped (drop_near_duplicates=True)" if drop_near_duplicates else
            "kept: they pull the estimate down (comb='mle' most); drop_near_duplicates=True removes them",
        )

    ci_low: float | None = None
    ci_high: float | None = None
    scale_curve: list[dict[str, Any]] | None = None
    if estimator == "gride":
        scale_curve = mean_over_batches([curve for _, curve in per_point])
        ci_low, ci_high = wald_interval(dimension, [err for err, _ in per_point], float(ci_level))
    elif n_bootstrap > 0:
        if estimator == "twonn":
            replicates = _bootstrap(per_point, lambda mu: twonn_dimension(mu, float(discard_fraction), twonn_method),
                                    int(n_bootstrap), rng)
        else:
            replicates = _bootstrap(per_point, lambda pw: combine(pw, comb, axis=1), int(n_bootstrap), rng)
        tail = 100.0 * (1.0 - float(ci_level)) / 2.0
        ci_low, ci_high = (float(v) for v in np.percentile(replicates, [tail, 100.0 - tail]))

    gride = {"gride_n1": gride_n1, "gride_range_max": gride_range_max, "scale_curve": scale_curve}
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
        "n_near_duplicates": n_near,
        "near_duplicate_tol": float(near_duplicate_tol),
        "drop_near_duplicates": bool(drop_near_duplicates),
        "n_points_used": n_batched - (n_near if drop_near_duplicates else 0),
        "n_batches": len(bounds),
        "batch_estimates": batch_estimates,
        "n_bootstrap": int(n_bootstrap) if estimator != "gride" else None,
        "seed": int(seed),
        "discard_fraction": float(discard_fraction) if estimator == "twonn" else None,
        "twonn_method": twonn_method if estimator == "twonn" else None,
        "epsilon": float(epsilon) if estimator == "tle" else None,
        "knn_method": knn_method,
    } | (gride if estimator == "gride" else {})
