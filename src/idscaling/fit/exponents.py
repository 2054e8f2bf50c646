"""Observed vs. predicted scaling exponents, one row per (dataset, axis).

Axes: ``data`` (loss vs data size on one shape), ``data_envelope`` (loss vs data size on the best
shape at each size, :mod:`idscaling.envelope`; with more than one shape) and ``model`` (loss vs
parameters at the largest data size). Every fitted law is also refitted without its largest size
and asked to predict it (``heldout_*``, :mod:`idscaling.heldout`).

Observed: power laws fitted to validation loss, two ways: the pure law ``L = A x^-alpha``
(:func:`idscaling.fit.fit_power_law`, log-log least squares: ``alpha_observed*``) and the
saturating law ``L = E + A x^-alpha`` (:func:`idscaling.fit.fit_saturating_power_law`:
``alpha_saturating*``, ``E_saturating*``), whose alpha is the exponent of the *reducible* loss,
the quantity the theory speaks about (the pure law's alpha is diluted by the irreducible part).
Predicted: from each dataset's intrinsic dimension
(:func:`idscaling.predict.predict_with_ci`): Havrilla & Liao's formulas
(``alpha_predicted*``, beta configurable) and, for the model axis, Sharma &
Kaplan's ``4 / d`` beside them (``alpha_predicted_sk*``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from idscaling.fit.common import require_columns
from idscaling.fit.envelope import fit_envelope
from idscaling.fit.heldout import HELDOUT_COLUMNS, heldout_fixed
from idscaling.fit.power_law import fit_power_law
from idscaling.fit.predict import axis_theorem, predict_with_ci
from idscaling.fit.saturating import fit_saturating_power_law

__all__ = ["exponents_table", "pretrained_exponents_table", "COLUMNS"]

COLUMNS = [
    "dataset",
    "axis",
    "held_fixed",
    "n_points",
    "alpha_observed",
    "alpha_ci_low",
    "alpha_ci_high",
    "prefactor",
    "r2",
    "id",
    "id_ci_low",
    "id_ci_high",
    "beta",
    "alpha_predicted",
    "alpha_predicted_ci_low",
    "alpha_predicted_ci_high",
    "ci_level",
    # Sharma & Kaplan (2022) alpha_N ~ 4 / d: model axis only (NaN on the data
    # axis). Appended after the original columns, whose order others rely on.
    "alpha_predicted_sk",
    "alpha_predicted_sk_ci_low",
    "alpha_predicted_sk_ci_high",
    # Saturating law L = E + A x^-alpha (NaN with a note where it cannot be fitted, e.g. fewer
    # than 4 points); appended last for the same reason.
    "alpha_saturating",
    "alpha_saturating_ci_low",
    "alpha_saturating_ci_high",
    "E_saturating",
    "E_saturating_ci_low",
    "E_saturating_ci_high",
    "A_saturating",
    "saturating_note",
    # data_envelope rows: the shape that gave the envelope at each size ("size:model ..."); then the
    # held-out extrapolation of every row's laws (idscaling.heldout)
    "envelope_models",
    *HELDOUT_COLUMNS,
]


@dataclass(frozen=True)
class FitSettings:
    """How the fits of one table are made (the config's ``fit`` section): interval level, the
    bootstrap's seed, replicates and scheme (``resample``: pairs over runs by default, which
    covered the true alpha best in simulation: :mod:`idscaling.fit.resample`)."""

    ci_level: float = 0.95
    seed: int = 0
    n_bootstrap: int = 1000
    resample: str = "points"


def _fmt(value: object) -> str:
    """Print integral floats (token counts read from CSV) without '.0'."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _fit(sub: pd.DataFrame, xcol: str, ci_level: float, dataset: object, axis: str) -> dict:
    try:
        return fit_power_law(sub[xcol].to_numpy(), sub["val_loss"].to_numpy(), ci_level=ci_level)
    except ValueError as err:
        raise ValueError(f"dataset {dataset!r}, {axis} axis (val_loss vs {xcol}): {err}") from None


