"""The pure power law ``y = A x^-alpha``, by least squares in log-log space."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from idscaling.fit.common import (
    check_level,
    check_n_bootstrap,
    check_values,
    percentile_ci,
    positive_arrays,
    sd,
)

__all__ = ["fit_power_law"]


def fit_power_law(x: Any, y: Any, ci_level: float = 0.95, *, n_bootstrap: int = 0, seed: int = 0) -> dict[str, Any]:
    """Fit ``y = A * x**(-alpha)`` by least squares in log-log space.

    Parameters
    ----------
    x, y : 1-D array-likes of the same length
        Positive, finite values (e.g. number of training tokens and validation
        loss). Repeated x values (several seeds) are separate points.
    ci_level : float, default=0.95
        Two-sided level of the confidence interval on ``alpha``, in (0, 1).
    n_bootstrap : int, default=0
        If > 0, also a pairs-bootstrap percentile interval on alpha from this
        many resamples of the points (keys below). The Student-t interval stays
        the primary one: it is exact for Gaussian errors in log y, whereas the
        percentile bootstrap is too narrow with few points (its measured
        coverage: BENCHMARKS.md).
    seed : int, default=0
        Seed of the bootstrap resampling.

    Returns
    -------
    dict
        ``alpha`` (= -slope), ``alpha_ci_low``, ``alpha_ci_high`` (Student-t
        interval ``alpha -/+ t_{n-2} * stderr(slope)``; NaN when n == 2, where
        there are no residual degrees of freedom), ``prefactor`` (A),
        ``r2``, ``n_points``, ``ci_level``. Plain Python floats/ints.
        With ``n_bootstrap > 0`` also ``alpha_boot_ci_low``,
        ``alpha_boot_ci_high``, ``alpha_boot_se``, ``n_bootstrap`` and
        ``bootstrap_failed_fraction`` (resamples with a single distinct x, which
        have no slope).

    Raises
    ------
    ValueError
        Mismatched or non-1-D inputs, non-finite or non-positive values, fewer
        than 2 points, fewer than 2 distinct x, ``ci_level`` outside (0, 1) or
        a negative ``n_bootstrap``.
    """
    level = check_level(ci_level)
    n_boot = check_n_bootstrap(n_bootstrap)
    x, y = positive_arrays((("x", x), ("y", y)))
    n = int(x.size)
    if n < 2:
        raise ValueError(f"need at least 2 points to fit a power law, got {n}")
    check_values((("x", x), ("y", y)), "a log-log fit")
    if np.unique(x).size < 2:
        raise ValueError(f"need at least 2 distinct x values, got only x={x[0]!r} ({n} points)")

    lx, ly = np.log(x), np.log(y)
    res = stats.linregress(lx, ly)
    alpha = -float(res.slope)
    if n > 2:
        half_width = float(stats.t.ppf(0.5 + level / 2.0, n - 2)) * float(res.stderr)
        ci_low, ci_high = alpha - half_width, alpha + half_width
    else:
        ci_low = ci_high = float("nan")
    out: dict[str, Any] = {
        "alpha": alpha,
        "alpha_ci_low": float(ci_low),
        "alpha_ci_high": float(ci_high),
        "prefactor": float(np.exp(res.intercept)),
        "r2": float(res.rvalue) ** 2,
        "n_points": n,
        "ci_level": level,
    }
    if n_boot:
        # Closed-form OLS slope for all resamples at once (fast: no refit loop).
        idx = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
        bx, by = lx[idx], ly[idx]
        bx_c = bx - bx.mean(axis=1, keepdims=True)
        sxx = np.sum(bx_c**2, axis=1)
        ok = sxx > 1e-12 * max(float(np.sum((lx - lx.mean()) ** 2)), 1e-300)
        slopes = np.full(n_boot, np.nan)
        slopes[ok] = np.sum(bx_c[ok] * by[ok], axis=1) / sxx[ok]
        boot_alpha = -slopes
        out["alpha_boot_ci_low"], out["alpha_boot_ci_high"] = percentile_ci(boot_alpha, level)
        out["alpha_boot_se"] = sd(boot_alpha)
        out["n_bootstrap"] = n_boot
        out["bootstrap_failed_fraction"] = float(np.mean(~ok))
    return out
