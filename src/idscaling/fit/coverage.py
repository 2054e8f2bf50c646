"""How often the saturating fit's interval holds the true exponent, for a given sweep design.

A nominal 95% bootstrap interval is only nominal: with few sizes over a narrow range the
estimator of alpha is skewed (alpha trades off against E) and the percentile bootstrap can
under-cover. Whether a sweep's own design is good enough is a simulation question, answered
here with the pipeline's own fit: :func:`simulate_coverage` draws sweeps from a known curve
``E + A N^-alpha`` with a noise model measured from real runs (:func:`measure_noise`), fits
each with :func:`idscaling.fit.fit_saturating_power_law` under exactly the settings of
:mod:`idscaling.fit.exponents` (``fit.n_bootstrap`` resamples of the ``fit.resample`` scheme), and
counts the intervals that hold the truth, with an exact binomial interval on that count.

Noise model, in log loss (relative errors, as the fit's residuals): each point is
``log L = log(E + A N^-alpha) + d_N + e``, ``e ~ N(0, seed_sd^2)`` independently per run
(seed-to-seed spread: initialisation, data order, the nested subset drawn) and ``d_N ~ N(0,
lack_of_fit_sd^2)`` shared by all seeds at one size (deviation of the curve itself from the
law, which no seed bootstrap can see). Seeds of one sweep share their document order across
sizes (nested subsets), which correlates a seed's errors across sizes; the model leaves that
out. A correlation that shifts a whole seed curve by a constant factor multiplies E and A
alike and leaves alpha unchanged, so for alpha it would make the seed bootstrap, which treats
the errors as independent, conservative rather than optimistic.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from idscaling.fit.exponents import FitSettings
from idscaling.fit.resample import SATURATING_RESAMPLING
from idscaling.fit.saturating import fit_saturating_power_law

__all__ = ["simulate_coverage", "measure_noise", "pooled_noise_sd", "prefactor_for_excess", "NOISE_COLUMNS"]

NOISE_COLUMNS = ["dataset", "model", "noise_sd", "method", "dof", "n_sizes", "n_points", "lack_of_fit_sd"]


def prefactor_for_excess(excess: float, n_ref: float, alpha: float) -> float:
    """``A`` such that the reducible loss ``A * n_ref**-alpha`` equals ``excess`` (nats) at ``n_ref``.

    Curves are easier to state by their excess loss at a size in the data than by ``A``, which
    is the extrapolation to N = 1 and spans many orders of magnitude across alphas."""
    if not (excess > 0 and n_ref > 0 and alpha >= 0):
        raise ValueError(f"need excess > 0, n_ref > 0, alpha >= 0; got {excess!r}, {n_ref!r}, {alpha!r}")
    return float(excess) * float(n_ref) ** float(alpha)


def _binomial_ci(hits: int, trials: int, level: float) -> tuple[float, float]:
    """Clopper-Pearson interval: exact, so it never claims more precision than the replicates give."""
    ci = stats.binomtest(hits, trials).proportion_ci(confidence_level=level, method="exact")
    return float(ci.low), float(ci.high)


def simulate_coverage(
    sizes: Sequence[float],
    seeds: int,
    *,
    E: float,
    A: float,
    alpha: float,
    seed_sd: float,
    lack_of_fit_sd: float = 0.0,
    replicates: int = 400,
    ci_level: float = 0.95,
    resample: str = FitSettings.resample,
    n_bootstrap: int = FitSettings.n_bootstrap,
    seed: int = 0,
) -> dict[str, Any]:
    """Coverage of the saturating fit's intervals on alpha and E for one sweep design.

    Parameters
    ----------
    sizes : sequence of float
        Distinct data sizes N of the sweep (at least 3).
    seeds : int
        Runs (seeds) per size, >= 1.
    E, A, alpha : float
        The true curve ``L = E + A N^-alpha`` (see :func:`prefactor_for_excess`).
    seed_sd, lack_of_fit_sd : float
        Noise SDs in log loss (module docstring), >= 0.
    replicates : int
        Simulated sweeps, each fitted once.
    ci_level : float
        Nominal level of the fit's intervals (the pipeline's ``fit.ci_level``); the binomial
        interval on the coverage is at 95%.
    resample, n_bootstrap : as in :func:`idscaling.fit.saturating.fit_saturating_power_law`
        Default: the pipeline's (``fit.resample``, ``fit.n_bootstrap``). Other values compare schemes.
    seed : int
        Seed of the noise; replicate r bootstraps with seed r (the pipeline fixes one seed per
        sweep, which is the same thing across independent sweeps).

    Returns
    -------
    dict
        ``coverage_alpha``, ``coverage_alpha_ci_low``, ``coverage_alpha_ci_high``, the same for
        E; ``median_alpha_ci_width``, ``median_E_ci_width``, ``median_alpha_error`` (median of
        estimate - truth: the estimator's bias), ``n_failed`` (sweeps whose fit raised or gave no
        interval: counted as not covering), ``resample`` (the scheme the fits used), the inputs,
        and ``seconds``. Plain Python types.

    Raises
    ------
    ValueError
        Fewer than 3 distinct positive sizes, ``seeds`` < 1, negative noise, non-positive truth,
        ``replicates`` < 1, ``ci_level`` outside (0, 1) or an unknown ``resample``.
    """
    grid = _checked_design(sizes, seeds, replicates, seed_sd, lack_of_fit_sd, E, A, alpha, ci_level, resample)
    x = np.repeat(np.sort(grid), seeds)
    size_of = np.repeat(np.arange(grid.size), seeds)
    group = np.tile(np.arange(seeds), grid.size)
    log_mean = np.log(E + A * x**-alpha)
    rng = np.random.default_rng(seed)
    hits = {"alpha": 0, "E": 0}
    widths: dict[str, list[float]] = {"alpha": [], "E": []}
    errors: list[float] = []
    n_failed = 0
    used = resample
    start = time.perf_counter()
    for r in range(replicates):
        noise = rng.normal(0.0, lack_of_fit_sd, grid.size)[size_of] + rng.normal(0.0, seed_sd, x.size)
        y = np.exp(log_mean + noise)
        try:
            fit = fit_saturating_power_law(
                x,
                y,
                ci_level=ci_level,
                n_bootstrap=n_bootstrap,
                seed=r,
                resample=resample,
                groups=group if resample == "groups" else None,
            )
        except ValueError:
            n_failed += 1
            continue
        used = fit["resample"]
        errors.append(fit["alpha"] - alpha)
        if not all(math.isfinite(fit[f"{p}_ci_{s}"]) for p in hits for s in ("low", "high")):
            n_failed += 1
            continue
        for p, truth in (("alpha", alpha), ("E", E)):
            low, high = fit[f"{p}_ci_low"], fit[f"{p}_ci_high"]
            hits[p] += low <= truth <= high
            widths[p].append(high - low)

    out: dict[str, Any] = {
        "n_sizes": int(grid.size),
        "seeds": int(seeds),
        "n_min": float(grid.min()),
        "n_max": float(grid.max()),
        "decades": float(np.log10(grid.max() / grid.min())),
        "E": float(E),
        "A": float(A),
        "alpha": float(alpha),
        "seed_sd": float(seed_sd),
        "lack_of_fit_sd": float(lack_of_fit_sd),
        "ci_level": float(ci_level),
        "resample": used,
        "n_bootstrap": int(n_bootstrap),
        "replicates": int(replicates),
        "n_failed": n_failed,
    }
    for p in ("alpha", "E"):
        out[f"coverage_{p}"] = hits[p] / replicates
        out[f"coverage_{p}_ci_low"], out[f"coverage_{p}_ci_high"] = _binomial_ci(hits[p], replicates, 0.95)
        out[f"median_{p}_ci_width"] = float(np.median(widths[p])) if widths[p] else math.nan
    out["median_alpha_error"] = float(np.median(errors)) if errors else math.nan
    out["seconds"] = time.perf_counter() - start
    return out


def _checked_design(
    sizes: Sequence[float],
    seeds: Any,
    replicates: Any,
    seed_sd: float,
    lack_of_fit_sd: float,
    E: float,
    A: float,
    alpha: float,
    ci_level: float,
    resample: str,
) -> np.ndarray:
    """The design's sizes as an array, every input checked (see the Raises of the simulation)."""
    grid = np.asarray(sizes, dtype=np.float64)
    if grid.ndim != 1 or np.unique(grid).size != grid.size or grid.size < 3 or not np.all(grid > 0):
        raise ValueError(f"sizes must be at least 3 distinct positive numbers, got {list(sizes)!r}")
    if isinstance(seeds, bool) or not isinstance(seeds, (int, np.integer)) or seeds < 1:
        raise ValueError(f"seeds must be an integer >= 1, got {seeds!r}")
    if isinstance(replicates, bool) or not isinstance(replicates, (int, np.integer)) or replicates < 1:
        raise ValueError(f"replicates must be an integer >= 1, got {replicates!r}")
    if not (seed_sd >= 0 and lack_of_fit_sd >= 0):
        raise ValueError(f"noise SDs must be >= 0, got seed_sd={seed_sd!r}, lack_of_fit_sd={lack_of_fit_sd!r}")
    if not (E >= 0 and A > 0 and alpha > 0):
        raise ValueError(f"need E >= 0, A > 0, alpha > 0; got E={E!r}, A={A!r}, alpha={alpha!r}")
    if not 0.0 < ci_level < 1.0:
        raise ValueError(f"ci_level must be in (0, 1), got {ci_level!r}")
    if resample not in SATURATING_RESAMPLING:
        raise ValueError(f"resample must be one of {SATURATING_RESAMPLING}, got {resample!r}")
    if seeds < 2 and (resample.startswith("within_x") or resample == "groups"):
        raise ValueError(f"resample={resample!r} resamples seeds: it needs seeds >= 2, got {seeds}")
    return grid