def _saturating_columns(fit: dict | None, note: str = "") -> dict:
    """The saturating fit's columns; NaN and the reason where it could not be made (too few points,
    no convergence) or where a parameter sits at a bound (then the fit is reported but noted)."""
    empty = {c: math.nan for c in COLUMNS if c.endswith(("_saturating", "_saturating_ci_low", "_saturating_ci_high"))}
    if fit is None:
        return empty | {"saturating_note": note}
    row = {
        f"{name}_saturating{suffix}": fit[f"{name}{suffix}"]
        for name in ("alpha", "E")
        for suffix in ("", "_ci_low", "_ci_high")
    }
    row["A_saturating"] = fit["A"]
    notes = []
    if fit["at_bound"]:
        notes.append(
            "at bound: " + ", ".join(fit["at_bound"]) + (" (E = 0: a pure power law)" if "E" in fit["at_bound"] else "")
        )
    if fit["bootstrap_failed_fraction"] > 0.05:
        notes.append(
            f"{fit['bootstrap_failed_fraction']:.0%} of bootstrap resamples unusable (< 3 distinct sizes) "
            "or not converged"
        )
    return row | {"saturating_note": "; ".join(notes)}


def _fit_saturating(sub: pd.DataFrame, xcol: str, fs: FitSettings) -> dict:
    """The saturating fit's columns for the points of ``sub``."""
    try:
        fit = fit_saturating_power_law(
            sub[xcol].to_numpy(),
            sub["val_loss"].to_numpy(),
            ci_level=fs.ci_level,
            n_bootstrap=fs.n_bootstrap,
            seed=fs.seed,
            resample=fs.resample,
        )
    except ValueError as err:
        return _saturating_columns(None, str(err))
    return _saturating_columns(fit)


def _heldout(sub: pd.DataFrame, xcol: str, fs: FitSettings) -> dict:
    return heldout_fixed(
        sub[xcol].to_numpy(),
        sub["val_loss"].to_numpy(),
        ci_level=fs.ci_level,
        n_bootstrap=fs.n_bootstrap,
        seed=fs.seed,
        resample=fs.resample,
    )


def _envelope_fits(sub: pd.DataFrame, fs: FitSettings) -> tuple[str, dict, dict, dict]:
    """The data_envelope row's held_fixed, pure fit, saturating columns (with envelope_models) and
    held-out columns."""
    env = fit_envelope(sub, ci_level=fs.ci_level, n_bootstrap=fs.n_bootstrap, seed=fs.seed)
    table = env["envelope"]
    models = " ".join(f"{_fmt(n)}:{m}" for n, m in zip(table["n_tokens"], table["model"]))
    held_fixed = f"best of {sub['model'].nunique()} models per size"
    saturating = _saturating_columns(env["saturating"], env["saturating_note"]) | {"envelope_models": models}
    return held_fixed, env["pure"], saturating, env["heldout"]


