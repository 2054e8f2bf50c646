"""The predicted exponents from every ID protocol x metric, beside the observed ones.

``exponents.csv`` has one row per (dataset, axis) whose prediction comes from the configured ID
(the paper's token-level points, ``id.metric``). With the protocol comparison
(:mod:`idscaling.id_protocols`) each dataset has more IDs; :func:`with_protocol_predictions` adds,
for every (protocol, metric) of a dataset, a copy of its rows with that ID (mean over seeds, the
interval spanning the seeds' intervals) and the predictions from it, so that one table shows what
each choice of points and metric would predict. ``primary`` marks the configured rows, the ones the
figures and the other tables use (:func:`primary_rows`).
"""

from __future__ import annotations

import math

import pandas as pd

from idscaling.fit.predict import axis_theorem, predict_with_ci

__all__ = ["with_protocol_predictions", "primary_rows"]


def with_protocol_predictions(
    exponents: pd.DataFrame, protocols: pd.DataFrame, *, metric: str, beta: float
) -> pd.DataFrame:
    """``exponents`` (one row per dataset and axis) tagged ``id_protocol`` = "token",
    ``id_metric`` = ``metric``, ``primary`` = True, followed by one row per (dataset, axis, other
    protocol x metric of ``protocols``) with ``primary`` = False and that ID's predictions
    (Havrilla & Liao with ``beta``; Sharma & Kaplan's 4/d on the model axis)."""
    base = exponents.assign(id_protocol="token", id_metric=metric, primary=True)
    if protocols is None or not len(protocols):
        return base
    ids = (
        protocols.groupby(["dataset", "protocol", "metric"], sort=False)
        .agg(id=("id", "mean"), id_ci_low=("id_ci_low", "min"), id_ci_high=("id_ci_high", "max"))
        .reset_index()
    )
    rows = []
    for _, row in exponents.iterrows():
        for r in ids[ids["dataset"] == row["dataset"]].itertuples():
            if (r.protocol, r.metric) == ("token", metric):
                continue  # the primary row
            new = row.to_dict() | {
                "id": r.id,
                "id_ci_low": r.id_ci_low,
                "id_ci_high": r.id_ci_high,
                "id_protocol": r.protocol,
                "id_metric": r.metric,
                "primary": False,
            }
            for col in ("alpha_predicted", "alpha_predicted_sk"):
                for suffix in ("", "_ci_low", "_ci_high"):
                    new[col + suffix] = math.nan
            if math.isfinite(r.id):
                pred = predict_with_ci(r.id, r.id_ci_low, r.id_ci_high, beta=beta, axis=axis_theorem(row["axis"]))
                new.update(zip(("alpha_predicted", "alpha_predicted_ci_low", "alpha_predicted_ci_high"), pred))
                if row["axis"] == "model":
                    sk = predict_with_ci(r.id, r.id_ci_low, r.id_ci_high, axis="model", theory="sharma_kaplan")
                    new.update(
                        zip(("alpha_predicted_sk", "alpha_predicted_sk_ci_low", "alpha_predicted_sk_ci_high"), sk)
                    )
            rows.append(new)
    return pd.concat([base, pd.DataFrame(rows, columns=base.columns)], ignore_index=True) if rows else base


def primary_rows(exponents: pd.DataFrame) -> pd.DataFrame:
    """The rows of the configured ID (all rows of a table without the ``primary`` column)."""
    if "primary" not in exponents.columns:
        return exponents
    return exponents[exponents["primary"].astype(bool)].reset_index(drop=True)
