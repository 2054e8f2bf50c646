"""Summary tables: one row per trained model (scaling points) and one per ID estimate."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from idscaling.id.registry import PROTOCOLS

POINT_COLUMNS = [
    "dataset",
    "model",
    "n_params",
    "n_params_nonembedding",
    "n_tokens",
    "seed",
    "val_loss",
    "val_loss_ci_low",
    "val_loss_ci_high",
    "train_flops",
    "tokens_seen",
    "epochs",
    "best_step",
    "steps_run",
    "best_selection_loss",
    "n_val_tokens",
    "converged",
]


def _read(path: str | Path) -> dict:
    return json.loads(Path(path).read_text())


def converged(summary: dict) -> bool | None:
    """Whether a run ended converged (``train_summary.json``'s ``converged``; for summaries written
    before it existed, the cosine rule of :func:`idscaling.train.run_converged` from the same
    fields: no improvement in the last ``patience`` evaluations). None without ``patience``."""
    if "converged" in summary:
        return summary["converged"]
    s = summary.get("settings", {})
    if s.get("patience") is None:
        return None
    return summary["steps_run"] - summary["best_step"] >= s["patience"] * s["eval_interval"]


def not_converged(points: pd.DataFrame) -> pd.DataFrame:
    """The runs of a points table that were cut off by max_steps while still improving."""
    return points[points["converged"].astype("boolean").eq(False).fillna(False)]


def scaling_points(train_summaries: Iterable[str | Path], eval_results: Iterable[str | Path]) -> pd.DataFrame:
    """Join each model's training summary with its evaluation (matched on dataset, model, N, seed);
    ``converged`` says whether the run ended converged (:func:`converged`)."""
    keys = ["dataset", "model", "n_tokens", "seed"]
    summaries = [_read(p) for p in train_summaries]
    train = pd.DataFrame(summaries).assign(converged=[converged(s) for s in summaries])
    evals = pd.DataFrame([_read(p) for p in eval_results])
    points = train.merge(evals, on=keys, how="inner", validate="one_to_one")
    if len(points) != len(train) or len(points) != len(evals):
        raise ValueError(f"{len(train)} training summaries and {len(evals)} evaluations do not pair up")
    return points[POINT_COLUMNS].sort_values(keys).reset_index(drop=True)


def id_table(id_results: Iterable[str | Path]) -> pd.DataFrame:
    """One row per ID estimate, with every setting it was made with."""
    rows = []
    for path in id_results:
        r = _read(path)
        rows.append(
            {
                "dataset": r["dataset"],
                "model": r["model"],
                "n_tokens": r["n_tokens"],
                "seed": r["seed"],
                "layer": str(r["layer"]),
                "id": r["dimension"],
                "id_ci_low": r["ci_low"],
                "id_ci_high": r["ci_high"],
                "ci_level": r["ci_level"],
                "estimator": r["estimator"],
                "k": r["k"],
                "metric": r["metric"],
                "comb": r["comb"],
                "batch_size": r["batch_size"],
                "n_points_used": r["n_points_used"],
                "n_batches": r["n_batches"],
            }
        )
    return pd.DataFrame(rows).sort_values(["dataset", "model", "n_tokens", "seed", "layer"]).reset_index(drop=True)


def dataset_ids(ids: pd.DataFrame, layer: str = "final") -> pd.DataFrame:
    """The ID used for a dataset's predictions: its ``layer`` estimate, averaged over seeds; the
    interval spans the seeds' intervals (lowest low, highest high), so it is never narrower
    than any single seed's."""
    sel = ids[ids["layer"] == layer]
    if sel.empty:
        sel = ids[ids["layer"] == ids["layer"].iloc[0]]
    return sel.groupby("dataset", as_index=False).agg(
        id=("id", "mean"), id_ci_low=("id_ci_low", "min"), id_ci_high=("id_ci_high", "max")
    )


PRETRAINED_COLUMNS = [
    "dataset",
    "suite",
    "model",
    "id_hub",
    "revision",
    "commit",
    "model_type",
    "n_params",
    "n_params_nonembedding",
    "n_layer",
    "n_embd",
    "context",
    "val_loss",
    "val_loss_ci_low",
    "val_loss_ci_high",
    "n_val_tokens",
    "id",
    "id_ci_low",
    "id_ci_high",
    "layer",
]


