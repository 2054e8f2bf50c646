"""Scaling-law fits of loss against data size, model size, or both.

Three forms, from the most to the least constrained:

* :func:`fit_power_law` -- pure power law ``y = A * x**(-alpha)`` by ordinary
  least squares on ``log y = log A - alpha * log x`` (``scipy.stats.linregress``),
  the usual way scaling exponents are read off a log-log plot. Student-t
  interval on alpha (exact for Gaussian errors in log y); optional pairs
  bootstrap interval beside it.
* :func:`fit_saturating_power_law` -- ``y = E + A * x**(-alpha)`` with an
  irreducible loss E >= 0, by robust nonlinear least squares on log y from a
  grid of starts, with bootstrap percentile intervals (pairs by default;
  seeds resampled within each size or whole seed curves as options). Needs
  points over a range wide enough for the curvature to show; with few points
  E and alpha trade off against each other and the intervals are wide.
  Measured coverage of nominal 95% intervals on alpha (synthetic curves, 1%
  noise, 4 decades): 0.94 with 5 points, 0.96-0.975 with 6-10, 0.91-0.93 with
  20-40. At the latent sweep's own designs and measured noise, by
  :mod:`idscaling.fit_coverage`: see bench/fit_coverage.py and the docstring
  of ``resample`` below.
* :func:`fit_joint_scaling_law` -- ``L(N, D) = E + A / N**alpha + B / D**beta``
  (Hoffmann et al. 2022, "approach 3"), with exactly the objective of Epoch AI's
  replication (Besiroglu et al. 2024): Huber loss (delta = 1e-3) on
  ``log L - LSE(a - alpha log N, b - beta log D, e)`` with ``a = log A``,
  ``b = log B``, ``e = log E``, L-BFGS from a grid of starts, best of them;
  pairs-bootstrap percentile intervals and standard errors.

All intervals from a bootstrap are percentile intervals over the replicates
that converged; the fraction that failed is reported, never hidden.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import math
from typing import Any, Iterator, Mapping, Sequence

import numpy as np
from scipy import optimize, stats
from scipy.special import huber as _huber

__all__ = [
    "fit_power_law",
    "fit_saturating_power_law",
    "fit_joint_scaling_law",
    "JOINT_GRID",
    "EPOCH_JOINT_GRID",
    "SATURATING_LOSSES",
    "SATURATING_RESAMPLING",
]

SATURATING_LOSSES = ("huber", "soft_l1", "linear")
SATURATING_RESAMPLING = ("points", "within_x_pooled", "within_x", "within_x_unscaled", "groups")

# Starting grid for the joint fit: 3 * 3 * 2 * 2 * 2 = 72 L-BFGS starts, about
# 1 s on one core for 240 points (the Chinchilla test runs in a few seconds on
# 2 cores). Epoch's replication uses the much larger EPOCH_JOINT_GRID (4,500
# starts, ~1 min here). On the Chinchilla points a third of Epoch's starts and
# about half of these 72 reach the same best optimum (n_starts_at_best in the
# output reports it), so the small grid finds it with a wide margin.
JOINT_GRID: dict[str, tuple[float, ...]] = {
    "a": (5.0, 15.0, 25.0),
    "b": (5.0, 15.0, 25.0),
    "e": (-1.0, 0.5),
    "alpha": (0.5, 1.0),
    "beta": (0.5, 1.0),
}
EPOCH_JOINT_GRID: dict[str, tuple[float, ...]] = {
    "a": tuple(np.arange(0.0, 30.0, 5.0)),
    "b": tuple(np.arange(0.0, 30.0, 5.0)),
    "e": tuple(np.arange(-1.0, 1.5, 0.5)),
    "alpha": tuple(np.arange(0.0, 2.5, 0.5)),
    "beta": tuple(np.arange(0.0, 2.5, 0.5)),
}


# --------------------------------------------------------------------------- #
# input checks and small helpers
# --------------------------------------------------------------------------- #
@contextlib.contextmanager
def _single_threaded_blas() -> Iterator[None]:
    """Limit BLAS to one thread while fitting.

    The fits make thousands of tiny BLAS calls (inside L-BFGS-B and numpy),
    where threads only add overhead; worse, OpenBLAS threads busy-wait between
    calls, and on a loaded machine that made the Chinchilla fit 10-25x slower
    (3 s -> 80 s measured on 2 cores). threadpoolctl ships with scikit-learn,
    a dependency; without it the fits run unchanged.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn brings it
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _blas_single_threaded(func: Any) -> Any:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _single_threaded_blas():
            return func(*args, **kwargs)

    return wrapper


def _check_level(ci_level: Any) -> float:
    try:
        level = float(ci_level)
    except (TypeError, ValueError):
        raise ValueError(f"ci_level must be in (0, 1), got {ci_level!r}") from None
    if not 0.0 < level < 1.0:
        raise ValueError(f"ci_level must be in (0, 1), got {ci_level!r}")
    return level


def _check_n_bootstrap(n_bootstrap: Any) -> int:
    if isinstance(n_bootstrap, bool) or not isinstance(n_bootstrap, (int, np.integer)) or n_bootstrap < 0:
        raise ValueError(f"n_bootstrap must be an integer >= 0, got {n_bootstrap!r}")
    return int(n_bootstrap)


