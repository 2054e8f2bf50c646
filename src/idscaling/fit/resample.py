"""How the saturating fit's bootstrap draws its resamples, for points that may hold several runs
(seeds) per x (:data:`SATURATING_RESAMPLING`):

    * "points": pairs bootstrap, n points drawn with replacement from all
      of them -- with several seeds, runs drawn from all (size, seed) runs.
      The pipeline's choice for one seed per size and for several
      (``fit.resample`` in the config).
    * "within_x": stratified by x -- at each x its r runs are drawn with
      replacement, so every resample keeps every size and its number of
      seeds; each drawn value is moved away from the x's mean by
      ``sqrt(r / (r - 1))``, without which the resampled means vary only
      (r - 1) / r as much as the real ones (2/3 at r = 3).
    * "within_x_unscaled": the same without that factor (the textbook
      stratified bootstrap; kept to show what the factor does).
    * "within_x_pooled": at each x its mean plus deviations (scaled as
      above) drawn from all sizes' deviations pooled: the same noise
      model, with S(r - 1) rather than r - 1 degrees of freedom behind each
      size's spread, if that spread is the same at every x.
    * "groups": whole groups (e.g. seed curves, one point per x each)
      drawn with replacement; needs ``groups``, all of one size.

Why "points" is the pipeline's default: it covered the true alpha best in simulations at the
latent sweep's design and measured noise, and sees part of a lack of fit (a deviation of the
curve from the law that a size's seeds share) that the within-x schemes cannot
(:mod:`idscaling.fit.coverage`; the numbers are in BENCHMARKS.md, "Saturating-fit coverage").
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["SATURATING_RESAMPLING", "resolve_resampling", "bootstrap_resamples"]

SATURATING_RESAMPLING = ("points", "within_x_pooled", "within_x", "within_x_unscaled", "groups")


def resolve_resampling(x: np.ndarray, resample: str, groups: Any) -> tuple[str, np.ndarray | None]:
    """Check ``resample`` against the data; returns it and, for "groups", each point's group
    as an integer code."""
    if resample not in SATURATING_RESAMPLING:
        raise ValueError(f"resample must be one of {SATURATING_RESAMPLING}, got {resample!r}")
    if groups is not None and resample != "groups":
        raise ValueError(f"groups is only used with resample='groups', got resample={resample!r}")
    values, counts = np.unique(x, return_counts=True)
    if resample.startswith("within_x") and counts.min() < 2:
        raise ValueError(
            f"resample={resample!r} needs at least 2 points (seeds) at every x; "
            f"x={float(values[counts.argmin()])!r} has 1"
        )
    if resample != "groups":
        return resample, None
    if groups is None:
        raise ValueError("resample='groups' needs groups (e.g. the seed of each point)")
    labels = np.asarray(groups)
    if labels.shape != x.shape:
        raise ValueError(f"groups must have one label per point: got shape {labels.shape} for {x.size} points")
    codes = np.unique(labels, return_inverse=True)[1].ravel()
    sizes = np.bincount(codes)
    if sizes.size < 2:
        raise ValueError(f"resample='groups' needs at least 2 groups, got {sizes.size}")
    if sizes.min() != sizes.max():
        raise ValueError(
            f"resample='groups' needs groups of equal size (e.g. every seed at every x); "
            f"got sizes from {sizes.min()} to {sizes.max()}"
        )
    return "groups", codes


def bootstrap_resamples(
    x: np.ndarray, log_y: np.ndarray, group_codes: np.ndarray | None, resample: str, n_boot: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(idx, boot_log_y)``: resample k is refitted to ``log_u[idx[k]]`` and ``boot_log_y[k]``.

    Schemes as in :func:`fit_saturating_power_law`. "points" draws exactly as
    before the other schemes existed (same generator calls), so results for a
    given seed are unchanged.
    """
    rng = np.random.default_rng(seed)
    n = x.size
    if resample == "points":
        idx = rng.integers(0, n, size=(n_boot, n))
        return idx, log_y[idx]
    if resample == "groups":
        members = np.stack([np.flatnonzero(group_codes == g) for g in range(int(group_codes.max()) + 1)])
        draws = rng.integers(0, members.shape[0], size=(n_boot, members.shape[0]))
        idx = members[draws].reshape(n_boot, n)
        return idx, log_y[idx]
    if resample == "within_x_pooled":
        _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
        means = np.bincount(inverse, weights=log_y) / counts
        dev = (log_y - means[inverse]) * np.sqrt(counts / (counts - 1))[inverse]
        draw = rng.integers(0, n, size=(n_boot, n))
        idx = np.broadcast_to(np.arange(n), (n_boot, n))
        return idx, means[inverse] + dev[draw]
    idx = np.empty((n_boot, n), dtype=np.intp)
    boot_log_y = np.empty((n_boot, n))
    for value in np.unique(x):
        cols = np.flatnonzero(x == value)
        r = cols.size
        idx[:, cols] = cols[rng.integers(0, r, size=(n_boot, r))]
        drawn = log_y[idx[:, cols]]
        if resample == "within_x":
            mean = float(log_y[cols].mean())
            drawn = mean + math.sqrt(r / (r - 1)) * (drawn - mean)
        boot_log_y[:, cols] = drawn
    return idx, boot_log_y
