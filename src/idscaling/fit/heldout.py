"""Held-out extrapolation: refit a scaling law without its largest size, predict that size.

Why: a law that cannot predict its next point has not earned its exponent (the practice of the
scaling-law literature: Choshen et al. 2025, Farseer). For every fitted law the pipeline refits on
the points below the largest x, predicts the mean loss at the largest x with an interval, and
reports it beside the observed mean (the seeds' mean) and the relative error.

The saturating law's interval is the percentile interval of the refit's bootstrap replicates'
predictions (the replicates of the refit's own data, so it shows how well the smaller sizes pin
the extrapolation down); the pure law's is the Student-t interval of the mean response of the
log-log regression at the held-out x.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from idscaling.fit.power_law import fit_power_law
from idscaling.fit.saturating import fit_saturating_power_law

__all__ = [
    "HELDOUT_COLUMNS",
    "empty_heldout",
    "saturating_prediction",
    "pure_prediction",
    "heldout_fixed",
    "heldout_from_fits",
    "percentile_interval",
]

# The columns each fitted law gets in exponents.csv (and, but for the pure law's, joint_fit.csv).
HELDOUT_COLUMNS = [
    "heldout_x",
    "heldout_n_points",
    "heldout_observed",
    "heldout_predicted",
    "heldout_predicted_ci_low",
    "heldout_predicted_ci_high",
    "heldout_rel_error",
    "heldout_alpha",
    "heldout_predicted_pure",
    "heldout_rel_error_pure",
    "heldout_note",
]


def empty_heldout(note: str = "") -> dict[str, Any]:
    """The held-out columns when no extrapolation can be made, with the reason."""
    return {c: math.nan for c in HELDOUT_COLUMNS} | {"heldout_note": note}


def saturating_prediction(params: np.ndarray, x: float) -> np.ndarray:
    """``E + A x^-alpha`` for rows ``(alpha, E, A)`` of ``params`` (the order of the saturating
    fit's replicates)."""
    params = np.atleast_2d(np.asarray(params, dtype=np.float64))
    alpha, e, a = params[:, 0], params[:, 1], params[:, 2]
    return e + a * np.power(float(x), -alpha)


def percentile_interval(samples: np.ndarray, level: float) -> tuple[float, float]:
    """Percentile interval of the finite ``samples`` (NaN, NaN if there are none)."""
    samples = np.asarray(samples, dtype=np.float64)
    samples = samples[np.isfinite(samples)]
    if not samples.size:
        return math.nan, math.nan
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(samples, [tail, 100 - tail])
    return float(low), float(high)


def pure_prediction(x: np.ndarray, y: np.ndarray, x0: float, ci_level: float) -> tuple[float, float, float]:
    """The pure law ``y = A x^-alpha`` fitted to (x, y) by log-log least squares, at ``x0``: the
    prediction and the Student-t interval of the mean response (NaN bounds with 2 points)."""
    fit = fit_power_law(x, y, ci_level=ci_level)
    lx, ly = np.log(np.asarray(x, dtype=np.float64)), np.log(np.asarray(y, dtype=np.float64))
    l0 = math.log(float(x0))
    pred = math.log(fit["prefactor"]) - fit["alpha"] * l0
    n = lx.size
    if n <= 2:
        return math.exp(pred), math.nan, math.nan
    resid = ly - (math.log(fit["prefactor"]) - fit["alpha"] * lx)
    s = math.sqrt(float(resid @ resid) / (n - 2))
    sxx = float(((lx - lx.mean()) ** 2).sum())
    half = float(stats.t.ppf(0.5 + ci_level / 2, n - 2)) * s * math.sqrt(1 / n + (l0 - lx.mean()) ** 2 / sxx)
    return math.exp(pred), math.exp(pred - half), math.exp(pred + half)


def heldout_from_fits(
    saturating: dict | None,
    pure: tuple[float, float, float] | None,
    *,
    x0: float,
    n_points: int,
    observed: float,
    ci_level: float,
    note: str = "",
) -> dict[str, Any]:
    """The held-out columns from a refit saturating law (with ``replicates``, or None when it could
    not be made) and a pure-law prediction ``(pred, low, high)`` (or None)."""
    row = empty_heldout(note) | {
        "heldout_x": float(x0),
        "heldout_n_points": int(n_points),
        "heldout_observed": float(observed),
    }
    if saturating is not None:
        pred = float(saturating_prediction([saturating["alpha"], saturating["E"], saturating["A"]], x0)[0])
        low, high = percentile_interval(saturating_prediction(saturating["replicates"], x0), ci_level)
        row |= {
            "heldout_predicted": pred,
            "heldout_predicted_ci_low": low,
            "heldout_predicted_ci_high": high,
            "heldout_rel_error": pred / observed - 1,
            "heldout_alpha": float(saturating["alpha"]),
        }
    if pure is not None:
        row |= {"heldout_predicted_pure": pure[0], "heldout_rel_error_pure": pure[0] / observed - 1}
    return row


def heldout_fixed(
    x: Any, y: Any, *, ci_level: float = 0.95, n_bootstrap: int = 1000, seed: int = 0, resample: str = "points"
) -> dict[str, Any]:
    """Refit both laws to the points of (x, y) below the largest x and predict the mean y there
    (see the module docstring). The saturating refit uses the pipeline's bootstrap (``resample``)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if np.unique(x).size < 3:
        return empty_heldout("fewer than 3 distinct sizes: nothing left to extrapolate from")
    held = x == x.max()
    fit_x, fit_y = x[~held], y[~held]
    notes, saturating, pure = [], None, None
    try:
        saturating = fit_saturating_power_law(
            fit_x,
            fit_y,
            ci_level=ci_level,
            n_bootstrap=n_bootstrap,
            seed=seed,
            resample=resample,
            return_replicates=True,
        )
    except ValueError as err:
        notes.append(f"saturating refit: {err}")
    try:
        pure = pure_prediction(fit_x, fit_y, float(x.max()), ci_level)
    except ValueError as err:
        notes.append(f"pure refit: {err}")
    return heldout_from_fits(
        saturating,
        pure,
        x0=float(x.max()),
        n_points=int(held.sum()),
        observed=float(y[held].mean()),
        ci_level=ci_level,
        note="; ".join(notes),
    )