def _fit_residual_sd(x: np.ndarray, y: np.ndarray) -> tuple[float, int]:
    """Residual SD (log loss, n - 3 degrees of freedom) of the pipeline's saturating fit."""
    fit = fit_saturating_power_law(x, y, n_bootstrap=0)
    resid = np.log(fit["E"] + fit["A"] * x ** -fit["alpha"]) - np.log(y)
    dof = x.size - 3
    return float(math.sqrt(np.sum(resid**2) / dof)), dof


def measure_noise(points: pd.DataFrame, *, x: str = "n_tokens", y: str = "val_loss") -> pd.DataFrame:
    """The noise SD in log loss of each (dataset, model) sweep of a ``scaling_points.csv``.

    ``method`` says which estimate each row holds:

    * "seed_spread" where some size has >= 2 seeds: the pooled within-size SD of log ``y``
      across seeds, ``sqrt(sum_sizes sum_seeds (l - mean_size)^2 / sum_sizes (r - 1))``, with
      ``dof`` = sum of (r - 1). It measures only seed-to-seed noise. Where the sweep also
      allows the saturating fit (>= 4 points, >= 3 sizes), ``lack_of_fit_sd`` estimates the
      part of the curve's deviation from the law that is shared by a size's seeds: the
      excess variance of the per-size means' residuals over ``noise_sd^2 / r`` (floored at 0;
      NaN with fewer than 4 sizes, which leave no residual degrees of freedom for the means).
    * "fit_residual" with one seed per size: the residual SD of the saturating fit (``dof`` =
      n - 3). It lumps seed noise and lack of fit together; ``lack_of_fit_sd`` is NaN.
    * "none": too few points for either (noise_sd NaN).

    Raises
    ------
    ValueError
        Missing columns, or a non-positive or non-finite loss.
    """
    needed = ["dataset", "model", x, "seed", y]
    missing = [c for c in needed if c not in points.columns]
    if missing:
        raise ValueError(f"points lacks column(s) {missing}; available: {list(points.columns)}")
    loss = points[y].to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(loss) & (loss > 0)):
        raise ValueError(
            f"{y} must be positive and finite to take logs; "
            f"{int(np.sum(~(np.isfinite(loss) & (loss > 0))))} values are not"
        )

    rows = []
    for (dataset, model), sub in points.groupby(["dataset", "model"], sort=True):
        log_y = np.log(sub[y].to_numpy(dtype=np.float64))
        size = sub[x].to_numpy(dtype=np.float64)
        sizes, inverse, counts = np.unique(size, return_inverse=True, return_counts=True)
        means = np.bincount(inverse, weights=log_y) / counts
        dof = int(np.sum(counts - 1))
        row = {
            "dataset": dataset,
            "model": model,
            "n_sizes": int(sizes.size),
            "n_points": int(size.size),
            "lack_of_fit_sd": math.nan,
        }
        if dof > 0:
            sd = math.sqrt(float(np.sum((log_y - means[inverse]) ** 2)) / dof)
            row |= {"noise_sd": sd, "method": "seed_spread", "dof": dof}
            if sizes.size >= 4:
                fit = fit_saturating_power_law(sizes, np.exp(means), n_bootstrap=0)
                resid = np.log(fit["E"] + fit["A"] * sizes ** -fit["alpha"]) - means
                excess = float(np.sum(resid**2)) / (sizes.size - 3) - sd**2 * float(np.mean(1.0 / counts))
                row["lack_of_fit_sd"] = math.sqrt(max(excess, 0.0))
        elif size.size >= 4 and sizes.size >= 3:
            sd, dof = _fit_residual_sd(size, np.exp(log_y))
            row |= {"noise_sd": sd, "method": "fit_residual", "dof": dof}
        else:
            row |= {"noise_sd": math.nan, "method": "none", "dof": 0}
        rows.append(row)
    return pd.DataFrame(rows, columns=NOISE_COLUMNS)


def pooled_noise_sd(table: pd.DataFrame, method: str = "seed_spread") -> float:
    """Pool the ``noise_sd`` of the rows of one ``method`` of :func:`measure_noise` by their dof
    (variances weighted by degrees of freedom): one SD for a simulation; NaN if no such row."""
    rows = table[(table["method"] == method) & (table["dof"] > 0)]
    if rows.empty:
        return math.nan
    return float(math.sqrt(np.sum(rows["dof"] * rows["noise_sd"] ** 2) / np.sum(rows["dof"])))
