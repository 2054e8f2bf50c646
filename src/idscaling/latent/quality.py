"""The ID against model quality on latent corpora: does a model's ID converge to the oracle's as
its loss gap to the Bayes limit closes?

Why: on corpora of known latent dimension k a perfect model's window-level points recover k
(``oracle_window``) and trained models' points do not; the diagnostics say the models are far
from the Bayes limit. Across the shapes and data sizes of a sweep (``id_analyses.quality``),
:func:`quality_table` puts each checkpoint's ID under every model protocol beside its loss gap
to Bayes (late positions), its probe R^2 of z and its validation loss, with the oracles' IDs
(same metric, from the dataset's embedding checkpoints) and k as the targets.

:func:`extrapolate_to_zero_gap` fits, per (dataset, protocol, metric), the ID as a straight line
in the loss gap over those checkpoints (least squares, Student-t interval on the intercept) and
reads off the ID at zero gap, the ID a model at the Bayes limit would have if the trend holds;
``spearman_gap`` says how regularly |ID - oracle| shrinks with the gap, and the relative errors
of the extrapolated and of the best checkpoint's ID against the oracle's and against k say
whether the extrapolation helps.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from idscaling.id.registry import MODEL_PROTOCOLS

__all__ = [
    "QUALITY_COLUMNS",
    "EXTRAPOLATED_COLUMNS",
    "quality_table",
    "oracle_ids",
    "extrapolate_to_zero_gap",
    "read_quality_inputs",
]

QUALITY_COLUMNS = [
    "dataset",
    "k",
    "model",
    "n_params",
    "n_tokens",
    "seed",
    "val_loss",
    "loss_gap_late",
    "probe_r2_late",
    "protocol",
    "metric",
    "id",
    "id_ci_low",
    "id_ci_high",
    "oracle_id",
    "oracle_window_id",
    "id_target",
]

EXTRAPOLATED_COLUMNS = [
    "dataset",
    "k",
    "protocol",
    "metric",
    "n_checkpoints",
    "gap_min",
    "gap_max",
    "slope",
    "id_zero_gap",
    "id_zero_gap_ci_low",
    "id_zero_gap_ci_high",
    "r2",
    "spearman_gap",
    "id_best",
    "best_checkpoint",
    "oracle_window_id",
    "id_target",
    "rel_error_zero_gap",
    "rel_error_best",
    "rel_error_zero_gap_k",
    "rel_error_best_k",
    "ci_level",
]


def _read(paths: Iterable[str | Path]) -> list[dict]:
    return [json.loads(Path(p).read_text()) for p in paths]


def _key(r: dict) -> tuple:
    return r["dataset"], r["model"], int(r["n_tokens"]), int(r["seed"])


def oracle_ids(oracle_results: Iterable[dict]) -> pd.DataFrame:
    """Per (dataset, metric) the IDs of the ``oracle`` and ``oracle_window`` points (mean over the
    embedding checkpoints' seeds; the oracles need no model, so their seeds differ only in the
    points sampled)."""
    rows = [
        {"dataset": r["dataset"], "metric": e["metric"], "protocol": e["protocol"], "id": e["dimension"]}
        for r in oracle_results
        for e in r["protocols"]
        if e["protocol"] in ("oracle", "oracle_window")
    ]
    if not rows:
        return pd.DataFrame(columns=["dataset", "metric", "oracle_id", "oracle_window_id"])
    wide = pd.DataFrame(rows).pivot_table(index=["dataset", "metric"], columns="protocol", values="id", aggfunc="mean")
    wide = wide.reindex(columns=["oracle", "oracle_window"])
    return wide.rename(columns={"oracle": "oracle_id", "oracle_window": "oracle_window_id"}).reset_index()


def quality_table(
    protocols: Iterable[dict],
    diagnostics: Iterable[dict],
    evals: Iterable[dict],
    summaries: Iterable[dict],
    oracle_results: Iterable[dict],
) -> pd.DataFrame:
    """One row per (checkpoint, model protocol, metric) (:data:`QUALITY_COLUMNS`) from the
    checkpoints' protocols.json, diagnostics and evaluation JSONs and training summaries, and the
    embedding checkpoints' protocols.json for the oracles. ``id_target``: k (euclidean) or k / 2
    (cosine, which halves the estimate)."""
    diag = {_key(r): r for r in diagnostics}
    loss = {_key(r): r["val_loss"] for r in evals}
    params = {_key(r): r["n_params"] for r in summaries}
    oracles = oracle_ids(oracle_results).set_index(["dataset", "metric"])
    rows = []
    for r in protocols:
        key = _key(r)
        if key not in diag:
            raise ValueError(f"no diagnostics for checkpoint {key}")
        d = diag[key]
        for e in r["protocols"]:
            if e["protocol"] not in MODEL_PROTOCOLS:
                continue
            o = oracles.loc[(r["dataset"], e["metric"])] if (r["dataset"], e["metric"]) in oracles.index else None
            rows.append(
                {
                    "dataset": r["dataset"],
                    "k": int(d["k"]),
                    "model": r["model"],
                    "n_params": params.get(key, math.nan),
                    "n_tokens": int(r["n_tokens"]),
                    "seed": int(r["seed"]),
                    "val_loss": loss.get(key, math.nan),
                    "loss_gap_late": d["loss_gap_late"],
                    "probe_r2_late": d["probe_r2_late"],
                    "protocol": e["protocol"],
                    "metric": e["metric"],
                    "id": e["dimension"],
                    "id_ci_low": e["ci_low"],
                    "id_ci_high": e["ci_high"],
                    "oracle_id": math.nan if o is None else float(o["oracle_id"]),
                    "oracle_window_id": math.nan if o is None else float(o["oracle_window_id"]),
                    "id_target": d["k"] / 2 if e["metric"] == "cosine" else float(d["k"]),
                }
            )
    table = pd.DataFrame(rows, columns=QUALITY_COLUMNS)
    order = {p: i for i, p in enumerate(MODEL_PROTOCOLS)}
    return (
        table.assign(_o=table["protocol"].map(order))
        .sort_values(["dataset", "_o", "metric", "loss_gap_late"], kind="mergesort")
        .drop(columns="_o")
        .reset_index(drop=True)
    )


def extrapolate_to_zero_gap(table: pd.DataFrame, ci_level: float = 0.95) -> pd.DataFrame:
    """Per (dataset, protocol, metric) of a :func:`quality_table`: the straight-line fit of the ID
    on the loss gap and its value at zero gap (see the module docstring); NaN with fewer than 3
    checkpoints. The relative errors compare with the oracle_window ID (``rel_error_*``) and with
    ``id_target`` (``rel_error_*_k``)."""
    rows = []
    for (dataset, protocol, metric), g in table.groupby(["dataset", "protocol", "metric"], sort=False):
        g = g[np.isfinite(g["id"].astype(float)) & np.isfinite(g["loss_gap_late"].astype(float))]
        oracle, target = float(g["oracle_window_id"].mean()), float(g["id_target"].mean())
        row = {c: math.nan for c in EXTRAPOLATED_COLUMNS} | {
            "dataset": dataset,
            "k": int(g["k"].iloc[0]) if len(g) else math.nan,
            "protocol": protocol,
            "metric": metric,
            "n_checkpoints": len(g),
            "oracle_window_id": oracle,
            "id_target": target,
            "ci_level": ci_level,
        }
        if len(g):
            best = g.loc[g["loss_gap_late"].idxmin()]
            row |= {
                "gap_min": float(g["loss_gap_late"].min()),
                "gap_max": float(g["loss_gap_late"].max()),
                "id_best": float(best["id"]),
                "best_checkpoint": f"{best['model']}/n{best['n_tokens']}",
                "rel_error_best": float(best["id"]) / oracle - 1,
                "rel_error_best_k": float(best["id"]) / target - 1,
            }
        if len(g) >= 3 and g["loss_gap_late"].nunique() >= 2:
            x, y = g["loss_gap_late"].to_numpy(float), g["id"].to_numpy(float)
            fit = stats.linregress(x, y)
            resid = y - (fit.intercept + fit.slope * x)
            n = len(x)
            s = math.sqrt(float(resid @ resid) / (n - 2)) if n > 2 else math.nan
            se = s * math.sqrt(1 / n + x.mean() ** 2 / float(((x - x.mean()) ** 2).sum()))
            half = float(stats.t.ppf(0.5 + ci_level / 2, n - 2)) * se
            distance = np.abs(y - oracle)
            constant = not math.isfinite(oracle) or np.ptp(distance) == 0  # no ranking to correlate
            row |= {
                "slope": float(fit.slope),
                "id_zero_gap": float(fit.intercept),
                "id_zero_gap_ci_low": float(fit.intercept - half),
                "id_zero_gap_ci_high": float(fit.intercept + half),
                "r2": float(fit.rvalue**2),
                "spearman_gap": math.nan if constant else float(stats.spearmanr(x, distance).statistic),
                "rel_error_zero_gap": float(fit.intercept) / oracle - 1,
                "rel_error_zero_gap_k": float(fit.intercept) / target - 1,
            }
        rows.append(row)
    return pd.DataFrame(rows, columns=EXTRAPOLATED_COLUMNS)


def read_quality_inputs(inputs) -> pd.DataFrame:
    """:func:`quality_table` from a rule's input lists (protocols, diagnostics, evals, train, oracle)."""
    return quality_table(
        _read(inputs.protocols),
        _read(inputs.diagnostics),
        _read(inputs.evals),
        _read(inputs.train),
        _read(inputs.oracle),
    )
