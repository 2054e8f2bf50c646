"""The saturating law ``y = E + A x^-alpha`` (E >= 0): robust least squares in log y from a grid
of starts, with bootstrap percentile intervals (pairs by default; seeds within sizes or whole seed
curves as options). Its alpha is the exponent of the reducible loss ``y - E``, the quantity the
theory bounds. Needs points over a range wide enough for the curvature to show; with few points E
and alpha trade off against each other and the intervals are wide (coverage measured in
BENCHMARKS.md).

The residuals are ``log(E + A x^-alpha) - log y`` (relative errors, as in the log-log fit of
:func:`idscaling.fit.power_law.fit_power_law` and the Chinchilla objective: loss noise is roughly
multiplicative across scales), minimised under a robust loss with the cost function of
``scipy.optimize.least_squares`` (:mod:`idscaling.fit.solver`: a vectorised Levenberg-Marquardt
runs the many starts and bootstrap refits, ``least_squares`` checks and polishes the best
full-data fit). Internally the prefactor is ``A0 = A * x_ref**(-alpha)``, the excess loss at the
geometric mean ``x_ref`` of x: ``log A`` itself is strongly correlated with alpha (it is the
extrapolation to x = 1, far outside the data), ``log A0`` is not, which makes the problem much
better conditioned. A is reported in the original parameterisation, ``A = A0 * x_ref**alpha``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from idscaling.fit.common import (
    blas_single_threaded,
    check_level,
    check_n_bootstrap,
    check_values,
    percentile_ci,
    positive_arrays,
    r2,
    sd,
)
from idscaling.fit.resample import bootstrap_resamples, resolve_resampling
from idscaling.fit.solver import (
    batch_fit,
    best_fit,
    least_squares_fit,
    saturating_residuals,
    starting_grid,
)

__all__ = ["fit_saturating_power_law", "SATURATING_LOSSES"]

SATURATING_LOSSES = ("huber", "soft_l1", "linear")


@blas_single_threaded
def fit_saturating_power_law(
    x: Any,
    y: Any,
    *,
    loss: str = "huber",
    f_scale: float | None = None,
    n_starts: int = 8,
    n_bootstrap: int = 1000,
    ci_level: float = 0.95,
    seed: int = 0,
    alpha_max: float = 5.0,
    resample: str = "points",
    groups: Any = None,
    replicates: tuple[Any, Any] | None = None,
    return_replicates: bool = False,
) -> dict[str, Any]:
    """Fit ``y = E + A * x**(-alpha)`` (E >= 0) with bootstrap intervals.

    The method is the module docstring's.

    Parameters
    ----------
    x, y : 1-D array-likes of the same length
        Positive, finite values (data or model size, loss). Repeated x values
        (several seeds) are separate points.
    loss : {"huber", "soft_l1", "linear"}, default="huber"
        Loss of ``least_squares``; "linear" is ordinary least squares.
    f_scale : float, optional
        Residual scale (in log y) beyond which the robust loss down-weights a
        point; default estimated with the fit (:func:`_fit_and_scale`), kept
        fixed in the bootstrap refits. Not used for ``loss="linear"``.
    n_starts : int, default=8
        Starting alphas, three starting E each (:func:`~idscaling.fit.solver.starting_grid`).
    n_bootstrap : int, default=1000
        Bootstrap resamples (``resample`` says how they are drawn), each
        refitted from the full-data optimum (a resample is a perturbation of
        the data: one warm start suffices). 0: no intervals (NaN).
    ci_level, seed : float, int
        Level of the percentile intervals (default 0.95); seed of the resampling (default 0).
    alpha_max : float, default=5.0
        Upper bound on alpha (see the comment on the bounds in the code).
    resample : str, default="points"
        How the bootstrap draws its resamples, for points that may hold
        several runs (seeds) per x: "points" (pairs, the pipeline's default),
        "within_x", "within_x_unscaled", "within_x_pooled" or "groups"
        (:mod:`idscaling.fit.resample` describes each and why "points").
    groups : array-like, optional
        Group label (e.g. seed) of each point; only for ``resample="groups"``.
    replicates : (idx, y_boot), optional
        The caller's bootstrap replicates instead of ``resample`` (e.g. the
        envelope's): (B, m) arrays, replicate b being ``(x[idx[b]], y_boot[b])``.
    return_replicates : bool, default=False
        Also return ``replicates``: the refits' (alpha, E, A), (B, 3), NaN rows
        where a refit failed (e.g. for prediction intervals).

    Returns
    -------
    dict
        ``alpha``, ``E``, ``A`` and for each of them ``*_ci_low``,
        ``*_ci_high`` (percentile bootstrap over the converged refits) and
        ``*_se`` (bootstrap standard deviation); ``r2`` (on log y);
        ``n_points``, ``ci_level``, ``loss``, ``f_scale`` (NaN for "linear"),
        ``x_ref``, ``at_bound`` (parameters of the fit at a bound: "E" at 0,
        "alpha" at 0 or ``alpha_max``), ``n_bootstrap``, ``resample``,
        ``bootstrap_failed_fraction`` (refits that did not converge, or with
        fewer than 3 distinct x) and ``bootstrap_at_bound_fraction`` (valid
        constrained refits, kept in the intervals: E = 0 is a pure power law).

    Raises
    ------
    ValueError
        Invalid inputs or settings, fewer than 4 points or 3 distinct x (with 3
        the curve interpolates them: nothing is left to estimate the noise or
        check the shape), data ``resample`` cannot draw from, or no start
        converging.
    """
    level = check_level(ci_level)
    given = _checked_replicates(replicates, np.size(x))
    n_boot = check_n_bootstrap(n_bootstrap if given is None else given[0].shape[0])
    x, y = _checked_points(x, y, loss, n_starts, alpha_max, f_scale)
    n = int(x.size)
    resample, group_codes = resolve_resampling(x, resample, groups)
    log_x, log_y = np.log(x), np.log(y)
    log_x_ref = float(log_x.mean())
    log_u = log_x - log_x_ref
    alpha_max = float(alpha_max)
    theta_hat, scale = _fit_and_scale(
        log_u, log_y, starting_grid(log_u, log_y, int(n_starts), alpha_max), loss, f_scale, alpha_max
    )

    alpha, e, a = _natural(theta_hat, log_x_ref)
    out: dict[str, Any] = {
        "alpha": alpha,
        "E": e,
        "A": a,
        "r2": r2(saturating_residuals(theta_hat, log_u, log_y), log_y),
        "n_points": n,
        "ci_level": level,
        "loss": loss,
        "f_scale": float(scale) if loss != "linear" else math.nan,
        "x_ref": float(np.exp(log_x_ref)),
        "at_bound": _bound_names(theta_hat, float(y.min()), alpha_max),
        "n_bootstrap": n_boot,
        "resample": resample if given is None else "given",
    }
    boots, n_failed, n_at_bound = np.full((n_boot, 3), np.nan), 0, 0
    if n_boot:
        idx, boot_log_y = (
            bootstrap_resamples(x, log_y, group_codes, resample, n_boot, seed)
            if given is None
            else (given[0], np.log(given[1]))
        )
        boots, n_failed, n_at_bound = _replicates(
            x, log_u, idx, boot_log_y, theta_hat, loss, scale, alpha_max, log_x_ref, float(y.min())
        )
    out |= _intervals(boots, n_failed, n_at_bound, level)
    if return_replicates:
        out["replicates"] = boots
    return out


def _intervals(boots: np.ndarray, n_failed: int, n_at_bound: int, level: float) -> dict[str, float]:
    """Percentile intervals and standard errors of (alpha, E, A) over the refits (``boots``, NaN rows
    where one failed), and the fractions of refits that failed or ended at a bound."""
    n_boot = boots.shape[0]
    out: dict[str, float] = {}
    for j, name in enumerate(("alpha", "E", "A")):
        out[f"{name}_ci_low"], out[f"{name}_ci_high"] = percentile_ci(boots[:, j], level)
        out[f"{name}_se"] = sd(boots[:, j])
    out["bootstrap_failed_fraction"] = n_failed / n_boot if n_boot else math.nan
    n_ok = n_boot - n_failed
    out["bootstrap_at_bound_fraction"] = n_at_bound / n_ok if n_ok else math.nan
    return out


def _replicates(
    x: np.ndarray,
    log_u: np.ndarray,
    idx: np.ndarray,
    boot_log_y: np.ndarray,
    theta_hat: np.ndarray,
    loss: str,
    scale: float,
    alpha_max: float,
    log_x_ref: float,
    y_min: float,
) -> tuple[np.ndarray, int, int]:
    """The refits' (alpha, E, A) (NaN rows where unusable or failed), the number that failed and
    the number at a bound."""
    boots = np.full((len(idx), 3), np.nan)
    thetas, usable = _refit(x, log_u, idx, boot_log_y, theta_hat, loss, scale, alpha_max)
    n_failed, n_at_bound = int(np.count_nonzero(~usable)), 0
    for k, i in enumerate(np.flatnonzero(usable)):
        if not np.all(np.isfinite(thetas[k])):
            n_failed += 1
            continue
        boots[i] = _natural(thetas[k], log_x_ref)
        n_at_bound += bool(_bound_names(thetas[k], y_min, alpha_max))
    return boots, n_failed, n_at_bound


def _natural(theta: np.ndarray, log_x_ref: float) -> tuple[float, float, float]:
    """(alpha, E, A) of the internal parameters (log A0, E, alpha)."""
    log_a0, e, alpha = theta
    return float(alpha), float(e), float(np.exp(log_a0 + alpha * log_x_ref))


def _bound_names(theta: np.ndarray, y_min: float, alpha_max: float) -> list[str]:
    """The parameters at a bound, with a tolerance (least_squares keeps iterates strictly inside)."""
    names = []
    if theta[1] <= 1e-8 * y_min:
        names.append("E")
    if theta[2] <= 1e-8 or theta[2] >= alpha_max * (1 - 1e-8):
        names.append("alpha")
    return names


def _checked_replicates(replicates: tuple[Any, Any] | None, n_points: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The caller's ``(idx, y)`` replicates as arrays, checked; None when there are none."""
    if replicates is None:
        return None
    rep_idx, rep_y = (np.asarray(a) for a in replicates)
    if rep_idx.ndim != 2 or rep_idx.shape != rep_y.shape or not np.issubdtype(rep_idx.dtype, np.integer):
        raise ValueError("replicates must be (idx, y) integer and float arrays of one shape (B, m)")
    if rep_idx.size and (rep_idx.min() < 0 or rep_idx.max() >= n_points):
        raise ValueError("replicates: an index is outside the points")
    if not (np.all(np.isfinite(rep_y)) and np.all(rep_y > 0)):
        raise ValueError("replicates: y values must be positive and finite")
    return rep_idx, rep_y


def _checked_points(x: Any, y: Any, loss: str, n_starts: Any, alpha_max: Any, f_scale: Any) -> list[np.ndarray]:
    """x and y as float arrays, with the settings, checked (see the Raises of the fit)."""
    if loss not in SATURATING_LOSSES:
        raise ValueError(f"loss must be one of {SATURATING_LOSSES}, got {loss!r}")
    if isinstance(n_starts, bool) or not isinstance(n_starts, (int, np.integer)) or n_starts < 1:
        raise ValueError(f"n_starts must be an integer >= 1, got {n_starts!r}")
    if not float(alpha_max) > 0:
        raise ValueError(f"alpha_max must be > 0, got {alpha_max!r}")
    if f_scale is not None and not (math.isfinite(float(f_scale)) and float(f_scale) > 0):
        raise ValueError(f"f_scale must be a positive number, got {f_scale!r}")
    x, y = positive_arrays((("x", x), ("y", y)))
    if x.size <= 3:
        raise ValueError(
            f"need at least 4 points to fit a saturating power law (3 parameters E, A, alpha), got {x.size}"
        )
    check_values((("x", x), ("y", y)), "a saturating power-law fit")
    n_distinct = int(np.unique(x).size)
    if n_distinct < 3:
        raise ValueError(
            f"need at least 3 distinct x values to fit a saturating power law (3 parameters), got {n_distinct}"
        )
    return [x, y]


def _fit_and_scale(
    log_u: np.ndarray, log_y: np.ndarray, starts: np.ndarray, loss: str, f_scale: float | None, alpha_max: float
) -> tuple[np.ndarray, float]:
    """The full-data optimum and the robust loss's residual scale: given, or ``1.345 * sigma``
    (which gives the Huber estimator 95% efficiency for Gaussian noise), with sigma the robust
    standard deviation ``1.4826 * median|r| * sqrt(n / (n - 3))`` of the fit's residuals r,
    iterated from an ordinary least-squares fit until it settles; floored at 1e-6. The scale is a
    tuning constant of the estimator, not a parameter."""
    n = log_u.size

    def robust_scale(theta: np.ndarray) -> float:
        # 1.345 * sigma, sigma = 1.4826 * median |r| (the MAD of Gaussian
        # residuals) * sqrt(n / (n - 3)): the 3 fitted parameters shrink the
        # residuals of few points (without it sigma is low at small n).
        # Floored at 1e-6 (noiseless data).
        r = saturating_residuals(theta, log_u, log_y)
        return max(1.345 * 1.4826 * float(np.median(np.abs(r))) * math.sqrt(n / (n - 3)), 1e-6)

    if loss == "linear" or f_scale is not None:
        scale = 1.0 if loss == "linear" else float(f_scale)  # least_squares ignores it for "linear"
        fitted = best_fit(log_u, log_y, starts, loss, scale, alpha_max)
    else:
        # Scale and fit together: start from the residuals of an ordinary
        # least-squares fit, then re-estimate the scale from the robust fit's
        # residuals until it settles. An outlier drags the OLS curve and
        # inflates all its residuals, so the OLS scale alone would be far too
        # large to down-weight that outlier.
        # The scale is a tuning constant: 1% agreement is plenty. After the
        # first robust fit (from the OLS optimum and the whole grid) each
        # iteration starts from the previous optimum only.
        fitted = best_fit(log_u, log_y, starts, "linear", 1.0, alpha_max)
        scale = math.nan
        for _ in range(20):
            if fitted is None:
                break
            new_scale = robust_scale(fitted[0])
            if abs(new_scale - scale) <= 1e-2 * new_scale:
                break
            first = math.isnan(scale)
            scale = new_scale
            iter_starts = np.vstack([fitted[0], starts]) if first else fitted[0][None, :]
            fitted = best_fit(log_u, log_y, iter_starts, loss, scale, alpha_max)
    if fitted is None:
        raise ValueError("saturating power-law fit: no start converged")
    return fitted[0], scale


def _refit(
    x: np.ndarray,
    log_u: np.ndarray,
    idx: np.ndarray,
    boot_log_y: np.ndarray,
    theta_hat: np.ndarray,
    loss: str,
    scale: float,
    alpha_max: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The bootstrap refits from the full-data optimum: their parameters (rows of the usable
    resamples; NaN where a refit failed) and which resamples were usable (3 distinct x or more:
    fewer cannot determine 3 parameters)."""
    sorted_x = np.sort(x[idx], axis=1)
    usable = 1 + np.count_nonzero(np.diff(sorted_x, axis=1) > 0, axis=1) >= 3
    rows_u, rows_y = log_u[idx[usable]], boot_log_y[usable]
    # Same x_ref as the full fit, so the warm start is on the same scale.
    thetas, _, ok = batch_fit(rows_u, rows_y, theta_hat, loss, scale, alpha_max)
    for k in np.flatnonzero(~ok):  # rare: fall back to least_squares
        res = least_squares_fit(rows_u[k], rows_y[k], theta_hat, loss, scale, alpha_max)
        thetas[k] = np.nan if res is None else res.x
    return thetas, usable
