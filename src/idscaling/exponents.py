"""Observed vs. predicted scaling exponents, one row per (dataset, axis).

Observed: power laws fitted to validation loss (:func:`idscaling.fit.fit_power_law`).
Predicted: from each dataset's intrinsic dimension
(:func:`idscaling.predict.predict_with_ci`): Havrilla & Liao's formulas
(``alpha_predicted*``, beta configurable) and, for the model axis, Sharma &
Kaplan's ``4 / d`` beside them (``alpha_predicted_sk*``).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .fit import fit_power_law
from .predict import predict_with_ci

__all__ = ["exponents_table", "COLUMNS"]

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
]


def _require(frame: pd.DataFrame, columns: list[str], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks column(s) {missing}; available: {list(frame.columns)}")


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


def exponents_table(
    points: pd.DataFrame,
    ids: pd.DataFrame,
    *,
    beta: float = 1.0,
    ci_level: float = 0.95,
    params_column: str = "n_params",
    data_axis_model: str | None = None,
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
    on the model axis and NaN on the data axis. Prediction intervals map the
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
    _require(points, ["dataset", "model", "n_tokens", "val_loss", params_column], "points")
    _require(ids, ["dataset", "id", "id_ci_low", "id_ci_high"], "ids")
    duplicated = ids["dataset"][ids["dataset"].duplicated()].tolist()
    if duplicated:
        raise ValueError(f"ids has several rows for dataset(s) {duplicated}")
    id_by_dataset = ids.set_index("dataset")[["id", "id_ci_low", "id_ci_high"]].astype(float)

    rows: list[dict] = []
    for dataset in sorted(points["dataset"].unique(), key=str):
        sub = points[points["dataset"] == dataset]
        models = sub["model"].unique()

        if data_axis_model is None:
            size = sub.groupby("model")[params_column].max()
            model = size.idxmax()
        else:
            model = data_axis_model
            if model not in set(models):
                raise ValueError(
                    f"data_axis_model {model!r} has no points in dataset {dataset!r}; "
                    f"models there: {sorted(map(str, models))}"
                )
        fits = [("data", f"model={model}", _fit(sub[sub["model"] == model], "n_tokens", ci_level, dataset, "data"))]

        if len(models) > 1:
            n_max = sub["n_tokens"].max()
            at_max = sub[sub["n_tokens"] == n_max]
            fits.append(("model", f"n_tokens={_fmt(n_max)}", _fit(at_max, params_column, ci_level, dataset, "model")))

        if dataset in id_by_dataset.index:
            d, d_low, d_high = (float(v) for v in id_by_dataset.loc[dataset])
        else:
            d = d_low = d_high = math.nan

        for axis, held_fixed, fit in fits:
            pred = pred_low = pred_high = math.nan
            sk = sk_low = sk_high = math.nan
            if not math.isnan(d):
                pred, pred_low, pred_high = predict_with_ci(d, d_low, d_high, beta=beta, axis=axis)
                if axis == "model":
                    sk, sk_low, sk_high = predict_with_ci(d, d_low, d_high, axis=axis, theory="sharma_kaplan")
            rows.append(
                {
                    "dataset": dataset,
                    "axis": axis,
                    "held_fixed": held_fixed,
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
                    "alpha_predicted": pred,
                    "alpha_predicted_ci_low": pred_low,
                    "alpha_predicted_ci_high": pred_high,
                    "ci_level": float(ci_level),
                    "alpha_predicted_sk": sk,
                    "alpha_predicted_sk_ci_low": sk_low,
                    "alpha_predicted_sk_ci_high": sk_high,
                }
            )
    return pd.DataFrame(rows, columns=COLUMNS)
