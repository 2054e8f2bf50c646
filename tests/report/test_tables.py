from __future__ import annotations

import json

import pytest

from idscaling.report.tables import dataset_ids, id_table, not_converged, scaling_points


def _write(path, obj):
    path.write_text(json.dumps(obj))
    return path


def test_scaling_points_join(tmp_path):
    trains, evals = [], []
    # converged: written by training (run 0), else the cosine rule from the settings (runs 1, 2)
    runs = [
        {"converged": True},
        {"settings": {"patience": 2, "eval_interval": 2}},
        {"settings": {"patience": None, "eval_interval": 2}},
    ]
    for i, (model, n) in enumerate([("a", 100), ("a", 200), ("b", 100)]):
        key = {"dataset": "d", "model": model, "n_tokens": n, "seed": 0}
        trains.append(
            _write(
                tmp_path / f"t{i}.json",
                key
                | runs[i]
                | {
                    "n_params": 10 * (i + 1),
                    "n_params_nonembedding": i + 1,
                    "train_flops": 6e9,
                    "tokens_seen": 1000,
                    "epochs": 10 / n,
                    "best_step": 5,
                    "steps_run": 9 - 2 * i,
                    "best_selection_loss": 3.0,
                },
            )
        )
        evals.append(
            _write(
                tmp_path / f"e{i}.json",
                key
                | {"val_loss": 4.0 - i, "val_loss_ci_low": 3.9 - i, "val_loss_ci_high": 4.1 - i, "n_val_tokens": 77},
            )
        )
    points = scaling_points(trains, list(reversed(evals)))
    assert list(points[["model", "n_tokens"]].itertuples(index=False, name=None)) == [
        ("a", 100),
        ("a", 200),
        ("b", 100),
    ]
    assert points["val_loss"].tolist() == [4.0, 3.0, 2.0] and points["n_params"].tolist() == [10, 20, 30]
    # run 1: 7 - 5 = 2 steps since its best, fewer than patience x eval_interval = 4: cut off
    assert points["converged"].tolist() == [True, False, None]
    assert not_converged(points)["n_tokens"].tolist() == [200]
    with pytest.raises(ValueError, match="do not pair up"):
        scaling_points(trains, evals[:2])


def test_id_table_and_dataset_ids(tmp_path):
    paths = []
    for seed, layer, dim in [(0, "final", 10.0), (1, "final", 12.0), (0, "1", 30.0)]:
        paths.append(
            _write(
                tmp_path / f"{seed}{layer}.json",
                {
                    "dataset": "d",
                    "model": "m",
                    "n_tokens": 5,
                    "seed": seed,
                    "layer": layer,
                    "dimension": dim,
                    "ci_low": dim - 1,
                    "ci_high": dim + 2,
                    "ci_level": 0.95,
                    "estimator": "mle",
                    "k": 20,
                    "metric": "cosine",
                    "comb": "mle",
                    "batch_size": 3600,
                    "n_points_used": 100,
                    "n_batches": 1,
                },
            )
        )
    ids = id_table(paths)
    assert len(ids) == 3 and set(ids["layer"]) == {"final", "1"}
    per_dataset = dataset_ids(ids)
    assert per_dataset.to_dict("records") == [{"dataset": "d", "id": 11.0, "id_ci_low": 9.0, "id_ci_high": 14.0}]
    assert dataset_ids(ids, layer="1")["id"].tolist() == [30.0]
