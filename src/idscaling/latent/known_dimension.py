"""The controlled test: corpora with a known latent dimension k (:mod:`idscaling.latent`).

For every dataset whose source is ``{"kind": "latent", "k": ...}`` and every ID protocol x
metric of :mod:`idscaling.id_protocols`, one row of ``known_dimension.csv`` puts side by side:

* k, the dimension of the source by construction, and the value an estimator should find:
  ``id_target`` = k with the euclidean metric, k / 2 with the cosine distance (``1 - cos``
  behaves like a *squared* distance at small angles, which halves the Levina-Bickel estimate);
  ``relative_error`` = id / id_target - 1;
* the ID of the source itself with the same estimator and metric (``id_source``: 3,600 points
  ``sqrt p(.|z)`` of the manifold of document distributions, one batch) -- what a perfect
  representation would give, i.e. the estimator's own bias at this sample size;
* the estimate under the protocol (mean over seeds; the interval spans the seeds' intervals);
* the data exponent Havrilla & Liao predict from that ID and from k, and the observed ones (pure
  and saturating law, from ``exponents.csv``);
* the teacher's entropy, the loss floor of an oracle that knows each document's latent;
* ``recommended``: the protocol x metric the README recommends (:data:`RECOMMENDED`);
* the model's diagnostics (:mod:`idscaling.latent_diagnostics`, mean over seeds): the Bayes loss
  and the model's gap to it in the second half of the documents, and the linear-probe R^2 of z
  from its final-layer states in the second and the first half.

:func:`protocol_agreement` condenses the table per protocol x metric: Spearman correlation of
the ID with k, and the worst relative error for k <= 8.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from idscaling.config import latent_datasets  # noqa: F401  (re-exported)
from idscaling.fit.predict import alpha_data, predict_with_ci
from idscaling.fit.protocol_exponents import primary_rows
from idscaling.id.batching import estimate_id, settings_for_estimator
from idscaling.latent.documents import source_points, teacher_entropy
from idscaling.latent.teachers import latent_settings, teacher_for_source

__all__ = [
    "KNOWN_DIMENSION_COLUMNS",
    "RECOMMENDED",
    "latent_datasets",
    "source_id",
    "known_dimension_table",
    "diagnostics_tables",
    "protocol_agreement",
]

# The protocol and metric the README recommends for reading a corpus's dimension (see README,
# "Which ID to trust"): chosen from the measurements in BENCHMARKS.md, not tuned per corpus.
RECOMMENDED = ("sequence_mean", "euclidean")

KNOWN_DIMENSION_COLUMNS = [
    "dataset",
    "k",
    "protocol",
    "metric",
    "id",
    "id_ci_low",
    "id_ci_high",
    "recommended",
    "id_target",
    "relative_error",
    "n_points",
    "id_source",
    "beta",
    "alpha_predicted",
    "alpha_predicted_ci_low",
    "alpha_predicted_ci_high",
    "alpha_predicted_from_k",
    "alpha_observed",
    "alpha_ci_low",
    "alpha_ci_high",
    "alpha_saturating",
    "alpha_saturating_ci_low",
    "alpha_saturating_ci_high",
    "E_saturating",
    "teacher_entropy",
    "bayes_loss_late",
    "loss_gap_late",
    "probe_r2_late",
    "probe_r2_early",
]

DIAGNOSTIC_COLUMNS = ["probe_r2_late", "probe_r2_early", "loss_gap_late", "model_loss_late", "bayes_loss_late"]


def source_id(teacher: Any, id_settings: Mapping[str, Any], metric: str, n_points: int = 3600) -> float:
    """The configured estimator on ``n_points`` points of the source manifold, one batch, no bootstrap."""
    settings = dict(id_settings) | {"metric": metric, "n_bootstrap": 1, "batch_size": n_points}
    return float(estimate_id(source_points(teacher, n_points), **settings_for_estimator(settings))["dimension"])


def known_dimension_table(
    protocols: pd.DataFrame,
    exponents: pd.DataFrame,
    sources: Mapping[str, Mapping[str, Any]],
    *,
    id_settings: Mapping[str, Any] | None = None,
    beta: float = 1.0,
    recommended: tuple[str, str] = RECOMMENDED,
    diagnostics: pd.DataFrame | None = None,
    source_points: int = 3600,
) -> pd.DataFrame:
    """One row per (latent dataset, protocol, metric) (columns :data:`KNOWN_DIMENSION_COLUMNS`).

    Parameters
    ----------
    protocols : the pipeline's ``id_protocols.csv`` (dataset, seed, protocol, metric, id,
        id_ci_low, id_ci_high, n_points); rows of other datasets are ignored.
    exponents : the pipeline's ``exponents.csv`` (its data-axis rows are used).
    sources : dataset -> its ``latent`` source config.
    id_settings : the configured ID settings; given, the source's own ID is estimated with them
        (``id_source``), else that column is NaN.
    beta : smoothness used in the predictions.
    recommended : the (protocol, metric) flagged in ``recommended``.
    diagnostics : per (dataset, seed) diagnostics (:func:`diagnostics_tables`), averaged over seeds
        into the last columns; None leaves them NaN.
    source_points : points of the source manifold behind ``id_source`` (one batch).
    """
    exponents = primary_rows(exponents)
    data = exponents[exponents["axis"] == "data"].set_index("dataset") if len(exponents) else pd.DataFrame()
    diag = (
        diagnostics.groupby("dataset")[DIAGNOSTIC_COLUMNS].mean()
        if diagnostics is not None and len(diagnostics)
        else pd.DataFrame(columns=DIAGNOSTIC_COLUMNS)
    )
    rows = []
    for dataset, source in sources.items():
        k = int(latent_settings(dict(source))["k"])
        teacher = teacher_for_source(dict(source))
        entropy = teacher_entropy(teacher)
        sel = protocols[protocols["dataset"] == dataset]
        source_ids: dict[str, float] = {}
        for (protocol, metric), g in sel.groupby(["protocol", "metric"], sort=False):
            target = k / 2 if metric == "cosine" else float(k)
            d = float(g["id"].mean())
            lo, hi = float(g["id_ci_low"].min()), float(g["id_ci_high"].max())
            row: dict[str, Any] = {c: math.nan for c in KNOWN_DIMENSION_COLUMNS}
            row.update(
                dataset=dataset,
                k=k,
                protocol=protocol,
                metric=metric,
                id=d,
                id_ci_low=lo,
                id_ci_high=hi,
                recommended=(protocol, metric) == tuple(recommended),
                id_target=target,
                relative_error=d / target - 1.0,
                n_points=int(g["n_points"].min()),
                beta=float(beta),
                teacher_entropy=entropy,
                alpha_predicted_from_k=float(alpha_data(k, beta)),
            )
            if id_settings is not None:
                if metric not in source_ids:
                    source_ids[metric] = source_id(teacher, id_settings, metric, source_points)
                row["id_source"] = source_ids[metric]
            if math.isfinite(d):
                pred, pred_lo, pred_hi = predict_with_ci(d, lo, hi, beta=beta, axis="data")
                row.update(alpha_predicted=pred, alpha_predicted_ci_low=pred_lo, alpha_predicted_ci_high=pred_hi)
            if dataset in diag.index:
                row.update(
                    {
                        c: float(diag.loc[dataset, c])
                        for c in ("bayes_loss_late", "loss_gap_late", "probe_r2_late", "probe_r2_early")
                    }
                )
            if dataset in data.index:
                r = data.loc[dataset]
                for c in (
                    "alpha_observed",
                    "alpha_ci_low",
                    "alpha_ci_high",
                    "alpha_saturating",
                    "alpha_saturating_ci_low",
                    "alpha_saturating_ci_high",
                    "E_saturating",
                ):
                    row[c] = float(r[c]) if c in r.index else math.nan
            rows.append(row)
    table = pd.DataFrame(rows, columns=KNOWN_DIMENSION_COLUMNS)
    return table.sort_values(["k", "dataset"], kind="mergesort").reset_index(drop=True)


def diagnostics_tables(results: list[dict[str, Any]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """From the latent_diagnostics JSONs: one row per (dataset, seed) with the summary diagnostics
    (:data:`DIAGNOSTIC_COLUMNS`), and one per (dataset, seed, word position) with the model and
    Bayes losses and their gap (plus the probe R^2 of the checkpoint)."""
    per = pd.DataFrame(
        [
            {"dataset": r["dataset"], "model": r["model"], "n_tokens": r["n_tokens"], "seed": r["seed"], "k": r["k"]}
            | {c: r[c] for c in DIAGNOSTIC_COLUMNS}
            for r in results
        ],
        columns=["dataset", "model", "n_tokens", "seed", "k"] + DIAGNOSTIC_COLUMNS,
    )
    rows = [
        {"dataset": r["dataset"], "seed": r["seed"], "k": r["k"]}
        | g
        | {"probe_r2_late": r["probe_r2_late"], "probe_r2_early": r["probe_r2_early"]}
        for r in results
        for g in r["loss_by_position"]
    ]
    by_position = pd.DataFrame(
        rows,
        columns=[
            "dataset",
            "seed",
            "k",
            "position",
            "model_loss",
            "bayes_loss",
            "gap",
            "n_documents",
            "probe_r2_late",
            "probe_r2_early",
        ],
    )
    return per, by_position


def protocol_agreement(table: pd.DataFrame, max_k: int = 8) -> pd.DataFrame:
    """Per (protocol, metric): the number of corpora, the Spearman correlation of the ID with k
    (NaN with fewer than 2 distinct k), the worst |relative error| against ``id_target`` over the
    corpora with k <= ``max_k``, and whether the ID rises from the largest k <= max_k to the
    largest k overall (None when no k exceeds max_k)."""
    rows = []
    for (protocol, metric), g in table.groupby(["protocol", "metric"], sort=False):
        g = g[np.isfinite(g["id"].astype(float))]
        ks = g["k"].astype(float).to_numpy()
        rho = float(spearmanr(ks, g["id"]).statistic) if len(np.unique(ks)) >= 2 else math.nan
        small = g[g["k"] <= max_k]
        worst = float(small["relative_error"].abs().max()) if len(small) else math.nan
        rises = None
        if len(small) and (g["k"] > max_k).any():
            rises = bool(g.loc[g["k"].idxmax(), "id"] > small.loc[small["k"].idxmax(), "id"])
        rows.append(
            {
                "protocol": protocol,
                "metric": metric,
                "n_corpora": len(g),
                "spearman_k": rho,
                f"worst_relative_error_k_le_{max_k}": worst,
                f"rises_beyond_k_{max_k}": rises,
            }
        )
    return pd.DataFrame(rows)