def _positive_arrays(named: Sequence[tuple[str, Any]]) -> list[np.ndarray]:
    """Convert to 1-D float arrays of one length (values: :func:`_check_values`)."""
    arrays = []
    for name, value in named:
        try:
            arrays.append(np.asarray(value, dtype=np.float64))
        except (TypeError, ValueError) as err:
            names = " and ".join(n for n, _ in named)
            raise ValueError(f"{names} must be numeric: {err}") from None
    names = " and ".join(n for n, _ in named)
    if any(a.ndim != 1 for a in arrays):
        shapes = " and ".join(str(a.shape) for a in arrays)
        raise ValueError(f"{names} must be 1-D, got shapes {shapes}")
    if len({a.size for a in arrays}) != 1:
        sizes = " and ".join(str(a.size) for a in arrays)
        raise ValueError(f"{names} must have the same length, got {sizes}")
    return arrays


def _check_values(named: Sequence[tuple[str, np.ndarray]], what: str) -> None:
    for name, values in named:
        n = values.size
        n_bad = int(np.count_nonzero(~np.isfinite(values)))
        if n_bad:
            raise ValueError(f"{name} contains NaN or inf ({n_bad} of {n} values)")
        n_bad = int(np.count_nonzero(values <= 0))
        if n_bad:
            raise ValueError(
                f"{name} must be positive for {what}; {n_bad} of {n} values are <= 0 "
                f"(min {values.min()!r})"
            )


def _percentile_ci(samples: np.ndarray, level: float) -> tuple[float, float]:
    """Percentile interval over the finite entries of ``samples`` (NaN if none)."""
    samples = samples[np.isfinite(samples)]
    if samples.size < 2:
        return math.nan, math.nan
    tail = 100.0 * (1.0 - level) / 2.0
    low, high = np.percentile(samples, [tail, 100.0 - tail])
    return float(low), float(high)


def _sd(samples: np.ndarray) -> float:
    samples = samples[np.isfinite(samples)]
    return float(np.std(samples, ddof=1)) if samples.size >= 2 else math.nan


def _r2(residuals: np.ndarray, target: np.ndarray) -> float:
    ss_tot = float(np.sum((target - target.mean()) ** 2))
    ss_res = float(np.sum(residuals**2))
    return 1.0 - ss_res / ss_tot if ss_tot > 0 else math.nan


# --------------------------------------------------------------------------- #
# pure power law
# --------------------------------------------------------------------------- #
def fit_power_law(
    x: Any, y: Any, ci_level: float = 0.95, *, n_bootstrap: int = 0, seed: int = 0
) -> dict[str, Any]:
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
        percentile bootstrap is too narrow with few points (measured coverage
        of nominal 95% intervals: 0.88-0.91 with 6-20 points).
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
    level = _check_level(ci_level)
    n_boot = _check_n_bootstrap(n_bootstrap)
    x, y = _positive_arrays((("x", x), ("y", y)))
    n = int(x.size)
    if n < 2:
        raise ValueError(f"need at least 2 points to fit a power law, got {n}")
    _check_values((("x", x), ("y", y)), "a log-log fit")
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
        out["alpha_boot_ci_low"], out["alpha_boot_ci_high"] = _percentile_ci(boot_alpha, level)
        out["alpha_boot_se"] = _sd(boot_alpha)
        out["n_bootstrap"] = n_boot
        out["bootstrap_failed_fraction"] = float(np.mean(~ok))
    return out


# --------------------------------------------------------------------------- #
# saturating power law  y = E + A x^-alpha
# --------------------------------------------------------------------------- #
# Internal parameters theta = (log A0, E, alpha), with A0 = A * x_ref**(-alpha)
# the excess loss at x_ref (see fit_saturating_power_law). Bounds: E >= 0 (an
# irreducible loss is a loss) and 0 <= alpha <= alpha_max (a decreasing curve;
# alpha_max only stops runaway fits where the data look flat and a huge alpha
# trades against E); log A0 is free. E is bounded rather than written as log E
# because E = 0 (a pure power law) is a legitimate answer that log E could only
# approach at -infinity, never converging.
def _saturating_bounds(alpha_max: float) -> tuple[np.ndarray, np.ndarray]:
    return np.array([-np.inf, 0.0, 0.0]), np.array([np.inf, np.inf, alpha_max])


