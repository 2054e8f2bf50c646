"""The paper's Fig. 4 analyses: how stable is the estimated ID across model size, embedding width,
layer and context position?

* across models: the final-layer ID of every model shape trained on the same data (x = number of
  parameters, and x = embedding width);
* across layers: the embedding model's ID at each configured layer (0 = token embeddings);
* across positions: the embedding model's final-layer points grouped by their position in the
  context window (equal-count bins), one ID per group, each with the configured estimator and
  batching (a group smaller than one batch is one batch).

:func:`id_analyses_table` gathers them in one long table (one row per estimate), which
:func:`idscaling.plots.plot_id_analyses` draws.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from idscaling.id.batching import estimate_id, settings_for_estimator

__all__ = ["ANALYSES", "ID_ANALYSES_COLUMNS", "position_bins", "id_by_position", "id_analyses_table"]

ANALYSES = ("params", "width", "layer", "position")

ID_ANALYSES_COLUMNS = [
    "dataset",
    "analysis",
    "model",
    "n_tokens",
    "seed",
    "layer",
    "x",
    "x_label",
    "id",
    "id_ci_low",
    "id_ci_high",
    "n_points",
    "note",
]


def position_bins(positions: np.ndarray, n_bins: int) -> np.ndarray:
    """Edges of up to ``n_bins`` equal-count groups of integer positions: group i holds
    ``edges[i] <= position < edges[i + 1]``. Ties can merge groups (fewer than ``n_bins``)."""
    positions = np.asarray(positions)
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    if positions.size == 0:
        raise ValueError("no positions to group")
    inner = np.quantile(positions, np.linspace(0, 1, n_bins + 1)[1:-1], method="lower") + 1
    return np.unique(np.concatenate([[positions.min()], inner, [positions.max() + 1]]).astype(np.int64))


def id_by_position(
    X: np.ndarray, positions: np.ndarray, n_bins: int, id_settings: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """One ID per position group of the points ``X`` (rows) at context ``positions``: each a dict
    with ``position_low``, ``position_high`` (inclusive), ``position_mean``, ``n_points`` and the
    estimate (``dimension``, ``ci_low``, ``ci_high``) or NaN and ``note`` when a group is too small
    for the estimator."""
    positions = np.asarray(positions)
    if len(positions) != len(X):
        raise ValueError(f"{len(X)} points but {len(positions)} positions")
    edges = position_bins(positions, n_bins)
    out = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        mask = (positions >= lo) & (positions < hi)
        row: dict[str, Any] = {
            "position_low": int(lo),
            "position_high": int(hi - 1),
            "position_mean": float(positions[mask].mean()),
            "n_points": int(mask.sum()),
            "note": "",
        }
        settings = dict(id_settings) | {"batch_size": min(int(id_settings["batch_size"]), int(mask.sum()))}
        try:
            result = estimate_id(X[mask], **settings_for_estimator(settings))
        except ValueError as err:
            row.update(dimension=math.nan, ci_low=math.nan, ci_high=math.nan, note=str(err))
        else:
            row.update(dimension=result["dimension"], ci_low=result["ci_low"], ci_high=result["ci_high"])
        out.append(row)
    return out


def _layer_index(layer: str, n_layer: int) -> int:
    return n_layer if str(layer) == "final" else int(layer)


def id_analyses_table(
    id_results: Iterable[Mapping[str, Any]],
    train_summaries: Iterable[Mapping[str, Any]],
    by_position: Iterable[Mapping[str, Any]],
    *,
    embedding_model: str,
) -> pd.DataFrame:
    """Gather the four analyses in one long table (columns :data:`ID_ANALYSES_COLUMNS`).

    Parameters
    ----------
    id_results : ID JSONs (``estimate_id`` output plus dataset, model, n_tokens, seed, layer) of
        every model's final layer and of the embedding model's other layers.
    train_summaries : the training summaries of those checkpoints (for parameters and width).
    by_position : per checkpoint, a dict with dataset, model, n_tokens, seed and ``groups``
        (the :func:`id_by_position` list).
    embedding_model : the model whose layers and positions are analysed.
    """
    shapes = {(s["dataset"], s["model"], int(s["n_tokens"]), int(s["seed"])): s for s in train_summaries}
    rows = []

    def base(r: Mapping[str, Any], analysis: str) -> dict[str, Any]:
        return {
            "dataset": r["dataset"],
            "analysis": analysis,
            "model": r["model"],
            "n_tokens": int(r["n_tokens"]),
            "seed": int(r["seed"]),
            "note": "",
        }

    for r in id_results:
        key = (r["dataset"], r["model"], int(r["n_tokens"]), int(r["seed"]))
        if key not in shapes:
            raise ValueError(f"no training summary for the ID estimate of {key}")
        s = shapes[key]
        estimate = {
            "id": r["dimension"],
            "id_ci_low": r["ci_low"],
            "id_ci_high": r["ci_high"],
            "n_points": r["n_points_used"],
            "layer": str(r["layer"]),
        }
        if str(r["layer"]) == "final":
            rows.append(base(r, "params") | estimate | {"x": float(s["n_params"]), "x_label": r["model"]})
            rows.append(base(r, "width") | estimate | {"x": float(s["shape"]["n_embd"]), "x_label": r["model"]})
        if r["model"] == embedding_model:
            index = _layer_index(r["layer"], s["shape"]["n_layer"])
            label = f"{index} (final)" if str(r["layer"]) == "final" else str(index)
            rows.append(base(r, "layer") | estimate | {"x": float(index), "x_label": label})
    for p in by_position:
        for g in p["groups"]:
            rows.append(
                base(p, "position")
                | {
                    "layer": "final",
                    "x": g["position_mean"],
                    "x_label": f"{g['position_low']}-{g['position_high']}",
                    "id": g["dimension"],
                    "id_ci_low": g["ci_low"],
                    "id_ci_high": g["ci_high"],
                    "n_points": g["n_points"],
                    "note": g["note"],
                }
            )
    table = pd.DataFrame(rows, columns=ID_ANALYSES_COLUMNS)
    # A layer given twice (e.g. "final" and its index) is one estimate: keep the first.
    table = table.drop_duplicates(subset=["dataset", "analysis", "model", "n_tokens", "seed", "x"])
    order = {a: i for i, a in enumerate(ANALYSES)}
    return (
        table.assign(_a=table["analysis"].map(order))
        .sort_values(["dataset", "_a", "x", "seed"], kind="mergesort")
        .drop(columns="_a")
        .reset_index(drop=True)
    )