def exponents_table(
    points: pd.DataFrame,
    ids: pd.DataFrame,
    *,
    beta: float = 1.0,
    ci_level: float = 0.95,
    params_column: str = "n_params",
    data_axis_model: str | None = None,
    seed: int = 0,
    n_bootstrap: int = 1000,
    resample: str = "points",
) -> pd.DataFrame:
    """Fit observed exponents and put them next to the ID-predicted ones.

    Parameters
    ----------
    points : DataFrame
        One row per trained model: dataset, model, n_tokens, val_loss and
        ``params_column`` are used (other columns ignored). Seeds are separate
        points in the fits.
    ids : DataFrame
        One row per dataset: dataset, id, id_ci_low, id_ci_high.
    beta : float
        Target smoothness for the predictions.
    ci_level : float
        Level of the observed-exponent intervals (recorded in the output).
    params_column : str
        Model-size column for the model axis (e.g. "n_params" or
        "n_params_nonembedding"); also decides which model is the largest.
    data_axis_model : str, optional
        Model whose data sweep gives the data exponent; default the model with
        the most parameters (``params_column``) in each dataset.
    seed, n_bootstrap, resample : int, int, str
        The saturating and envelope fits' bootstrap: seed, replicates and scheme
        (:func:`idscaling.fit.saturating.fit_saturating_power_law`).

    Returns
    -------
    DataFrame with columns :data:`COLUMNS`, one row per (dataset, axis):

    * ``data``: val_loss vs n_tokens over the points of one model,
      held_fixed = "model=<name>";
    * ``model`` (only for datasets with more than one distinct model):
      val_loss vs ``params_column`` over the points at the dataset's largest
      n_tokens, held_fixed = "n_tokens=<N>".

    ``alpha_predicted*`` are Havrilla & Liao's predictions for the row's axis
    (with ``beta``); ``alpha_predicted_sk*`` is Sharma & Kaplan's ``4 / d``
    on the model axis and NaN on the data axis. ``*_saturating`` come from the
    saturating law on the same points (NaN and ``saturating_note`` saying why
    where it cannot be fitted, e.g. fewer than 4 points). Prediction intervals map the
    ID's interval through the formula. A dataset without an ID row has NaN id
    and predicted columns.

    Raises
    ------
    ValueError
        Missing columns, duplicate ID rows, ``data_axis_model`` absent from a
        dataset, or a fit that cannot be made (the message names dataset and axis).
    """
    if not float(beta) > 0:
        raise ValueError(f"beta must be > 0, got {beta!r}")
    require_columns(points, ["dataset", "model", "n_tokens", "val_loss", params_column], "points")
    require_columns(ids, ["dataset", "id", "id_ci_low", "id_ci_high"], "ids")
    duplicated = ids["dataset"][ids["dataset"].duplicated()].tolist()
    if duplicated:
        raise ValueError(f"ids has several rows for dataset(s) {duplicated}")
    id_by_dataset = ids.set_index("dataset")[["id", "id_ci_low", "id_ci_high"]].astype(float)
    fs = FitSettings(ci_level=float(ci_level), seed=int(seed), n_bootstrap=int(n_bootstrap), resample=resample)
    rows: list[dict] = []
    for dataset in sorted(points["dataset"].unique(), key=str):
        sub = points[points["dataset"] == dataset]
        d = tuple(float(v) for v in id_by_dataset.loc[dataset]) if dataset in id_by_dataset.index else (math.nan,) * 3
        for axis, held_fixed, fit, saturating, heldout in _dataset_fits(
            sub, dataset, params_column, data_axis_model, fs
        ):
            rows.append(_row(dataset, axis, held_fixed, fit, d, beta, fs.ci_level) | saturating | heldout)
    return pd.DataFrame(rows, columns=COLUMNS)


def _dataset_fits(
    sub: pd.DataFrame, dataset: object, params_column: str, data_axis_model: str | None, fs: FitSettings
) -> list[tuple]:
    """One dataset's fits: (axis, held_fixed, pure fit, saturating columns, held-out columns) for
    the data axis on one shape (with at least two sizes) and, with several shapes, the envelope
    (at least two sizes) and the model axis."""
    models = sub["model"].unique()
    if data_axis_model is None:
        model = sub.groupby("model")[params_column].max().idxmax()
    else:
        model = data_axis_model
        if model not in set(models):
            raise ValueError(
                f"data_axis_model {model!r} has no points in dataset {dataset!r}; "
                f"models there: {sorted(map(str, models))}"
            )
    on_model = sub[sub["model"] == model]
    fits = []
    if on_model["n_tokens"].nunique() >= 2:  # one data size (a known-dimension check, say): no data law
        fits.append(
            (
                "data",
                f"model={model}",
                _fit(on_model, "n_tokens", fs.ci_level, dataset, "data"),
                _fit_saturating(on_model, "n_tokens", fs),
                _heldout(on_model, "n_tokens", fs),
            )
        )
    if len(models) > 1:
        if sub["n_tokens"].nunique() >= 2:
            held_fixed, pure, saturating, heldout = _envelope_fits(sub, fs)
            fits.append(("data_envelope", held_fixed, pure, saturating, heldout))
        n_max = sub["n_tokens"].max()
        at_max = sub[sub["n_tokens"] == n_max]
        fits.append(
            (
                "model",
                f"n_tokens={_fmt(n_max)}",
                _fit(at_max, params_column, fs.ci_level, dataset, "model"),
                _fit_saturating(at_max, params_column, fs),
                _heldout(at_max, params_column, fs),
            )
        )
    return fits


