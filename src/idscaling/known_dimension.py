"""The controlled test: corpora with a known latent dimension k (:mod:`idscaling.latent`).

For every dataset whose source is ``{"kind": "latent", "k": ...}``, one row puts side by side:

* k, the dimension of the source by construction;
* the ID of the source itself: the same estimator on points of the manifold of document
  distributions (``latent.source_points``: ``sqrt p(.|z)``, 3,600 of them, one batch), with the
  configured and the other metric -- what a perfect representation would give, i.e. the
  estimator's own bias at this sample size;
* the ID estimated from the model's embeddings with the configured metric (the row of
  ``intrinsic_dim.csv`` used for the predictions) and, computed here from the same embedding
  array, with the other metric: cosine distance ``1 - cos`` behaves like a *squared* distance at
  small angles, which halves the Levina-Bickel estimate, so both are shown;
* the observed data exponent, pure power law and saturating law (from ``exponents.csv``);
* the data exponent Havrilla & Liao predict from the estimated ID, and from k itself;
* the teacher's entropy, the loss floor of an oracle that knows each document's latent.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .config import latent_datasets  # noqa: F401  (re-exported)
from .corpus import latent_settings
from .id import estimate_id, settings_for_estimator
from .latent import LatentTeacher, source_points, teacher_entropy
from .predict import alpha_data, predict_with_ci

__all__ = ["KNOWN_DIMENSION_COLUMNS", "latent_datasets", "other_metric_id", "known_dimension_table"]

KNOWN_DIMENSION_COLUMNS = [
    "dataset",
    "k",
    "id_source",
    "id_source_other",
    "metric",
    "id",
    "id_ci_low",
    "id_ci_high",
    "other_metric",
    "id_other",
    "id_other_ci_low",
    "id_other_ci_high",
    "alpha_observed",
    "alpha_ci_low",
    "alpha_ci_high",
    "alpha_saturating",
    "alpha_saturating_ci_low",
    "alpha_saturating_ci_high",
    "E_saturating",
    "teacher_entropy",
    "beta",
    "alpha_predicted",
    "alpha_predicted_ci_low",
    "alpha_predicted_ci_high",
    "alpha_predicted_other",
    "alpha_predicted_from_k",
]

OTHER_METRIC = {"cosine": "euclidean", "euclidean": "cosine"}


def other_metric_id(X: np.ndarray, id_settings: Mapping[str, Any]) -> dict:
    """The ID of ``X`` with the configured estimator and settings but the other metric."""
    settings = dict(id_settings) | {"metric": OTHER_METRIC[id_settings["metric"]]}
    return estimate_id(X, **settings_for_estimator(settings))


SOURCE_POINTS = 3600


def source_id(teacher: LatentTeacher, id_settings: Mapping[str, Any], metric: str) -> float:
    """The configured estimator on ``SOURCE_POINTS`` points of the source manifold, one batch, no bootstrap."""
    settings = dict(id_settings) | {"metric": metric, "n_bootstrap": 1, "batch_size": SOURCE_POINTS}
    return float(estimate_id(source_points(teacher, SOURCE_POINTS), **settings_for_estimator(settings))["dimension"])


def known_dimension_table(
    exponents: pd.DataFrame,
    ids: pd.DataFrame,
    other_ids: Mapping[str, Mapping[str, Any]],
    sources: Mapping[str, Mapping[str, Any]],
    *,
    metric: str,
    id_settings: Mapping[str, Any] | None = None,
    beta: float = 1.0,
) -> pd.DataFrame:
    """One row per latent dataset (columns :data:`KNOWN_DIMENSION_COLUMNS`).

    Parameters
    ----------
    exponents : the pipeline's ``exponents.csv`` (its data-axis rows are used).
    ids : per-dataset IDs (``summary.dataset_ids``: dataset, id, id_ci_low, id_ci_high).
    other_ids : dataset -> :func:`other_metric_id` result (``dimension``, ``ci_low``, ``ci_high``).
    sources : dataset -> its ``latent`` source config.
    metric : the configured ID metric (the one of ``ids``).
    id_settings : the configured ID settings; given, the source's own ID is estimated with them
        (``id_source*`` columns), else those columns are NaN.
    beta : smoothness used in the predictions.
    """
    data = exponents[exponents["axis"] == "data"].set_index("dataset")
    id_rows = ids.set_index("dataset")
    rows = []
    for dataset, source in sources.items():
        settings = latent_settings(source)
        teacher = LatentTeacher.from_seed(
            settings["k"],
            vocab=settings["vocab"],
            n_features=settings["n_features"],
            frequency_scale=settings["frequency_scale"],
            logit_scale=settings["logit_scale"],
            seed=settings["seed"],
        )
        row: dict[str, Any] = {c: math.nan for c in KNOWN_DIMENSION_COLUMNS}
        row.update(dataset=dataset, k=settings["k"], metric=metric, other_metric=OTHER_METRIC[metric],
                   beta=float(beta), teacher_entropy=teacher_entropy(teacher),
                   alpha_predicted_from_k=float(alpha_data(settings["k"], beta)))
        if id_settings is not None:
            row["id_source"] = source_id(teacher, id_settings, metric)
            row["id_source_other"] = source_id(teacher, id_settings, OTHER_METRIC[metric])
        if dataset in id_rows.index:
            d, lo, hi = (float(id_rows.loc[dataset, c]) for c in ("id", "id_ci_low", "id_ci_high"))
            row.update(id=d, id_ci_low=lo, id_ci_high=hi)
            pred, pred_lo, pred_hi = predict_with_ci(d, lo, hi, beta=beta, axis="data")
            row.update(alpha_predicted=pred, alpha_predicted_ci_low=pred_lo, alpha_predicted_ci_high=pred_hi)
        if dataset in other_ids:
            o = other_ids[dataset]
            row.update(id_other=o["dimension"], id_other_ci_low=o["ci_low"], id_other_ci_high=o["ci_high"],
                       alpha_predicted_other=float(alpha_data(o["dimension"], beta)))
        if dataset in data.index:
            r = data.loc[dataset]
            for c in ("alpha_observed", "alpha_ci_low", "alpha_ci_high", "alpha_saturating",
                      "alpha_saturating_ci_low", "alpha_saturating_ci_high", "E_saturating"):
                row[c] = float(r[c]) if c in r.index else math.nan
        rows.append(row)
    return pd.DataFrame(rows, columns=KNOWN_DIMENSION_COLUMNS).sort_values("k", kind="mergesort").reset_index(drop=True)
