"""The joint law ``L(N, D) = E + A / N**alpha + B / D**beta`` (Hoffmann et al. 2022, "approach 3"),
with exactly the objective of Epoch AI's replication (Besiroglu et al. 2024): Huber loss
(delta = 1e-3) on ``log L - LSE(a - alpha log N, b - beta log D, e)`` with ``a = log A``,
``b = log B``, ``e = log E``, L-BFGS from a grid of starts, best of them; pairs-bootstrap
percentile intervals and standard errors."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import optimize
from scipy.special import huber as _huber

from idscaling.fit.common import (
    blas_single_threaded,
    check_level,
    check_n_bootstrap,
    check_values,
    percentile_ci,
    positive_arrays,
    r2,
    sd,
    single_threaded_blas,
)

__all__ = ["fit_joint_scaling_law", "JOINT_GRID", "EPOCH_JOINT_GRID"]

# Starting grid for the joint fit: 3 * 3 * 2 * 2 * 2 = 72 L-BFGS starts. Epoch's replication uses
# the much larger EPOCH_JOINT_GRID (4,500 starts); on the Chinchilla points both find the same
# best optimum with a wide margin (n_starts_at_best in the output; times in BENCHMARKS.md).
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
    # Tolerances are tight relative to the scaled objective (checked on the
    # Chinchilla points against a much tighter run: BENCHMARKS.md).
    return optimize.minimize(
        _joint_objective,
        x0,
        args=(log_n, log_d, log_l, delta),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 2000, "ftol": 1e-11, "gtol": 1e-8},
    )


def _joint_refit_chunk(
    x0: np.ndarray, resamples: list[np.ndarray], log_n: np.ndarray, log_d: np.ndarray, log_l: np.ndarray, delta: float
) -> list[tuple[bool, np.ndarray]]:
    with single_threaded_blas():
        out = []
        for idx in resamples:
            res = _joint_minimize(x0, log_n[idx], log_d[idx], log_l[idx], delta)
            out.append((bool(res.success), res.x))
        return out


def _joint_refits(
    x0: np.ndarray,
    resamples: list[np.ndarray],
    log_n: np.ndarray,
    log_d: np.ndarray,
    log_l: np.ndarray,
    delta: float,
    processes: int,
) -> list[tuple[bool, np.ndarray]]:
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
        parts = pool.map(
            _joint_refit_chunk,
            [x0] * processes,
            chunks,
            [log_n] * processes,
            [log_d] * processes,
            [log_l] * processes,
            [delta] * processes,
        )
        return [refit for part in parts for refit in part]


@blas_single_threaded
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
    level = check_level(ci_level)
    n_boot = check_n_bootstrap(n_bootstrap)
    if not (math.isfinite(float(huber_delta)) and float(huber_delta) > 0):
        raise ValueError(f"huber_delta must be a positive number, got {huber_delta!r}")
    delta = float(huber_delta)
    grid = JOINT_GRID if grid is None else grid
    keys = ("a", "b", "e", "alpha", "beta")
    if set(grid) != set(keys) or any(len(grid[k]) == 0 for k in keys):
        raise ValueError(f"grid must map each of {keys} to a non-empty sequence, got keys {sorted(grid)}")

    log_n, log_d, log_l = _checked_logs(n_params, n_tokens, loss)
    n = int(log_n.size)

    starts = [np.array(s, dtype=np.float64) for s in itertools.product(*(grid[k] for k in keys))]
    results = [_joint_minimize(s, log_n, log_d, log_l, delta) for s in starts]
    converged = [r for r in results if np.all(np.isfinite(r.x)) and np.isfinite(r.fun)]
    if not converged:
        raise ValueError("joint scaling-law fit: no start converged")
    best = min(converged, key=lambda r: r.fun)
    fun_best = float(best.fun)
    n_at_best = sum(r.fun <= fun_best + 1e-6 * abs(fun_best) + 1e-12 for r in converged)

    names = ("E", "A", "B", "alpha", "beta")
    est = _natural(best.x)
    terms = np.stack([best.x[0] - best.x[3] * log_n, best.x[1] - best.x[4] * log_d, np.full(n, best.x[2])])
    pred = np.logaddexp.reduce(terms, axis=0)
    out: dict[str, Any] = {name: float(v) for name, v in zip(names, est)}
    out.update(
        {
            # Undo the 1 / (n delta^2) scaling: report the sum of Huber losses.
            "objective": fun_best * n * delta**2,
            "r2": r2(pred - log_l, log_l),
            "n_points": n,
            "n_starts": len(starts),
            "n_starts_at_best": int(n_at_best),
            "huber_delta": delta,
            "ci_level": level,
            "n_bootstrap": n_boot,
        }
    )

    boots, raw, n_failed = _bootstrap(best.x, log_n, log_d, log_l, delta, n_boot, seed, processes)
    for j, name in enumerate(names):
        out[f"{name}_ci_low"], out[f"{name}_ci_high"] = percentile_ci(boots[:, j], level)
        out[f"{name}_se"] = sd(boots[:, j])
    out["bootstrap_failed_fraction"] = n_failed / n_boot if n_boot else math.nan
    out["theta"] = [float(v) for v in best.x]
    if return_replicates:
        out["replicates"] = raw
    return out


def _checked_logs(n_params: Any, n_tokens: Any, loss: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """log N, log D, log L, refusing too few points or N and D that cannot be told apart."""
    big_n, big_d, big_l = positive_arrays((("n_params", n_params), ("n_tokens", n_tokens), ("loss", loss)))
    n = int(big_n.size)
    if n < 6:
        raise ValueError(f"need at least 6 points to fit the joint law (5 parameters), got {n}")
    check_values((("n_params", big_n), ("n_tokens", big_d), ("loss", big_l)), "the joint fit")
    log_n, log_d, log_l = np.log(big_n), np.log(big_d), np.log(big_l)
    design = np.column_stack([np.ones(n), log_n - log_n.mean(), log_d - log_d.mean()])
    if np.linalg.matrix_rank(design, tol=1e-8 * max(1.0, float(np.abs(design).max()))) < 3:
        raise ValueError(
            "log n_params and log n_tokens are collinear (or one is constant): "
            "alpha and beta cannot be separated; vary N and D independently"
        )
    return log_n, log_d, log_l


def _natural(theta: np.ndarray) -> np.ndarray:
    """(E, A, B, alpha, beta) of the fit's own parameters (a, b, e, alpha, beta)."""
    a, b, e, alpha, beta = theta
    return np.array([np.exp(e), np.exp(a), np.exp(b), alpha, beta])


def _bootstrap(
    theta: np.ndarray,
    log_n: np.ndarray,
    log_d: np.ndarray,
    log_l: np.ndarray,
    delta: float,
    n_boot: int,
    seed: int,
    processes: int,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Pairs-bootstrap refits from the optimum ``theta``: their natural parameters and their own
    (a, b, e, alpha, beta) (finite where E, A, B may overflow), NaN rows where a refit failed, and
    the number that failed."""
    n = log_l.size
    boots = np.full((n_boot, 5), np.nan)
    raw = np.full((n_boot, 5), np.nan)
    n_failed = 0
    rng = np.random.default_rng(seed)
    resamples = [rng.integers(0, n, size=n) for _ in range(n_boot)]  # drawn first: the same in any layout
    for i, (success, x) in enumerate(_joint_refits(theta, resamples, log_n, log_d, log_l, delta, processes)):
        if not success or not np.all(np.isfinite(x)):
            n_failed += 1
            continue
        boots[i] = _natural(x)
        raw[i] = x
    return boots, raw, n_failed
