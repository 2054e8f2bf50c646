"""The saturating law's least-squares problem in log y, and its solvers.

Why a solver is written here: the fits refit the same 3-parameter problem hundreds of times
(bootstrap) and start it dozens of times (multi-start), and each ``scipy.optimize.least_squares``
call costs milliseconds of Python overhead; :func:`batch_fit` runs a box-constrained
Levenberg-Marquardt on all of them at once with numpy, on the same robust cost, and
``least_squares`` checks and polishes the best full-data fit (:func:`best_fit`).
"""

from __future__ import annotations

import numpy as np
from scipy import optimize

__all__ = [
    "saturating_bounds",
    "saturating_model",
    "saturating_residuals",
    "saturating_jac",
    "robust_weights",
    "least_squares_fit",
    "batch_fit",
    "best_fit",
    "starting_grid",
]


# Internal parameters theta = (log A0, E, alpha), with A0 = A * x_ref**(-alpha)
# the excess loss at x_ref (see fit_saturating_power_law). Bounds: E >= 0 (an
# irreducible loss is a loss) and 0 <= alpha <= alpha_max (a decreasing curve;
# alpha_max only stops runaway fits where the data look flat and a huge alpha
# trades against E); log A0 is free. E is bounded rather than written as log E
# because E = 0 (a pure power law) is a legitimate answer that log E could only
# approach at -infinity, never converging.
def saturating_bounds(alpha_max: float) -> tuple[np.ndarray, np.ndarray]:
    return np.array([-np.inf, 0.0, 0.0]), np.array([np.inf, np.inf, alpha_max])


def saturating_model(theta: np.ndarray, log_u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Prediction ``E + A0 * u**(-alpha)`` and the power-law term, ``u = x / x_ref``."""
    log_a0, e, alpha = theta
    # Trial steps of the optimiser can overflow exp; inf residuals make it
    # shrink the step, so the overflow is expected and silenced.
    with np.errstate(over="ignore"):
        term = np.exp(log_a0 - alpha * log_u)
    return e + term, term


def saturating_residuals(theta: np.ndarray, log_u: np.ndarray, log_y: np.ndarray) -> np.ndarray:
    pred, _ = saturating_model(theta, log_u)
    return np.log(pred) - log_y


def saturating_jac(theta: np.ndarray, log_u: np.ndarray, log_y: np.ndarray) -> np.ndarray:
    pred, term = saturating_model(theta, log_u)
    # d log(pred) / d(log A0, E, alpha)
    return np.column_stack([term / pred, 1.0 / pred, -term * log_u / pred])


def robust_weights(r: np.ndarray, loss: str, f_scale: float) -> tuple[np.ndarray, np.ndarray]:
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


def least_squares_fit(
    log_u: np.ndarray, log_y: np.ndarray, x0: np.ndarray, loss: str, f_scale: float, alpha_max: float
) -> optimize.OptimizeResult | None:
    """One ``scipy.optimize.least_squares`` fit; None if it fails."""
    lower, upper = saturating_bounds(alpha_max)
    try:
        # 'trf' is the least_squares method that supports both bounds and the
        # robust losses; x_scale="jac" equalises the very different
        # sensitivities of log A0, E (loss units) and alpha. Tolerances tighter
        # than the 1e-8 defaults: E and alpha trade off along a flat valley,
        # where the defaults stop visibly short of the minimum.
        res = optimize.least_squares(
            saturating_residuals,
            np.clip(x0, lower, upper),
            jac=saturating_jac,
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


def batch_fit(
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
    iteration on all rows together with numpy (BENCHMARKS.md: much faster). It minimises
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
    lower, upper = saturating_bounds(alpha_max)
    theta = np.clip(np.broadcast_to(theta0, (n_fit, 3)).astype(np.float64), lower, upper)
    eye = np.eye(3)

    def evaluate(th: np.ndarray, lu: np.ndarray, ly: np.ndarray) -> tuple[np.ndarray, ...]:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            term = np.exp(th[:, :1] - th[:, 2:3] * lu)
            pred = th[:, 1:2] + term
            r = np.log(pred) - ly
            jac = np.stack([term / pred, 1.0 / pred, -term * lu / pred], axis=2)
            w, rho = robust_weights(r, loss, f_scale)
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
            trial[better],
            r_t[better],
            w_t[better],
            cost_t[better],
            jac_t[better],
        )
        lam[acc] = np.maximum(lam[acc] / 3.0, 1e-12)
        lam[rej] *= 4.0
        # Also converged: damping so large that no step lowers the cost any
        # more (a stationary point in the box, up to rounding).
        converged[rej[lam[rej] > 1e12]] = True
    return theta, cost, converged


def best_fit(
    log_u: np.ndarray,
    log_y: np.ndarray,
    starts: np.ndarray,
    loss: str,
    f_scale: float,
    alpha_max: float,
) -> tuple[np.ndarray, float] | None:
    """Best fit over the rows of ``starts``: ``(theta, cost)``, or None.

    All starts run together in :func:`batch_fit`; the lowest-cost
    result is then handed to ``least_squares`` as a check and polish, and the
    lower of the two costs wins.
    """
    k = starts.shape[0]
    theta, cost, _ = batch_fit(np.tile(log_u, (k, 1)), np.tile(log_y, (k, 1)), starts, loss, f_scale, alpha_max)
    finite = np.isfinite(cost)
    if not finite.any():
        return None
    i = int(np.argmin(np.where(finite, cost, np.inf)))
    best_theta, best_cost = theta[i], float(cost[i])
    res = least_squares_fit(log_u, log_y, best_theta, loss, f_scale, alpha_max)
    if res is not None and res.cost < best_cost:
        best_theta, best_cost = res.x, float(res.cost)
    return best_theta, best_cost


def starting_grid(log_u: np.ndarray, log_y: np.ndarray, n_starts: int, alpha_max: float) -> np.ndarray:
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
