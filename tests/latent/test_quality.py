"""The ID against model quality (idscaling.id_quality) on hand-made checkpoint results."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from idscaling.latent.quality import (
    EXTRAPOLATED_COLUMNS,
    QUALITY_COLUMNS,
    extrapolate_to_zero_gap,
    quality_table,
)

K = 4


def _checkpoints():
    """Five checkpoints whose window ID rises linearly towards 3.8 as the gap closes (ID = 3.8 -
    4 gap), and whose token ID does not move."""
    gaps = [0.5, 0.4, 0.3, 0.2, 0.1]
    protocols, diagnostics, evals, summaries = [], [], [], []
    for i, gap in enumerate(gaps):
        key = {"dataset": "lat", "model": f"m{i}", "n_tokens": 1000 * (i + 1), "seed": 0}
        rows = [
            {
                "protocol": "sequence_mean",
                "metric": "euclidean",
                "dimension": 3.8 - 4 * gap,
                "ci_low": 3.7 - 4 * gap,
                "ci_high": 3.9 - 4 * gap,
            },
            {"protocol": "token", "metric": "euclidean", "dimension": 5.0, "ci_low": 4.9, "ci_high": 5.1},
            {"protocol": "oracle", "metric": "euclidean", "dimension": 2.0, "ci_low": 1.9, "ci_high": 2.1},
        ]
        protocols.append(key | {"protocols": rows})
        diagnostics.append(key | {"k": K, "loss_gap_late": gap, "probe_r2_late": 1 - gap})
        evals.append(key | {"val_loss": 3.0 + gap})
        summaries.append(key | {"n_params": 1000 * (i + 1)})
    oracle = [
        {
            "dataset": "lat",
            "model": "m4",
            "n_tokens": 5000,
            "seed": s,
            "protocols": [
                {"protocol": "oracle_window", "metric": "euclidean", "dimension": 3.7 + 0.2 * s},
                {"protocol": "oracle", "metric": "euclidean", "dimension": 2.1},
            ],
        }
        for s in (0, 1)
    ]
    return protocols, diagnostics, evals, summaries, oracle


def test_quality_table_joins_checkpoints_and_oracles():
    table = quality_table(*_checkpoints())
    assert list(table.columns) == QUALITY_COLUMNS
    assert set(table["protocol"]) == {
        "token",
        "sequence_mean",
    }  # the oracle rows of a checkpoint are not model protocols
    assert len(table) == 10 and np.allclose(table["oracle_window_id"], 3.8)  # mean of the two seeds' 3.7, 3.9
    row = table[(table["protocol"] == "sequence_mean") & (table["model"] == "m1")].iloc[0]
    assert (row["loss_gap_late"], row["probe_r2_late"], row["val_loss"], row["n_params"]) == (0.4, 0.6, 3.4, 2000)
    assert row["id"] == pytest.approx(2.2) and row["id_target"] == 4.0 and row["oracle_id"] == 2.1


def test_extrapolation_to_zero_gap_reads_the_intercept():
    ext = extrapolate_to_zero_gap(quality_table(*_checkpoints()))
    assert list(ext.columns) == EXTRAPOLATED_COLUMNS
    ext = ext.set_index("protocol")
    seq = ext.loc["sequence_mean"]
    assert (
        seq["id_zero_gap"] == pytest.approx(3.8)
        and seq["slope"] == pytest.approx(-4.0)
        and seq["r2"] == pytest.approx(1)
    )
    assert seq["rel_error_zero_gap"] == pytest.approx(0.0, abs=1e-12) and seq["spearman_gap"] == pytest.approx(1.0)
    assert seq["id_best"] == pytest.approx(3.4) and seq["best_checkpoint"] == "m4/n5000"
    assert seq["rel_error_best"] == pytest.approx(3.4 / 3.8 - 1) and seq["rel_error_zero_gap_k"] == pytest.approx(
        3.8 / 4 - 1
    )
    tok = ext.loc["token"]
    assert tok["slope"] == pytest.approx(0.0, abs=1e-12) and math.isnan(tok["spearman_gap"])  # constant |ID - oracle|


def test_extrapolation_interval_is_the_regression_intercepts_t_interval():
    """Against the textbook route: statsmodels-free OLS with the design matrix and (X'X)^-1."""
    rng = np.random.default_rng(3)
    gaps = rng.uniform(0.1, 0.6, 8)
    ids = 4.0 - 3.0 * gaps + rng.normal(0, 0.1, 8)
    table = pd.DataFrame(
        {
            "dataset": "d",
            "k": 4,
            "protocol": "sequence_last",
            "metric": "euclidean",
            "loss_gap_late": gaps,
            "id": ids,
            "oracle_window_id": 3.9,
            "id_target": 4.0,
            "model": "m",
            "n_tokens": np.arange(8),
        }
    )
    ext = extrapolate_to_zero_gap(table, ci_level=0.9).iloc[0]
    X = np.column_stack([np.ones(8), gaps])
    beta, res, *_ = np.linalg.lstsq(X, ids, rcond=None)
    cov = res[0] / 6 * np.linalg.inv(X.T @ X)
    from scipy import stats

    half = stats.t.ppf(0.95, 6) * math.sqrt(cov[0, 0])
    assert ext["id_zero_gap"] == pytest.approx(beta[0])
    assert (ext["id_zero_gap_ci_low"], ext["id_zero_gap_ci_high"]) == pytest.approx((beta[0] - half, beta[0] + half))


def test_two_checkpoints_are_too_few_to_extrapolate():
    p, d, e, s, o = _checkpoints()
    ext = extrapolate_to_zero_gap(quality_table(p[:2], d[:2], e[:2], s[:2], o))
    assert ext["id_zero_gap"].isna().all() and (ext["n_checkpoints"] == 2).all() and ext["id_best"].notna().all()


def test_a_checkpoint_without_diagnostics_is_an_error():
    p, d, e, s, o = _checkpoints()
    with pytest.raises(ValueError, match="no diagnostics for checkpoint"):
        quality_table(p, d[1:], e, s, o)


def test_the_figure_draws_each_protocol_against_the_gap_and_its_extrapolation(tmp_path):
    from idscaling.report.figures import id_quality as fig_id_quality

    table = quality_table(*_checkpoints())
    ext = extrapolate_to_zero_gap(table)
    fig = fig_id_quality.id_quality_figure(table, ext)
    ax = fig.axes[0]
    (seq,) = [ln for ln in ax.get_lines() if ln.get_gid() == f"{fig_id_quality.ID_QUALITY_GID}:sequence_mean"]
    np.testing.assert_allclose(seq.get_xdata(), [0.1, 0.2, 0.3, 0.4, 0.5])
    np.testing.assert_allclose(seq.get_ydata(), [3.4, 3.0, 2.6, 2.2, 1.8])
    (oracle,) = [ln for ln in ax.get_lines() if ln.get_gid() == "oracle"]
    assert oracle.get_ydata()[0] == pytest.approx(3.8)
    fig_id_quality.plot_id_quality(table, ext, tmp_path / "q.png")
    assert (tmp_path / "q.png").stat().st_size > 1000