def _saturating_model(theta: np.ndarray, log_u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Prediction ``E + A0 * u**(-alpha)`` and the power-law term, ``u = x / x_ref``."""
    log_a0, e, alpha = theta
    # Trial steps of the optimiser can overflow exp; inf residuals make it
    # shrink the step, so the overflow is expected and silenced.
    with np.errstate(over="ignore"):
        term = np.exp(log_a0 - alpha * log_u)
    return e + term, term


def _saturating_residuals(theta: np.ndarray, log_u: np.ndarray, log_y: np.ndarray) -> np.ndarray:
    pred, _ = _saturating_model(theta, log_u)
    return np.log(pred) - log_y


def _saturating_jac(theta: np.ndarray, log_u: np.ndarray, log_y: np.ndarray) -> np.ndarray:
    pred, term = _saturating_model(theta, log_u)
    # d log(pred) / d(log A0, E, alpha)
    return np.column_stack([term / pred, 1.0 / pred, -term * log_u / pred])


def _robust_weights(r: np.ndarray, loss: str, f_scale: float) -> tuple[np.ndarray, np.ndarray]:
    """IRLS weights rho'(z) and costs ``0.5 * f**2 * rho(z)``, ``z = (r / f)**2``.

    ``rho`` as in ``scipy.optimize.least_squares``, so the summed cost here is
    the ``cost`` that ``least_squares`` reports for the same residuals.
    """
    if loss == "linear":
        return np.ones_like(r), 0.5 * r**2
    z = (r / f_scale) ** 2
    if loss == "huber":
        sqrt_z = np.sqrt(z)
        small = z <= 1.0
        w = np.where(small, 1.0, 1.0 / np.where(small, 1.0, sqrt_z))
        rho = np.where(small, z, 2.0 * sqrt_z - 1.0)
    else:  # soft_l1
        w = 1.0 / np.sqrt(1.0 + z)
        rho = 2.0 * (np.sqrt(1.0 + z) - 1.0)
    return w, 0.5 * f_scale**2 * rho


def _saturating_least_squares(
    log_u: np.ndarray, log_y: np.ndarray, x0: np.ndarray, loss: str, f_scale: float, alpha_max: float
) -> optimize.OptimizeResult | None:
    """One ``scipy.optimize.least_squares`` fit; None if it fails."""
    lower, upper = _saturating_bounds(alpha_max)
    try:
        # 'trf' is the least_squares method that supports both bounds and the
        # robust losses; x_scale="jac" equalises the very different
        # sensitivities of log A0, E (loss units) and alpha. Tolerances tighter
        # than the 1e-8 defaults: E and alpha trade off along a flat valley,
        # where the defaults stop visibly short of the minimum.
        res = optimize.least_squares(
            _saturating_residuals,
            np.clip(x0, lower, upper),
            jac=_saturating_jac,
            bounds=(lower, upper),
            method="trf",
            loss=loss,
            f_scale=f_scale,
            x_scale="jac",
            ftol=1e-12,
            xtol=1e-12,
            gtol=1e-12,
            args=(log_u, log_y),
            max_nfev=2000,
        )
    except (ValueError, FloatingPointError, np.linalg.LinAlgError):  # pragma: no cover - defensive
        return None
    if res.status < 0 or not np.all(np.isfinite(res.x)) or not np.isfinite(res.cost):
        return None
    return res


def _saturating_batch(
    log_u: np.ndarray,
    log_y: np.ndarray,
    theta0: np.ndarray,
    loss: str,
    f_scale: float,
    alpha_max: float,
    max_iter: int = 500,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Many saturating fits at once: row k fits ``log_y[k]`` vs ``log_u[k]`` from ``theta0[k]``.

    The bootstrap refits the same small problem hundreds of times and the
    multi-start fit starts it dozens of times, while one ``least_squares``
    call costs milliseconds of Python overhead; this runs a Levenberg-Marquardt
    iteration on all rows together with numpy (some 30x faster). It minimises
    the same robust cost as ``least_squares`` (the gradient of the robust cost
    is exactly J^T W r with the IRLS weights W = rho'(z), so weighted
    Gauss-Newton steps lead to the same stationary points), takes a step only
    where it lowers that cost, and keeps the parameters in the same box:
    parameters on a bound with the gradient pushing outwards are held for the
    step (projected Newton), the rest of the step is clipped to the box.

    Returns ``(theta, cost, converged)``; rows not converged within
    ``max_iter`` iterations are for the caller to refit with ``least_squares``.
    """
    n_fit = log_y.shape[0]
    lower, upper = _saturating_bounds(alpha_max)
    theta = np.clip(np.broadcast_to(theta0, (n_fit, 3)).astype(np.float64), lower, upper)
    eye = np.eye(3)

    def evaluate(th: np.ndarray, lu: np.ndarray, ly: np.ndarray) -> tuple[np.ndarray, ...]:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            term = np.exp(th[:, :1] - th[:, 2:3] * lu)
            pred = th[:, 1:2] + term
            r = np.log(pred) - ly
            jac = np.stack([term / pred, 1.0 / pred, -term * lu / pred], axis=2)
            w, rho = _robust_weights(r, loss, f_scale)
        cost = np.sum(rho, axis=1)
        cost[~np.isfinite(cost)] = np.inf  # such a trial step is never accepted
        return r, w, cost, jac

    r, w, cost, jac = evaluate(theta, log_u, log_y)
    lam = np.full(n_fit, 1e-3)
    converged = np.zeros(n_fit, dtype=bool)
    converged[~np.isfinite(cost)] = False
    for _ in range(max_iter):
        idx = np.flatnonzero(~converged & np.isfinite(cost))
        if idx.size == 0:
            break
        ja, wa, ra, th = jac[idx], w[idx], r[idx], theta[idx]
        hess = np.einsum("bni,bn,bnj->bij", ja, wa, ja)
        grad = np.einsum("bni,bn,bn->bi", ja, wa, ra)
        held = ((th <= lower) & (grad > 0)) | ((th >= upper) & (grad < 0))
        free = (~held).astype(np.float64)
        hess = hess * free[:, :, None] * free[:, None, :] + np.einsum("bi,ij->bij", 1.0 - free, eye)
        grad = grad * free
        diag = np.maximum(np.einsum("bii->bi", hess), 1e-300)
        # Converged: the Newton decrement g^T H^-1 g (about twice the cost
        # still to gain, if the local quadratic model holds) is below 1e-12 of
        # the cost -- checked before the step, so rows at their minimum stop.
        nearly = hess + 1e-10 * diag[:, :, None] * eye
        damped = hess + lam[idx, None, None] * diag[:, :, None] * eye
        try:
            both = np.linalg.solve(np.concatenate([nearly, damped]), np.concatenate([grad, grad])[:, :, None])
        except np.linalg.LinAlgError:  # pragma: no cover - singular despite damping
            both = np.concatenate([grad, grad])[:, :, None] / np.concatenate([diag, diag])[:, :, None]
        decrement = np.einsum("bi,bi->b", grad, both[: idx.size, :, 0])
        at_min = decrement <= 2e-12 * cost[idx] + 1e-300
        converged[idx[at_min]] = True
        step = -both[idx.size :, :, 0]
        trial = np.clip(th + step, lower, upper)
        r_t, w_t, cost_t, jac_t = evaluate(trial, log_u[idx], log_y[idx])
        better = cost_t < cost[idx]
        acc, rej = idx[better], idx[~better]
        theta[acc], r[acc], w[acc], cost[acc], jac[acc] = (
            trial[better], r_t[better], w_t[better], cost_t[better], jac_t[better])
        lam[acc] = np.maximum(lam[acc] / 3.0, 1e-12)
        lam[rej] *= 4.0
        # Also converged: damping so large that no step lowers the cost any
        # more (a stationary point in the box, up to rounding).
        converged[rej[lam[rej] > 1e12]] = True
    return theta, cost, converged


def _saturating_fit(
    log_u: np.ndarray,
    log_y: np.ndarray,
    starts: np.ndarray,
    loss: str,
    f_scale: float,
    alpha_max: float,
) -> tuple[np.ndarray, float] | None:
    """Best fit over the rows of ``starts``: ``(theta, cost)``, or None.

    All starts run together in :func:`_saturating_batch`; the lowest-cost
    result is then handed to ``least_squares`` as a check and polish, and the
    lower of the two costs wins.
    """
    k = starts.shape[0]
    theta, cost, _ = _saturating_batch(
        np.tile(log_u, (k, 1)), np.tile(log_y, (k, 1)), starts, loss, f_scale, alpha_max)
    finite = np.isfinite(cost)
    if not finite.any():
        return None
    i = int(np.argmin(np.where(finite, cost, np.inf)))
    best_theta, best_cost = theta[i], float(cost[i])
    res = _saturating_least_squares(log_u, log_y, best_theta, loss, f_scale, alpha_max)
    if res is not None and res.cost < best_cost:
        best_theta, best_cost = res.x, float(res.cost)
    return best_theta, best_cost


def _saturating_starts(log_u: np.ndarray, log_y: np.ndarray, n_starts: int, alpha_max: float) -> np.ndarray:
    """Grid of starts: ``n_starts`` alphas x three E values, log A0 by least squares.

    alpha is log-spaced over [0.05, min(2, alpha_max)] (loss exponents seen in
    practice lie well inside it); E is 0, 0.5 and 0.9 of min(y) (from a pure
    power law to a mostly saturated curve). Given (E, alpha), the best log A0
    for the log-residuals of ``y - E`` is a mean, so every start is already a
    reasonable curve.
    """
    y = np.exp(log_y)
    hi = min(2.0, alpha_max)
    alphas = np.geomspace(min(0.05, hi / 2), hi, n_starts) if n_starts > 1 else np.array([min(0.3, hi)])
    starts = []
    for e_frac in (0.0, 0.5, 0.9):
        e0 = e_frac * float(y.min())
        for a0 in alphas:
            starts.append([float(np.mean(np.log(y - e0) + a0 * log_u)), e0, a0])
    return np.array(starts)


def _resolve_resampling(x: np.ndarray, resample: str, groups: Any) -> tuple[str, np.ndarray | None]:
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


def _bootstrap_resamples(
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


@_blas_single_threaded
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

    The residuals are ``log(E + A x^-alpha) - log y`` (relative errors, as in
    the log-log fit of :func:`fit_power_law` and the Chinchilla objective:
    loss noise is roughly multiplicative across scales), minimised under a
    robust loss with the cost function of ``scipy.optimize.least_squares``
    (a vectorised Levenberg-Marquardt runs the many starts and bootstrap
    refits, ``least_squares`` checks and polishes the best full-data fit).
    Internally the prefactor is ``A0 = A * x_ref**(-alpha)``, the excess loss
    at the geometric mean ``x_ref`` of x: ``log A`` itself is strongly
    correlated with alpha (it is the extrapolation to x = 1, far outside the
    data), ``log A0`` is not, which makes the problem much better conditioned.
    A is reported in the original parameterisation, ``A = A0 * x_ref**alpha``.

    Parameters
    ----------
    x, y : 1-D array-likes of the same length
        Positive, finite values (data or model size, loss). Repeated x values
        (several seeds) are separate points.
    loss : {"huber", "soft_l1", "linear"}, default="huber"
        Loss of ``least_squares``; "linear" is ordinary least squares.
    f_scale : float, optional
        Residual scale (in log y) beyond which the robust loss down-weights a
        point. Default: ``1.345 * sigma`` (which gives the Huber estimator 95%
        efficiency for Gaussian noise), with sigma the robust standard
        deviation ``1.4826 * median|r| * sqrt(n / (n - 3))`` of the residuals
        r of the fit, iterated from an ordinary least-squares fit until it
        settles; floored at 1e-6. Kept fixed in the bootstrap refits (it is a
        tuning constant of the estimator, not a parameter). Not used for
        ``loss="linear"``.
    n_starts : int, default=8
        Number of starting alphas (log-spaced in [0.05, 2]); each is tried with
        three starting E values (0, 0.5 and 0.9 of min y), so ``3 * n_starts``
        starts in all; the fit with the lowest cost is kept.
    n_bootstrap : int, default=1000
        Bootstrap resamples (``resample`` says how they are drawn), each
        refitted from the full-data optimum (a resample is a perturbation of
        the data; one warm start keeps 1,000 refits well under a second). 0: no
        intervals (NaN).
    ci_level : float, default=0.95
        Level of the percentile intervals.
    seed : int, default=0
        Seed of the resampling.
    alpha_max : float, default=5.0
        Upper bound on alpha (see the comment on the bounds in the code).
    resample : str, default="points"
        How the bootstrap draws its resamples, for points that may hold
        several runs (seeds) per x:

        * "points": pairs bootstrap, n points drawn with replacement from all
          of them -- with several seeds, runs drawn from all (size, seed) runs.
          The pipeline's choice for one seed per size and for several
          (``idscaling.exponents.SATURATING_RESAMPLE``).
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

        Why "points": coverage of nominal 95% intervals on alpha measured by
        :mod:`idscaling.fit_coverage` at the latent sweep's design (9 sizes
        over 12,500-200,000 tokens, 3 seeds), with the seed-to-seed noise
        measured from real runs (SD 0.009 in log loss) on a k = 16-like curve
        (E 3.6, alpha 0.55, 1.4 nats above E at 12,500 tokens), 400 sweeps
        each: points 0.935, within_x_pooled 0.935, within_x 0.910,
        within_x_unscaled 0.848, groups 0.743 (binomial SD 0.012). With 3
        seeds each size's own spread rests on 2 degrees of freedom, so
        "within_x" percentile intervals behave like a t interval with few
        degrees of freedom read with normal quantiles; "groups" has only 10
        distinct resamples of 3 curves. Any deviation of the curve from the
        law that a size's seeds share (lack of fit) is invisible to all
        within-x schemes; pairs resampling sees part of it: with such a
        deviation of SD 0.005 beside seed noise 0.01 (7 sizes, 3 seeds; E 3,
        alpha 0.6), coverage fell to 0.89 (points), 0.83 (pooled) and 0.81
        (within_x) at 300 sweeps each. The pooled scheme also assumes the
        seed spread is the same at every size; measured, it is not (SD 0.002
        to 0.015 between sizes of one sweep), which pairs resampling does not
        assume.
    groups : array-like, optional
        Group label (e.g. seed) of each point; only for ``resample="groups"``.
    replicates : (idx, y_boot), optional
        Bootstrap replicates made by the caller instead of ``resample``: two
        arrays of shape (B, m); replicate b is the points
        ``(x[idx[b]], y_boot[b])`` (e.g. the envelope's, whose y values are
        re-estimated from resampled seeds). ``n_bootstrap`` is then B.
    return_replicates : bool, default=False
        Also return ``replicates``: the (B, 3) array of the refits' alpha, E
        and A (NaN rows where a refit failed), e.g. for prediction intervals.

    Returns
    -------
    dict
        ``alpha``, ``E``, ``A`` and for each of them ``*_ci_low``,
        ``*_ci_high`` (percentile bootstrap over the converged refits) and
        ``*_se`` (bootstrap standard deviation); ``r2`` (on log y);
        ``n_points``, ``ci_level``, ``loss``, ``f_scale`` (NaN for "linear"),
        ``x_ref``, ``at_bound`` (names of the parameters of the full-data fit
        at a bound: "E" at 0, "alpha" at 0 or ``alpha_max``), ``n_bootstrap``,
        ``resample``,
        ``bootstrap_failed_fraction`` (refits that did not converge, or whose
        resample has fewer than 3 distinct x and so cannot determine the three
        parameters) and ``bootstrap_at_bound_fraction`` (converged refits with
        a parameter at a bound; they stay in the intervals, being valid
        constrained estimates -- E = 0 is a pure power law). Plain Python types.

    Raises
    ------
    ValueError
        Invalid inputs (as for :func:`fit_power_law`), 3 points or fewer or
        fewer than 3 distinct x (three parameters: with 3 points the curve
        interpolates them and nothing is left to estimate the noise or check
        the shape), an unknown ``loss``, bad ``n_starts``, ``f_scale``,
        ``alpha_max``, ``n_bootstrap`` or ``ci_level``, an unknown ``resample``
        or data it cannot resample (a within-x scheme with one point at some
        x; "groups" without ``groups`` or with groups of unequal size), or no
        start converging.
    """
    level = _check_level(ci_level)
    if replicates is not None:
        rep_idx, rep_y = (np.asarray(a) for a in replicates)
        if rep_idx.ndim != 2 or rep_idx.shape != rep_y.shape or not np.issubdtype(rep_idx.dtype, np.integer):
            raise ValueError("replicates must be (idx, y) integer and float arrays of one shape (B, m)")
        if rep_idx.size and (rep_idx.min() < 0 or rep_idx.max() >= np.size(x)):
            raise ValueError("replicates: an index is outside the points")
        if not (np.all(np.isfinite(rep_y)) and np.all(rep_y > 0)):
            raise ValueError("replicates: y values must be positive and finite")
        n_bootstrap = rep_idx.shape[0]
    n_boot = _check_n_bootstrap(n_bootstrap)
    if loss not in SATURATING_LOSSES:
        raise ValueError(f"loss must be one of {SATURATING_LOSSES}, got {loss!r}")
    if isinstance(n_starts, bool) or not isinstance(n_starts, (int, np.integer)) or n_starts < 1:
        raise ValueError(f"n_starts must be an integer >= 1, got {n_starts!r}")
    if not float(alpha_max) > 0:
        raise ValueError(f"alpha_max must be > 0, got {alpha_max!r}")
    if f_scale is not None and not (math.isfinite(float(f_scale)) and float(f_scale) > 0):
        raise ValueError(f"f_scale must be a positive number, got {f_scale!r}")
    x, y = _positive_arrays((("x", x), ("y", y)))
    n = int(x.size)
    if n <= 3:
        raise ValueError(
            f"need at least 4 points to fit a saturating power law (3 parameters E, A, alpha), got {n}"
        )
    _check_values((("x", x), ("y", y)), "a saturating power-law fit")
    n_distinct = int(np.unique(x).size)
    if n_distinct < 3:
        raise ValueError(
            f"need at least 3 distinct x values to fit a saturating power law (3 parameters), "
            f"got {n_distinct}"
        )

    resample, group_codes = _resolve_resampling(x, resample, groups)
    log_x, log_y = np.log(x), np.log(y)
    log_x_ref = float(log_x.mean())
    log_u = log_x - log_x_ref
    alpha_max = float(alpha_max)
    starts = _saturating_starts(log_u, log_y, int(n_starts), alpha_max)

    def robust_scale(theta: np.ndarray) -> float:
        # 1.345 * sigma, sigma = 1.4826 * median |r| (the MAD of Gaussian
        # residuals) * sqrt(n / (n - 3)): the 3 fitted parameters shrink the
        # residuals of few points (without it sigma is ~30% low at n = 6).
        # Floored at 1e-6 (noiseless data).
        r = _saturating_residuals(theta, log_u, log_y)
        return max(1.345 * 1.4826 * float(np.median(np.abs(r))) * math.sqrt(n / (n - 3)), 1e-6)

    if loss == "linear" or f_scale is not None:
        scale = 1.0 if loss == "linear" else float(f_scale)  # least_squares ignores it for "linear"
        fitted = _saturating_fit(log_u, log_y, starts, loss, scale, alpha_max)
    else:
        # Scale and fit together: start from the residuals of an ordinary
        # least-squares fit, then re-estimate the scale from the robust fit's
        # residuals until it settles. An outlier drags the OLS curve and
        # inflates all its residuals, so the OLS scale alone would be far too
        # large to down-weight that outlier (seen: 10x the noise for one point
        # off by 25% among 12).
        # The scale is a tuning constant: 1% agreement is plenty. After the
        # first robust fit (from the OLS optimum and the whole grid) each
        # iteration starts from the previous optimum only.
        fitted = _saturating_fit(log_u, log_y, starts, "linear", 1.0, alpha_max)
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
            fitted = _saturating_fit(log_u, log_y, iter_starts, loss, scale, alpha_max)
    if fitted is None:
        raise ValueError("saturating power-law fit: no start converged")
    theta_hat = fitted[0]

    def natural(theta: np.ndarray) -> tuple[float, float, float]:
        log_a0, e, alpha = theta
        return float(alpha), float(e), float(np.exp(log_a0 + alpha * log_x_ref))

    def bound_names(theta: np.ndarray) -> list[str]:
        # With a tolerance: least_squares keeps iterates strictly inside.
        names = []
        if theta[1] <= 1e-8 * float(y.min()):
            names.append("E")
        if theta[2] <= 1e-8 or theta[2] >= alpha_max * (1 - 1e-8):
            names.append("alpha")
        return names

    alpha, e, a = natural(theta_hat)
    out: dict[str, Any] = {
        "alpha": alpha,
        "E": e,
        "A": a,
        "r2": _r2(_saturating_residuals(theta_hat, log_u, log_y), log_y),
        "n_points": n,
        "ci_level": level,
        "loss": loss,
        "f_scale": float(scale) if loss != "linear" else math.nan,
        "x_ref": float(np.exp(log_x_ref)),
        "at_bound": bound_names(theta_hat),
        "n_bootstrap": n_boot,
        "resample": resample,
    }

    boots = np.full((n_boot, 3), np.nan)
    n_failed = n_at_bound = 0
    if n_boot:
        if replicates is None:
            idx, boot_log_y = _bootstrap_resamples(x, log_y, group_codes, resample, n_boot, seed)
        else:
            idx, boot_log_y = rep_idx, np.log(rep_y)
            out["resample"] = "given"
        # Resamples with fewer than 3 distinct x cannot determine 3 parameters.
        sorted_x = np.sort(x[idx], axis=1)
        usable = 1 + np.count_nonzero(np.diff(sorted_x, axis=1) > 0, axis=1) >= 3
        n_failed = int(np.count_nonzero(~usable))
        rows_u, rows_y = log_u[idx[usable]], boot_log_y[usable]
        # Same x_ref as the full fit, so the warm start is on the same scale.
        theta_b, _, ok = _saturating_batch(rows_u, rows_y, theta_hat, loss, scale, alpha_max)
        for k in np.flatnonzero(~ok):  # rare: fall back to least_squares
            res = _saturating_least_squares(rows_u[k], rows_y[k], theta_hat, loss, scale, alpha_max)
            theta_b[k] = np.nan if res is None else res.x
        for k, i in enumerate(np.flatnonzero(usable)):
            if not np.all(np.isfinite(theta_b[k])):
                n_failed += 1
                continue
            boots[i] = natural(theta_b[k])
            n_at_bound += bool(bound_names(theta_b[k]))
    for j, name in enumerate(("alpha", "E", "A")):
        out[f"{name}_ci_low"], out[f"{name}_ci_high"] = _percentile_ci(boots[:, j], level)
        out[f"{name}_se"] = _sd(boots[:, j])
    out["bootstrap_failed_fraction"] = n_failed / n_boot if n_boot else math.nan
    n_ok = n_boot - n_failed
    out["bootstrap_at_bound_fraction"] = n_at_bound / n_ok if n_ok else math.nan
    if return_replicates:
        out["replicates"] = boots
    return out


# --------------------------------------------------------------------------- #
# joint law  L(N, D) = E + A / N^alpha + B / D^beta
# --------------------------------------------------------------------------- #
def _joint_objective(
    theta: np.ndarray, log_n: np.ndarray, log_d: np.ndarray, log_l: np.ndarray, delta: float
) -> tuple[float, np.ndarray]:
    """Scaled Huber objective and its gradient in (a, b, e, alpha, beta).

    The objective is ``sum_i huber_delta(LSE_i - log L_i)``, divided by the
    constant ``n * delta**2`` -- same minimiser, but of order 1 to 100 instead
    of ~1e-3, so that L-BFGS's stopping rule (a relative decrease of f,
    measured against max(|f|, 1)) is not met long before the optimum.
    """
    a, b, e, alpha, beta = theta
    terms = np.stack([a - alpha * log_n, b - beta * log_d, np.full_like(log_n, e)])
    top = terms.max(axis=0)
    weights = np.exp(terms - top)
    total = weights.sum(axis=0)
    pred = top + np.log(total)  # log-sum-exp, overflow-safe
    weights /= total  # softmax: d pred / d term_k
    r = pred - log_l
    scale = 1.0 / (log_l.size * delta**2)
    value = float(np.sum(_huber(delta, r))) * scale
    g = np.clip(r, -delta, delta) * scale  # huber'(r)
    grad = np.array(
        [
            np.sum(g * weights[0]),
            np.sum(g * weights[1]),
            np.sum(g * weights[2]),
            -np.sum(g * weights[0] * log_n),
            -np.sum(g * weights[1] * log_d),
        ]
    )
    return value, grad


def _joint_minimize(
    x0: np.ndarray, log_n: np.ndarray, log_d: np.ndarray, log_l: np.ndarray, delta: float
) -> optimize.OptimizeResult:
    # Unbounded L-BFGS as in the reference objective (a, b, e are logs, so A, B,
    # E > 0 automatically; alpha and beta come out positive on real data).
    # Tolerances are tight relative to the scaled objective: on the Chinchilla
    # points the optimum then agrees to ~1e-7 in alpha with a 1e-15 run.
    return optimize.minimize(
        _joint_objective,
        x0,
        args=(log_n, log_d, log_l, delta),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 2000, "ftol": 1e-11, "gtol": 1e-8},
    )


def _joint_refit_chunk(x0: np.ndarray, resamples: list[np.ndarray], log_n: np.ndarray, log_d: np.ndarray,
                      log_l: np.ndarray, delta: float) -> list[tuple[bool, np.ndarray]]:
    with _single_threaded_blas():
        out = []
        for idx in resamples:
            res = _joint_minimize(x0, log_n[idx], log_d[idx], log_l[idx], delta)
            out.append((bool(res.success), res.x))
        return out


def _joint_refits(x0: np.ndarray, resamples: list[np.ndarray], log_n: np.ndarray, log_d: np.ndarray,
                  log_l: np.ndarray, delta: float, processes: int) -> list[tuple[bool, np.ndarray]]:
    """The bootstrap refits, in ``processes`` worker processes (contiguous chunks, results in
    order): each refit depends only on its resample, so any number of processes gives the same
    numbers."""
    if processes <= 1 or len(resamples) < 2 * processes:
        return _joint_refit_chunk(x0, resamples, log_n, log_d, log_l, delta)
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    bounds = np.linspace(0, len(resamples), processes + 1).astype(int)
    chunks = [resamples[lo:hi] for lo, hi in zip(bounds[:-1], bounds[1:])]
    # fork: the workers need only this module's functions (spawn would re-import the caller's
    # __main__, a Snakemake job's script)
    with ProcessPoolExecutor(max_workers=processes, mp_context=get_context("fork")) as pool:
        parts = pool.map(_joint_refit_chunk, [x0] * processes, chunks, [log_n] * processes, [log_d] * processes,
                         [log_l] * processes, [delta] * processes)
        return [refit for part in parts for refit in part]


@_blas_single_threaded
def fit_joint_scaling_law(
    n_params: Any,
    n_tokens: Any,
    loss: Any,
    *,
    huber_delta: float = 1e-3,
    grid: Mapping[str, Sequence[float]] | None = None,
    n_bootstrap: int = 1000,
    ci_level: float = 0.95,
    seed: int = 0,
    processes: int = 1,
    return_replicates: bool = False,
) -> dict[str, Any]:
    """Fit ``L(N, D) = E + A / N**alpha + B / D**beta`` (Chinchilla approach 3).

    Objective (Hoffmann et al. 2022 as replicated by Besiroglu et al. 2024):
    Huber loss with ``huber_delta`` on ``LSE(a - alpha log N, b - beta log D, e)
    - log L``, with ``a = log A``, ``b = log B``, ``e = log E``, summed over the
    points and minimised by L-BFGS (``scipy.optimize.minimize``) from every
    start of ``grid``; the lowest objective wins.

    Parameters
    ----------
    n_params, n_tokens, loss : 1-D array-likes of the same length
        Model size N, training tokens D and final loss L, positive and finite.
    huber_delta : float, default=1e-3
    grid : mapping, optional
        Starting values for keys "a", "b", "e", "alpha", "beta" (sequences);
        all combinations are started. Default :data:`JOINT_GRID` (72 starts);
        :data:`EPOCH_JOINT_GRID` is Epoch's 4,500-start grid.
    n_bootstrap : int, default=1000
        Pairs-bootstrap resamples, each refitted from the full-data optimum
        (one warm start: a resample is a perturbation of the data). 0: no
        intervals (NaN).
    ci_level : float, default=0.95
    seed : int, default=0
    processes : int, default=1
        Worker processes for the bootstrap refits (how, not what: the same
        numbers for any value).
    return_replicates : bool, default=False
        Also return ``replicates``: the (B, 5) array of the refits' parameters
        in the fit's own form ``(a, b, e, alpha, beta)`` (``a = log A`` ...,
        finite where A itself may overflow), NaN rows where a refit failed.

    Returns
    -------
    dict
        ``E``, ``A``, ``B``, ``alpha``, ``beta``, each with ``*_ci_low``,
        ``*_ci_high`` (percentile bootstrap) and ``*_se`` (bootstrap standard
        deviation, the "standard error" of the published tables); ``theta``
        (the optimum as ``(a, b, e, alpha, beta)``); ``objective``
        (the minimised sum of Huber losses), ``r2`` (on log L), ``n_points``,
        ``n_starts``, ``n_starts_at_best`` (starts that reached the best
        objective to within 1e-6 relative -- 1 would mean the grid is too
        thin), ``huber_delta``, ``ci_level``, ``n_bootstrap``,
        ``bootstrap_failed_fraction`` (refits L-BFGS did not report
        converged). Plain Python types.

    Raises
    ------
    ValueError
        Invalid inputs, fewer than 6 points (5 parameters), N and D collinear
        in log space (e.g. all points on one compute-optimal line: alpha and
        beta are then not separately identifiable), bad grid, ``huber_delta``,
        ``n_bootstrap`` or ``ci_level``, or no start converging.
    """
    level = _check_level(ci_level)
    n_boot = _check_n_bootstrap(n_bootstrap)
    if not (math.isfinite(float(huber_delta)) and float(huber_delta) > 0):
        raise ValueError(f"huber_delta must be a positive number, got {huber_delta!r}")
    delta = float(huber_delta)
    grid = JOINT_GRID if grid is None else grid
    keys = ("a", "b", "e", "alpha", "beta")
    if set(grid) != set(keys) or any(len(grid[k]) == 0 for k in keys):
        raise ValueError(f"grid must map each of {keys} to a non-empty sequence, got keys {sorted(grid)}")

    big_n, big_d, big_l = _positive_arrays((("n_params", n_params), ("n_tokens", n_tokens), ("loss", loss)))
    n = int(big_n.size)
    if n < 6:
        raise ValueError(f"need at least 6 points to fit the joint law (5 parameters), got {n}")
    _check_values((("n_params", big_n), ("n_tokens", big_d), ("loss", big_l)), "the joint fit")
    log_n, log_d, log_l = np.log(big_n), np.log(big_d), np.log(big_l)
    design = np.column_stack([np.ones(n), log_n - log_n.mean(), log_d - log_d.mean()])
    if np.linalg.matrix_rank(design, tol=1e-8 * max(1.0, float(np.abs(design).max()))) < 3:
        raise ValueError(
            "log n_params and log n_tokens are collinear (or one is constant): "
            "alpha and beta cannot be separated; vary N and D independently"
        )

    starts = [np.array(s, dtype=np.float64) for s in itertools.product(*(grid[k] for k in keys))]
    results = [_joint_minimize(s, log_n, log_d, log_l, delta) for s in starts]
    converged = [r for r in results if np.all(np.isfinite(r.x)) and np.isfinite(r.fun)]
    if not converged:
        raise ValueError("joint scaling-law fit: no start converged")
    best = min(converged, key=lambda r: r.fun)
    fun_best = float(best.fun)
    n_at_best = sum(r.fun <= fun_best + 1e-6 * abs(fun_best) + 1e-12 for r in converged)

    def natural(theta: np.ndarray) -> np.ndarray:
        a, b, e, alpha, beta = theta
        return np.array([np.exp(e), np.exp(a), np.exp(b), alpha, beta])

    names = ("E", "A", "B", "alpha", "beta")
    est = natural(best.x)
    terms = np.stack([best.x[0] - best.x[3] * log_n, best.x[1] - best.x[4] * log_d, np.full(n, best.x[2])])
    pred = np.logaddexp.reduce(terms, axis=0)
    out: dict[str, Any] = {name: float(v) for name, v in zip(names, est)}
    out.update(
        {
            # Undo the 1 / (n delta^2) scaling: report the sum of Huber losses.
            "objective": fun_best * n * delta**2,
            "r2": _r2(pred - log_l, log_l),
            "n_points": n,
            "n_starts": len(starts),
            "n_starts_at_best": int(n_at_best),
            "huber_delta": delta,
            "ci_level": level,
            "n_bootstrap": n_boot,
        }
    )

    boots = np.full((n_boot, 5), np.nan)
    raw = np.full((n_boot, 5), np.nan)  # (a, b, e, alpha, beta): finite where E, A, B may overflow
    n_failed = 0
    rng = np.random.default_rng(seed)
    resamples = [rng.integers(0, n, size=n) for _ in range(n_boot)]  # drawn first: the same in any layout
    refits = _joint_refits(best.x, resamples, log_n, log_d, log_l, delta, processes)
    for i, (success, x) in enumerate(refits):
        if not success or not np.all(np.isfinite(x)):
            n_failed += 1
            continue
        boots[i] = natural(x)
        raw[i] = x
    for j, name in enumerate(names):
        out[f"{name}_ci_low"], out[f"{name}_ci_high"] = _percentile_ci(boots[:, j], level)
        out[f"{name}_se"] = _sd(boots[:, j])
    out["bootstrap_failed_fraction"] = n_failed / n_boot if n_boot else math.nan
    out["theta"] = [float(v) for v in best.x]
    if return_replicates:
        out["replicates"] = raw
    return out
