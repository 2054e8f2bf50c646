"""Power-law fits of loss against data or model size.

``y = A * x**(-alpha)`` is fitted by ordinary least squares on
``log y = log A - alpha * log x`` (``scipy.stats.linregress``), the usual way
scaling exponents are read off a log-log plot. No irreducible-loss offset is
fitted: with the handful of points a sweep gives, a three-parameter fit is
poorly determined; fit on the range where the curve is straight in log-log.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

__all__ = ["fit_power_law"]


def fit_power_law(x: Any, y: Any, ci_level: float = 0.95) -> dict[str, Any]:
    """Fit ``y = A * x**(-alpha)`` by least squares in log-log space.

    Parameters
    ----------
    x, y : 1-D array-likes of the same length
        Positive, finite values (e.g. number of training tokens and validation
        loss). Repeated x values (several seeds) are separate points.
    ci_level : float, default=0.95
        Two-sided level of the confidence interval on ``alpha``, in (0, 1).

    Returns
    -------
    dict
        ``alpha`` (= -slope), ``alpha_ci_low``, ``alpha_ci_high`` (Student-t
        interval ``alpha -/+ t_{n-2} * stderr(slope)``; NaN when n == 2, where
        there are no residual degrees of freedom), ``prefactor`` (A),
        ``r2``, ``n_points``, ``ci_level``. Plain Python floats/ints.

    Raises
    ------
    ValueError
        Mismatched or non-1-D inputs, non-finite or non-positive values, fewer
        than 2 points, fewer than 2 distinct x, or ``ci_level`` outside (0, 1).
    """
    if not 0.0 < float(ci_level) < 1.0:
        raise ValueError(f"ci_level must be in (0, 1), got {ci_level!r}")
    try:
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"x and y must be numeric: {err}") from None
    if x.ndim != 1 or y.ndim != 1:
        raise ValueError(f"x and y must be 1-D, got shapes {x.shape} and {y.shape}")
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same length, got {x.size} and {y.size}")
    n = int(x.size)
    if n < 2:
        raise ValueError(f"need at least 2 points to fit a power law, got {n}")
    for name, values in (("x", x), ("y", y)):
        n_bad = int(np.count_nonzero(~np.isfinite(values)))
        if n_bad:
            raise ValueError(f"{name} contains NaN or inf ({n_bad} of {n} values)")
        n_bad = int(np.count_nonzero(values <= 0))
        if n_bad:
            raise ValueError(
                f"{name} must be positive for a log-log fit; {n_bad} of {n} values are <= 0 "
                f"(min {values.min()!r})"
            )
    if np.unique(x).size < 2:
        raise ValueError(f"need at least 2 distinct x values, got only x={x[0]!r} ({n} points)")

    res = stats.linregress(np.log(x), np.log(y))
    alpha = -float(res.slope)
    if n > 2:
        half_width = float(stats.t.ppf(0.5 + float(ci_level) / 2.0, n - 2)) * float(res.stderr)
        ci_low, ci_high = alpha - half_width, alpha + half_width
    else:
        ci_low = ci_high = float("nan")
    return {
        "alpha": alpha,
        "alpha_ci_low": float(ci_low),
        "alpha_ci_high": float(ci_high),
        "prefactor": float(np.exp(res.intercept)),
        "r2": float(res.rvalue) ** 2,
        "n_points": n,
        "ci_level": float(ci_level),
    }
