"""The data law on the best model at each size: the envelope over model shapes.

Why: a fixed shape fitted to its own floor measures how fast it approaches that floor (excess
loss ~ parameters / N, an exponent near 1), not the theory's rate N^(-2 beta / (2 beta + d)),
which bounds the *best* model at each N, the model size chosen for N (Kaplan et al. fit L(D) on
large, early-stopped models). At each data size the envelope is the lowest seed-mean validation
loss over the shapes, with the shape that reaches it.

The interval is a bootstrap over seeds and shapes: each replicate resamples the seeds of every
(shape, size) cell with replacement and recomputes the cell means, and so the envelope (the shape
that wins a size changes when its lead is within the seeds' noise, as it would with other seeds),
then draws the envelope's sizes with replacement (pairs, which sees lack of fit as the fixed-shape
fits' pairs bootstrap does) and refits. The envelope of noisy means is biased low where shapes are
close (the minimum of noisy means); the bootstrap reproduces that selection in every replicate.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from idscaling.fit.heldout import (
    empty_heldout,
    heldout_from_fits,
    percentile_interval,
    pure_prediction,
)
from idscaling.fit.power_law import fit_power_law
from idscaling.fit.saturating import fit_saturating_power_law

__all__ = ["envelope_points", "envelope_replicates", "fit_envelope"]


def envelope_points(
    points: pd.DataFrame, *, x: str = "n_tokens", y: str = "val_loss", model: str = "model"
) -> pd.DataFrame:
    """One row per size ``x``: the lowest seed-mean ``y`` over the models (``y``), the model that
    reaches it (``model``), its number of seeds, the number of models at that size and the lead
    over the runner-up (``margin``; NaN with one model)."""
    cells = points.groupby([x, model], sort=True)[y].agg(["mean", "count"]).reset_index()
    rows = []
    for size, at in cells.groupby(x, sort=True):
        ranked = at.sort_values(["mean", model]).reset_index(drop=True)
        rows.append(
            {
                x: size,
                y: float(ranked.loc[0, "mean"]),
                model: ranked.loc[0, model],
                "n_seeds": int(ranked.loc[0, "count"]),
                "n_models": len(ranked),
                "margin": float(ranked.loc[1, "mean"] - ranked.loc[0, "mean"]) if len(ranked) > 1 else math.nan,
            }
        )
    return pd.DataFrame(rows, columns=[x, y, model, "n_seeds", "n_models", "margin"])


def envelope_replicates(
    points: pd.DataFrame,
    n_bootstrap: int,
    seed: int,
    *,
    x: str = "n_tokens",
    y: str = "val_loss",
    model: str = "model",
    pairs: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bootstrap replicates of the envelope (see the module docstring): ``(sizes, idx, values)``
    with ``sizes`` the sorted distinct x, and replicate b the points ``(sizes[idx[b]], values[b])``;
    ``pairs=False`` keeps every size once (``idx[b] = 0..n-1``)."""
    sizes = np.sort(points[x].unique())
    models = sorted(points[model].unique(), key=str)
    rng = np.random.default_rng(seed)
    means = np.full((n_bootstrap, len(sizes), len(models)), np.inf)
    for (i, size), (j, name) in ((a, b) for a in enumerate(sizes) for b in enumerate(models)):
        losses = points.loc[(points[x] == size) & (points[model] == name), y].to_numpy(dtype=np.float64)
        if losses.size:
            means[:, i, j] = losses[rng.integers(0, losses.size, size=(n_bootstrap, losses.size))].mean(axis=1)
    envelope = means.min(axis=2)
    n = len(sizes)
    idx = rng.integers(0, n, size=(n_bootstrap, n)) if pairs else np.broadcast_to(np.arange(n), (n_bootstrap, n))
    return sizes, np.ascontiguousarray(idx), np.take_along_axis(envelope, idx, axis=1)


def _pure_replicates(sizes: np.ndarray, idx: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The pure law's alpha for every replicate (closed-form log-log slope; NaN with one size)."""
    lx, ly = np.log(sizes)[idx], np.log(values)
    lx_c = lx - lx.mean(axis=1, keepdims=True)
    sxx = (lx_c**2).sum(axis=1)
    ok = sxx > 1e-12
    alpha = np.full(len(idx), np.nan)
    alpha[ok] = -(lx_c[ok] * ly[ok]).sum(axis=1) / sxx[ok]
    return alpha


def fit_envelope(
    points: pd.DataFrame,
    *,
    x: str = "n_tokens",
    y: str = "val_loss",
    model: str = "model",
    ci_level: float = 0.95,
    n_bootstrap: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Fit the pure and the saturating law to the envelope of ``points`` (columns ``x``, ``y``,
    ``model``; seeds as separate rows) with the bootstrap of the module docstring, and extrapolate
    the envelope without its largest size to that size.

    Returns ``envelope`` (:func:`envelope_points`), ``pure`` (the pure law's
    :func:`idscaling.fit.fit_power_law` result, its ``alpha_ci_*`` from the envelope replicates),
    ``saturating`` (:func:`idscaling.fit.fit_saturating_power_law` with the envelope replicates;
    None and ``saturating_note`` when it cannot be fitted) and ``heldout`` (the held-out columns
    of :mod:`idscaling.heldout`)."""
    env = envelope_points(points, x=x, y=y, model=model)
    sizes, values = env[x].to_numpy(dtype=np.float64), env[y].to_numpy(dtype=np.float64)
    out: dict[str, Any] = {"envelope": env, "saturating": None, "saturating_note": ""}

    _, idx, reps = envelope_replicates(points, n_bootstrap, seed, x=x, y=y, model=model)
    pure = fit_power_law(sizes, values, ci_level=ci_level)
    pure["alpha_ci_low"], pure["alpha_ci_high"] = percentile_interval(_pure_replicates(sizes, idx, reps), ci_level)
    out["pure"] = pure
    try:
        out["saturating"] = fit_saturating_power_law(sizes, values, ci_level=ci_level, replicates=(idx, reps))
    except ValueError as err:
        out["saturating_note"] = str(err)

    # Held out: the envelope of the smaller sizes, refitted with replicates of those sizes only.
    if len(sizes) < 3:
        out["heldout"] = empty_heldout("fewer than 3 sizes: nothing left to extrapolate from")
        return out
    below = points[points[x] < sizes[-1]]
    _, idx_b, reps_b = envelope_replicates(below, n_bootstrap, seed + 1, x=x, y=y, model=model)
    notes, saturating, pure_pred = [], None, None
    try:
        saturating = fit_saturating_power_law(
            sizes[:-1], values[:-1], ci_level=ci_level, replicates=(idx_b, reps_b), return_replicates=True
        )
    except ValueError as err:
        notes.append(f"saturating refit: {err}")
    try:
        pure_pred = pure_prediction(sizes[:-1], values[:-1], sizes[-1], ci_level)
    except ValueError as err:
        notes.append(f"pure refit: {err}")
    out["heldout"] = heldout_from_fits(
        saturating,
        pure_pred,
        x0=sizes[-1],
        n_points=int(env["n_seeds"].iloc[-1]),
        observed=values[-1],
        ci_level=ci_level,
        note="; ".join(notes),
    )
    return out