def _row(
    dataset: object, axis: str, held_fixed: str, fit: dict, d: tuple[float, float, float], beta: float, ci_level: float
) -> dict:
    """A row's observed pure law and the exponents predicted from the dataset's ID ``d``
    (estimate, low, high; NaN without one)."""
    pred = sk = (math.nan,) * 3
    if not math.isnan(d[0]):
        pred = predict_with_ci(*d, beta=beta, axis=axis_theorem(axis))
        if axis == "model":
            sk = predict_with_ci(*d, axis=axis, theory="sharma_kaplan")
    return {
        "dataset": dataset,
        "axis": axis,
        "held_fixed": held_fixed,
        "n_points": fit["n_points"],
        "alpha_observed": fit["alpha"],
        "alpha_ci_low": fit["alpha_ci_low"],
        "alpha_ci_high": fit["alpha_ci_high"],
        "prefactor": fit["prefactor"],
        "r2": fit["r2"],
        "id": d[0],
        "id_ci_low": d[1],
        "id_ci_high": d[2],
        "beta": float(beta),
        "alpha_predicted": pred[0],
        "alpha_predicted_ci_low": pred[1],
        "alpha_predicted_ci_high": pred[2],
        "ci_level": float(ci_level),
        "alpha_predicted_sk": sk[0],
        "alpha_predicted_sk_ci_low": sk[1],
        "alpha_predicted_sk_ci_high": sk[2],
        "envelope_models": "",
    }


def pretrained_exponents_table(
    points: pd.DataFrame,
    *,
    beta: float = 1.0,
    ci_level: float = 0.95,
    params_column: str = "n_params",
    seed: int = 0,
    n_bootstrap: int = 1000,
    resample: str = "points",
) -> pd.DataFrame:
    """Model-axis exponents of pretrained suites (``summary.pretrained_points``), one row per
    (dataset, suite) with the columns of :data:`COLUMNS` (axis "model") and ``suite`` last.

    Observed: loss against ``params_column`` over the suite's models (pure and saturating law).
    Predicted: from the suite's ID -- the mean of its models' final-layer estimates, the interval
    spanning theirs (lowest low, highest high) -- by Havrilla & Liao (2 beta / d) and Sharma &
    Kaplan (4 / d). A dataset with fewer than 2 model sizes gets NaN exponents."""
    require_columns(
        points, ["dataset", "suite", "model", "val_loss", "id", "id_ci_low", "id_ci_high", params_column], "points"
    )
    rows = []
    for (dataset, suite), sub in points.groupby(["dataset", "suite"], sort=True):
        ids = sub[["id", "id_ci_low", "id_ci_high"]].astype(float).dropna()
        d, d_low, d_high = (
            (float(ids["id"].mean()), float(ids["id_ci_low"].min()), float(ids["id_ci_high"].max()))
            if len(ids)
            else (math.nan,) * 3
        )
        if sub[params_column].nunique() >= 2:
            fit = _fit(sub, params_column, ci_level, dataset, "model")
        else:
            fit = {
                "n_points": len(sub),
                "alpha": math.nan,
                "alpha_ci_low": math.nan,
                "alpha_ci_high": math.nan,
                "prefactor": math.nan,
                "r2": math.nan,
            }
        saturating = _fit_saturating(
            sub,
            params_column,
            FitSettings(ci_level=float(ci_level), seed=int(seed), n_bootstrap=int(n_bootstrap), resample=resample),
        )
        pred = sk = (math.nan,) * 3
        if not math.isnan(d):
            pred = predict_with_ci(d, d_low, d_high, beta=beta, axis="model")
            sk = predict_with_ci(d, d_low, d_high, axis="model", theory="sharma_kaplan")
        rows.append(
            {
                "dataset": dataset,
                "axis": "model",
                "held_fixed": f"suite={suite} ({sub['model'].nunique()} models)",
                "n_points": fit["n_points"],
                "alpha_observed": fit["alpha"],
                "alpha_ci_low": fit["alpha_ci_low"],
                "alpha_ci_high": fit["alpha_ci_high"],
                "prefactor": fit["prefactor"],
                "r2": fit["r2"],
                "id": d,
                "id_ci_low": d_low,
                "id_ci_high": d_high,
                "beta": float(beta),
                "alpha_predicted": pred[0],
                "alpha_predicted_ci_low": pred[1],
                "alpha_predicted_ci_high": pred[2],
                "ci_level": float(ci_level),
                "alpha_predicted_sk": sk[0],
                "alpha_predicted_sk_ci_low": sk[1],
                "alpha_predicted_sk_ci_high": sk[2],
            }
            | saturating
            | {"suite": suite}
        )
    return pd.DataFrame(rows, columns=COLUMNS + ["suite"])
