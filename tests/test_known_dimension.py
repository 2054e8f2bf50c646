"""Tests of the known-dimension table (idscaling.known_dimension) and its figure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from idscaling import plots
from idscaling.id import estimate_id
from idscaling.known_dimension import KNOWN_DIMENSION_COLUMNS, known_dimension_table, other_metric_id
from idscaling.latent import LatentTeacher, source_points
from idscaling.predict import alpha_data

ID_SETTINGS = {"estimator": "mle", "k": 20, "metric": "cosine", "comb": "mle", "batch_size": 3600,
               "n_bootstrap": 50, "ci_level": 0.95, "seed": 0, "discard_fraction": 0.1}


def _exponents() -> pd.DataFrame:
    rows = []
    for ds, a, sat in (("lk2", 0.2, 0.5), ("lk4", 0.1, 0.3)):
        rows.append(dict(dataset=ds, axis="data", alpha_observed=a, alpha_ci_low=a - 0.05, alpha_ci_high=a + 0.05,
                         alpha_saturating=sat, alpha_saturating_ci_low=sat - 0.1, alpha_saturating_ci_high=sat + 0.1,
                         E_saturating=2.0))
    return pd.DataFrame(rows)


def test_table_puts_estimates_beside_the_truth() -> None:
    ids = pd.DataFrame({"dataset": ["lk2", "lk4"], "id": [1.1, 2.0], "id_ci_low": [1.0, 1.9], "id_ci_high": [1.2, 2.1]})
    other = {"lk2": {"dimension": 2.2, "ci_low": 2.1, "ci_high": 2.3}}
    sources = {"lk4": {"kind": "latent", "k": 4}, "lk2": {"kind": "latent", "k": 2}}
    t = known_dimension_table(_exponents(), ids, other, sources, metric="cosine", id_settings=ID_SETTINGS, beta=1.0)
    assert list(t.columns) == KNOWN_DIMENSION_COLUMNS
    assert list(t["k"]) == [2, 4]  # sorted by k
    r2, r4 = t.iloc[0], t.iloc[1]
    assert r2["alpha_predicted"] == pytest.approx(2 / 3.1) and r2["alpha_predicted_ci_low"] == pytest.approx(2 / 3.2)
    assert r2["alpha_predicted_from_k"] == pytest.approx(alpha_data(2, 1.0)) == pytest.approx(0.5)
    assert r2["id_other"] == 2.2 and r2["alpha_predicted_other"] == pytest.approx(2 / 4.2)
    assert np.isnan(r4["id_other"])  # no other-metric estimate given for that dataset
    assert r2["alpha_saturating"] == 0.5 and r4["alpha_observed"] == 0.1
    assert r2["metric"] == "cosine" and r2["other_metric"] == "euclidean"
    assert 0 < r2["teacher_entropy"] < np.log(256)
    # The source manifold's own ID with the same estimator: ~k in euclidean (Hellinger), and about
    # half with cosine (1 - cos = |a - b|^2 / 2 on the unit-norm sqrt p: a squared distance).
    assert r2["id_source_other"] == pytest.approx(2.0, rel=0.1)
    assert r4["id_source_other"] == pytest.approx(4.0, rel=0.1)
    assert r4["id_source"] == pytest.approx(r4["id_source_other"] / 2, rel=0.05)


def test_other_metric_id_is_the_estimator_with_the_other_metric() -> None:
    X = source_points(LatentTeacher.from_seed(3), 2000, seed=4).astype(np.float32)
    got = other_metric_id(X, ID_SETTINGS)
    want = estimate_id(X, estimator="mle", k=20, metric="euclidean", comb="mle", batch_size=3600, n_bootstrap=50)
    assert got["metric"] == "euclidean" and got["dimension"] == pytest.approx(want["dimension"], rel=1e-12)


def test_figure_draws_the_table() -> None:
    ids = pd.DataFrame({"dataset": ["lk2", "lk4"], "id": [1.1, 2.0], "id_ci_low": [1.0, 1.9], "id_ci_high": [1.2, 2.1]})
    sources = {"lk2": {"kind": "latent", "k": 2}, "lk4": {"kind": "latent", "k": 4}}
    t = known_dimension_table(_exponents(), ids, {}, sources, metric="cosine")
    fig = plots._known_dimension_figure(t)
    (id_line,) = [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_gid() == plots.KNOWN_ID_GID]
    np.testing.assert_array_equal(id_line.get_xdata(), [2, 4])
    np.testing.assert_array_equal(id_line.get_ydata(), [1.1, 2.0])
    alpha = [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_gid() == plots.KNOWN_ALPHA_GID]
    assert [list(ln.get_ydata()) for ln in alpha] == [[0.5, 0.3], [0.2, 0.1]]  # saturating, then pure
    np.testing.assert_array_equal(alpha[0].get_xdata(), [2, 4])  # against k
    (from_k,) = [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_gid() == "from_k"]
    x = np.asarray(from_k.get_xdata())
    np.testing.assert_allclose(from_k.get_ydata(), 2 / (2 + x))
