"""The joint law's table: ``L(N, D) = E + A / N^alpha_model + B / D^alpha_data`` fitted to all
points of each dataset (:func:`idscaling.fit.joint.fit_joint_scaling_law`), beside the exponents
predicted from the dataset's ID, and refitted without the largest data size to predict it."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from idscaling.fit.common import require_columns
from idscaling.fit.heldout import percentile_interval
from idscaling.fit.joint import fit_joint_scaling_law
from idscaling.fit.predict import predict_with_ci

__all__ = ["joint_fits_table", "joint_prediction", "JOINT_COLUMNS"]


JOINT_COLUMNS = [
    "dataset",
    "n_points",
    "n_models",
    "n_sizes",
    "alpha_model",
    "alpha_model_ci_low",
    "alpha_model_ci_high",
    "alpha_data",
    "alpha_data_ci_low",
    "alpha_data_ci_high",
    "E",
    "E_ci_low",
    "E_ci_high",
    "A",
    "B",
    "r2",
    "id",
    "alpha_model_predicted",
    "alpha_data_predicted",
    "beta",
    "ci_level",
    "note",
    # the law refitted without the largest data size, predicting its points (idscaling.heldout):
    # the mean over those points of the observed and predicted loss, the relative error of the
    # means and the largest relative error of one point
    "heldout_x",
    "heldout_n_points",
    "heldout_observed",
    "heldout_predicted",
    "heldout_predicted_ci_low",
    "heldout_predicted_ci_high",
    "heldout_rel_error",
    "heldout_max_abs_rel_error",
    "heldout_note",
]


def joint_prediction(theta: np.ndarray, n_params: np.ndarray, n_tokens: np.ndarray) -> np.ndarray:
    """``L = exp(LSE(a - alpha log N, b - beta log D, e))`` = ``E + A / N^alpha + B / D^beta`` at
    every (N, D) for rows ``(a, b, e, alpha, beta)`` of ``theta`` (the joint fit's own form, which
    stays finite where A = e^a overflows): shape (rows, points)."""
    t = np.atleast_2d(np.asarray(theta, dtype=np.float64))
    log_n, log_d = np.log(np.asarray(n_params, dtype=np.float64)), np.log(np.asarray(n_tokens, dtype=np.float64))
    terms = np.stack(
        [
            t[:, :1] - t[:, 3:4] * log_n[None],
            t[:, 1:2] - t[:, 4:5] * log_d[None],
            np.broadcast_to(t[:, 2:3], (len(t), len(log_n))),
        ]
    )
    return np.exp(np.logaddexp.reduce(terms, axis=0))


def _joint_heldout(
    sub: pd.DataFrame, params_column: str, *, n_bootstrap: int, ci_level: float, seed: int, processes: int
) -> dict:
    """The joint law refitted to the points below the largest data size, predicting those at it."""
    held = sub["n_tokens"] == sub["n_tokens"].max()
    row = {"heldout_x": float(sub["n_tokens"].max()), "heldout_n_points": int(held.sum())}
    fit_on, test = sub[~held], sub[held]
    try:
        fit = fit_joint_scaling_law(
            fit_on[params_column].to_numpy(),
            fit_on["n_tokens"].to_numpy(),
            fit_on["val_loss"].to_numpy(),
            n_bootstrap=n_bootstrap,
            ci_level=ci_level,
            seed=seed,
            processes=processes,
            return_replicates=True,
        )
    except ValueError as err:
        return row | {"heldout_note": f"refit without the largest size: {err}"}
    x_n, x_d = test[params_column].to_numpy(), test["n_tokens"].to_numpy()
    observed = test["val_loss"].to_numpy(dtype=np.float64)
    best = joint_prediction(fit["theta"], x_n, x_d)[0]
    low, high = percentile_interval(joint_prediction(fit["replicates"], x_n, x_d).mean(axis=1), ci_level)
    return row | {
        "heldout_observed": float(observed.mean()),
        "heldout_predicted": float(best.mean()),
        "heldout_predicted_ci_low": low,
        "heldout_predicted_ci_high": high,
        "heldout_rel_error": float(best.mean() / observed.mean() - 1),
        "heldout_max_abs_rel_error": float(np.max(np.abs(best / observed - 1))),
        "heldout_note": "",
    }


def joint_fits_table(
    points: pd.DataFrame,
    ids: pd.DataFrame,
    *,
    beta: float = 1.0,
    ci_level: float = 0.95,
    params_column: str = "n_params",
    n_bootstrap: int = 1000,
    seed: int = 0,
    processes: int = 1,
) -> pd.DataFrame:
    """The joint law ``L(N, D) = E + A / N^alpha_model + B / D^alpha_data`` (Chinchilla approach 3,
    :func:`idscaling.fit.fit_joint_scaling_law`) fitted to all points of each dataset, beside the
    exponents predicted from the dataset's ID (Havrilla & Liao, ``beta``).

    One row per dataset (columns :data:`JOINT_COLUMNS`); where the fit cannot be made (fewer than
    6 points, one model size or one data size) the row has NaN estimates and ``note`` says why.
    ``heldout_*``: the law refitted without the largest data size predicts the points there
    (``heldout_note`` says why not, e.g. fewer than 6 points or one data size left)."""
    require_columns(points, ["dataset", "n_tokens", "val_loss", params_column], "points")
    id_by_dataset = ids.set_index("dataset")["id"].astype(float) if len(ids) else pd.Series(dtype=float)
    rows = []
    for dataset in sorted(points["dataset"].unique(), key=str):
        sub = points[points["dataset"] == dataset]
        d = float(id_by_dataset.get(dataset, math.nan))
        row = {c: math.nan for c in JOINT_COLUMNS} | {
            "dataset": dataset,
            "n_points": len(sub),
            "n_models": sub[params_column].nunique(),
            "n_sizes": sub["n_tokens"].nunique(),
            "id": d,
            "beta": float(beta),
            "ci_level": float(ci_level),
            "note": "",
        }
        if not math.isnan(d):
            row["alpha_model_predicted"] = predict_with_ci(d, d, d, beta=beta, axis="model")[0]
            row["alpha_data_predicted"] = predict_with_ci(d, d, d, beta=beta, axis="data")[0]
        try:
            fit = fit_joint_scaling_law(
                sub[params_column].to_numpy(),
                sub["n_tokens"].to_numpy(),
                sub["val_loss"].to_numpy(),
                n_bootstrap=n_bootstrap,
                ci_level=ci_level,
                seed=seed,
                processes=processes,
            )
        except ValueError as err:
            row["note"] = str(err)
        else:
            for ours, theirs in (("alpha_model", "alpha"), ("alpha_data", "beta"), ("E", "E")):
                for suffix in ("", "_ci_low", "_ci_high"):
                    row[ours + suffix] = fit[theirs + suffix]
            row.update(A=fit["A"], B=fit["B"], r2=fit["r2"])
            if fit["bootstrap_failed_fraction"] > 0.05:
                row["note"] = f"{fit['bootstrap_failed_fraction']:.0%} of bootstrap refits failed"
            row.update(
                _joint_heldout(
                    sub, params_column, n_bootstrap=n_bootstrap, ci_level=ci_level, seed=seed, processes=processes
                )
            )
        rows.append(row)
    return pd.DataFrame(rows, columns=JOINT_COLUMNS)
