"""Tests of the Fig. 4 analyses (idscaling.id_analyses) and their figure."""

from __future__ import annotations

import numpy as np
import pytest

from idscaling.id.analyses import (
    ID_ANALYSES_COLUMNS,
    id_analyses_table,
    id_by_position,
    position_bins,
)
from idscaling.report.figures import id_analyses as fig_id_analyses

SETTINGS = {
    "estimator": "mle",
    "k": 10,
    "metric": "euclidean",
    "comb": "mle",
    "batch_size": 1000,
    "n_bootstrap": 50,
    "ci_level": 0.95,
    "seed": 0,
    "discard_fraction": 0.1,
}


def test_position_bins_are_equal_count() -> None:
    positions = np.repeat(np.arange(32), 10)
    edges = position_bins(positions, 4)
    np.testing.assert_array_equal(edges, [0, 8, 16, 24, 32])
    counts = [((positions >= lo) & (positions < hi)).sum() for lo, hi in zip(edges[:-1], edges[1:])]
    assert counts == [80, 80, 80, 80]
    assert len(position_bins(np.zeros(50, dtype=int), 4)) == 2  # all tied: one group
    with pytest.raises(ValueError, match="n_bins"):
        position_bins(positions, 0)


def test_id_by_position_separates_groups_of_different_dimension() -> None:
    """Early positions on a 2-d plane, late ones on a 6-d one (both in R^20): the two groups'
    estimates are near 2 and 6 (MLE on 1,500 Gaussian points: within 15%)."""
    rng = np.random.default_rng(0)
    low = np.hstack([rng.standard_normal((1500, 2)), np.zeros((1500, 18))])
    high = np.hstack([rng.standard_normal((1500, 6)), np.zeros((1500, 14))])
    X = np.vstack([low, high])
    positions = np.concatenate([rng.integers(0, 16, 1500), rng.integers(16, 32, 1500)])
    groups = id_by_position(X, positions, 2, SETTINGS)
    assert [g["n_points"] for g in groups] == [1500, 1500]
    assert groups[0]["position_high"] < 16 <= groups[1]["position_low"]
    assert groups[0]["dimension"] == pytest.approx(2, rel=0.15)
    assert groups[1]["dimension"] == pytest.approx(6, rel=0.15)
    assert all(g["ci_low"] <= g["dimension"] <= g["ci_high"] for g in groups)


def test_a_group_too_small_is_nan_with_a_reason() -> None:
    X = np.random.default_rng(1).standard_normal((60, 5))
    positions = np.array([0] * 55 + [9] * 5)
    groups = id_by_position(X, positions, 2, SETTINGS)
    assert np.isfinite(groups[0]["dimension"]) and np.isnan(groups[1]["dimension"]) and groups[1]["note"]


def _id(dataset, model, layer, d):
    return {
        "dataset": dataset,
        "model": model,
        "n_tokens": 100,
        "seed": 0,
        "layer": layer,
        "dimension": d,
        "ci_low": d - 0.1,
        "ci_high": d + 0.1,
        "n_points_used": 500,
    }


def _summary(dataset, model, n_params, width, n_layer=2):
    return {
        "dataset": dataset,
        "model": model,
        "n_tokens": 100,
        "seed": 0,
        "n_params": n_params,
        "shape": {"n_layer": n_layer, "n_head": 2, "n_embd": width},
    }


def test_table_gathers_the_four_analyses() -> None:
    ids = [
        _id("d", "small", "final", 3.0),
        _id("d", "big", "final", 4.0),
        _id("d", "big", "0", 9.0),
        _id("d", "big", "1", 6.0),
    ]
    summaries = [_summary("d", "small", 1000, 16), _summary("d", "big", 5000, 64)]
    positions = [
        {
            "dataset": "d",
            "model": "big",
            "n_tokens": 100,
            "seed": 0,
            "groups": [
                {
                    "position_low": 0,
                    "position_high": 7,
                    "position_mean": 3.5,
                    "n_points": 300,
                    "dimension": 5.0,
                    "ci_low": 4.5,
                    "ci_high": 5.5,
                    "note": "",
                }
            ],
        }
    ]
    t = id_analyses_table(ids, summaries, positions, embedding_model="big")
    assert list(t.columns) == ID_ANALYSES_COLUMNS
    params = t[t["analysis"] == "params"]
    assert list(params["x"]) == [1000, 5000] and list(params["id"]) == [3.0, 4.0]
    assert list(t[t["analysis"] == "width"]["x"]) == [16, 64]
    layer = t[t["analysis"] == "layer"]
    assert list(layer["x"]) == [0, 1, 2] and list(layer["id"]) == [9.0, 6.0, 4.0]  # final = index n_layer
    assert list(layer["x_label"]) == ["0", "1", "2 (final)"]
    pos = t[t["analysis"] == "position"].iloc[0]
    assert pos["x"] == 3.5 and pos["x_label"] == "0-7" and pos["id"] == 5.0
    with pytest.raises(ValueError, match="no training summary"):
        id_analyses_table([_id("d", "ghost", "final", 1.0)], summaries, [], embedding_model="big")


def test_figure_has_four_panels_with_the_table_values() -> None:
    ids = [_id("d", "small", "final", 3.0), _id("d", "big", "final", 4.0), _id("d", "big", "0", 9.0)]
    summaries = [_summary("d", "small", 1000, 16), _summary("d", "big", 5000, 64)]
    t = id_analyses_table(ids, summaries, [], embedding_model="big")
    fig = fig_id_analyses.id_analyses_figure(t)
    lines = {
        ax.get_title(): [ln for ln in ax.get_lines() if ln.get_gid() == fig_id_analyses.ID_ANALYSIS_GID]
        for ax in fig.axes
    }
    (params,) = lines["(a) vs parameters"]
    np.testing.assert_array_equal(params.get_xdata(), [1000, 5000])
    np.testing.assert_array_equal(params.get_ydata(), [3.0, 4.0])
    (layer,) = lines["(c) vs layer (embedding model)"]
    np.testing.assert_array_equal(layer.get_ydata(), [9.0, 4.0])
    assert lines["(d) vs context position (embedding model)"] == []  # no position estimates: a note instead