def pretrained_points(sources: Iterable[dict], evals: Iterable[dict], ids: Iterable[dict]) -> pd.DataFrame:
    """One row per (dataset, pretrained model): size from its ``source.json``, loss from its
    evaluation, ID from its final-layer estimate. The loss is per token of *the model's own*
    tokenizer: comparable within a suite that shares a tokenizer, not across suites."""
    by_name = {s["name"]: s for s in sources}
    id_by_key = {(r["dataset"], r["model"]): r for r in ids}
    rows = []
    for e in evals:
        s = by_name[e["model"]]
        r = id_by_key.get((e["dataset"], e["model"]), {})
        rows.append(
            {
                "dataset": e["dataset"],
                "suite": s["suite"],
                "model": e["model"],
                "id_hub": s["id"],
                "revision": s["revision"],
                "commit": s["commit"],
                "model_type": s["model_type"],
                "n_params": s["n_params"],
                "n_params_nonembedding": s["n_params_nonembedding"],
                "n_layer": s["n_layer"],
                "n_embd": s["n_embd"],
                "context": e["context"],
                "val_loss": e["val_loss"],
                "val_loss_ci_low": e["val_loss_ci_low"],
                "val_loss_ci_high": e["val_loss_ci_high"],
                "n_val_tokens": e["n_val_tokens"],
                "id": r.get("dimension"),
                "id_ci_low": r.get("ci_low"),
                "id_ci_high": r.get("ci_high"),
                "layer": r.get("layer"),
            }
        )
    return (
        pd.DataFrame(rows, columns=PRETRAINED_COLUMNS)
        .sort_values(["dataset", "suite", "n_params"])
        .reset_index(drop=True)
    )


ID_PROTOCOL_COLUMNS = [
    "dataset",
    "model",
    "n_tokens",
    "seed",
    "protocol",
    "metric",
    "id",
    "id_ci_low",
    "id_ci_high",
    "n_points",
    "estimator",
    "k",
    "comb",
    "n_batches",
    "note",
]


def id_protocols_table(paths: Iterable[str | Path]) -> pd.DataFrame:
    """One row per (checkpoint, protocol, metric) from the protocols.json files."""
    rows = []
    for path in paths:
        r = json.loads(Path(path).read_text())
        for e in r["protocols"]:
            rows.append(
                {
                    "dataset": r["dataset"],
                    "model": r["model"],
                    "n_tokens": r["n_tokens"],
                    "seed": r["seed"],
                    "protocol": e["protocol"],
                    "metric": e["metric"],
                    "id": e["dimension"],
                    "id_ci_low": e["ci_low"],
                    "id_ci_high": e["ci_high"],
                    "n_points": e["n_points"],
                    "estimator": e.get("estimator"),
                    "k": e.get("k"),
                    "comb": e.get("comb"),
                    "n_batches": e.get("n_batches"),
                    "note": e["note"],
                }
            )
    return _in_protocol_order(pd.DataFrame(rows, columns=ID_PROTOCOL_COLUMNS), [])


ID_SCALE_COLUMNS = [
    "dataset",
    "model",
    "n_tokens",
    "seed",
    "protocol",
    "metric",
    "n1",
    "n2",
    "id",
    "id_error",
    "scale",
    "n_ratios",
]


def id_scale_table(paths: Iterable[str | Path]) -> pd.DataFrame:
    """One row per (checkpoint, protocol, metric, neighbour rank n1) of the GRIDE scale curves in
    the protocols.json files: ``id`` +- ``id_error`` at rank n1 (n2 = 2 n1), ``scale`` the mean
    distance to those neighbours."""
    rows = []
    for path in paths:
        r = json.loads(Path(path).read_text())
        for e in r["protocols"]:
            for c in e.get("scale_curve") or []:
                rows.append(
                    {
                        "dataset": r["dataset"],
                        "model": r["model"],
                        "n_tokens": r["n_tokens"],
                        "seed": r["seed"],
                        "protocol": e["protocol"],
                        "metric": e["metric"],
                        "n1": c["n1"],
                        "n2": c["n2"],
                        "id": c["dimension"],
                        "id_error": c["error"],
                        "scale": c["scale"],
                        "n_ratios": c["n_ratios"],
                    }
                )
    return _in_protocol_order(pd.DataFrame(rows, columns=ID_SCALE_COLUMNS), ["n1"])


def _in_protocol_order(table: pd.DataFrame, extra: list[str]) -> pd.DataFrame:
    table = table.assign(_order=table["protocol"].map({p: i for i, p in enumerate(PROTOCOLS)}))
    keys = ["dataset", "model", "n_tokens", "seed", "_order", "metric"] + extra
    return table.sort_values(keys, kind="mergesort").drop(columns="_order").reset_index(drop=True)
