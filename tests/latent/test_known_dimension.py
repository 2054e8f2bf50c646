"""Tests of the known-dimension table (idscaling.known_dimension) and its figure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from idscaling.fit.predict import alpha_data
from idscaling.latent.known_dimension import (
    KNOWN_DIMENSION_COLUMNS,
    known_dimension_table,
    protocol_agreement,
)
from idscaling.report.figures import known_dimension as fig_known_dimension

ID_SETTINGS = {
    "estimator": "mle",
    "k": 20,
    "metric": "cosine",
    "comb": "mle",
    "batch_size": 3600,
    "n_bootstrap": 50,
    "ci_level": 0.95,
    "seed": 0,
    "discard_fraction": 0.1,
}
SOURCES = {"lk4": {"kind": "latent", "k": 4}, "lk2": {"kind": "latent", "k": 2}}


def _exponents() -> pd.DataFrame:
    rows = []
    for ds, a, sat in (("lk2", 0.2, 0.5), ("lk4", 0.1, 0.3)):
        rows.append(
            dict(
                dataset=ds,
                axis="data",
                alpha_observed=a,
                alpha_ci_low=a - 0.05,
                alpha_ci_high=a + 0.05,
                alpha_saturating=sat,
                alpha_saturating_ci_low=sat - 0.1,
                alpha_saturating_ci_high=sat + 0.1,
                E_saturating=2.0,
            )
        )
    return pd.DataFrame(rows)


def _protocols() -> pd.DataFrame:
    """Two seeds of every (dataset, protocol, metric), plus a non-latent dataset that must be ignored."""
    rows = []
    for ds, k in (("lk2", 2), ("lk4", 4), ("prose", 0)):
        for seed, shift in ((0, 0.0), (1, 0.2)):
            for protocol, scale in (("token", 0.5), ("sequence_mean", 1.0)):
                for metric, factor in (("euclidean", 1.0), ("cosine", 0.5)):
                    d = k * scale * factor + shift
                    rows.append(
                        dict(
                            dataset=ds,
                            seed=seed,
                            protocol=protocol,
                            metric=metric,
                            id=d,
                            id_ci_low=d - 0.1,
                            id_ci_high=d + 0.1,
                            n_points=1000 - seed,
                        )
                    )
    return pd.DataFrame(rows)


def test_table_puts_each_protocol_beside_the_truth() -> None:
    t = known_dimension_table(_protocols(), _exponents(), SOURCES, id_settings=ID_SETTINGS, beta=1.0)
    assert list(t.columns) == KNOWN_DIMENSION_COLUMNS
    assert len(t) == 2 * 2 * 2 and list(t["k"]) == [2] * 4 + [4] * 4  # sorted by k; prose ignored
    row = t.set_index(["dataset", "protocol", "metric"])
    r = row.loc[("lk4", "sequence_mean", "euclidean")]
    assert r["id"] == pytest.approx(4.1)  # mean over the two seeds (4.0, 4.2)
    assert r["id_ci_low"] == pytest.approx(3.9) and r["id_ci_high"] == pytest.approx(4.3)  # spans both seeds
    assert r["id_target"] == 4 and r["relative_error"] == pytest.approx(0.025)
    c = row.loc[("lk4", "sequence_mean", "cosine")]
    assert c["id_target"] == 2 and c["relative_error"] == pytest.approx(2.1 / 2 - 1)  # cosine: k / 2
    assert r["n_points"] == 999
    assert r["alpha_predicted"] == pytest.approx(2 / 6.1) and r["alpha_predicted_ci_low"] == pytest.approx(2 / 6.3)
    assert r["alpha_predicted_from_k"] == pytest.approx(alpha_data(4, 1.0))
    assert r["alpha_saturating"] == 0.3 and row.loc[("lk2", "token", "cosine"), "alpha_observed"] == 0.2
    rec = known_dimension_table(_protocols(), _exponents(), SOURCES, recommended=("token", "euclidean"))
    assert list(
        zip(
            rec.loc[rec["recommended"], "dataset"],
            rec.loc[rec["recommended"], "protocol"],
            rec.loc[rec["recommended"], "metric"],
        )
    ) == [("lk2", "token", "euclidean"), ("lk4", "token", "euclidean")]
    assert 0 < r["teacher_entropy"] < np.log(256)
    # The source manifold's own ID with the same estimator: ~k in euclidean (Hellinger), and about
    # half with cosine (1 - cos = |a - b|^2 / 2 on the unit-norm sqrt p: a squared distance).
    assert row.loc[("lk2", "token", "euclidean"), "id_source"] == pytest.approx(2.0, rel=0.1)
    assert row.loc[("lk4", "token", "euclidean"), "id_source"] == pytest.approx(4.0, rel=0.1)
    assert row.loc[("lk4", "token", "cosine"), "id_source"] == pytest.approx(
        row.loc[("lk4", "token", "euclidean"), "id_source"] / 2, rel=0.05
    )


def test_agreement_per_protocol() -> None:
    t = known_dimension_table(_protocols(), _exponents(), SOURCES, beta=1.0)
    a = protocol_agreement(t, max_k=2).set_index(["protocol", "metric"])
    assert a.loc[("sequence_mean", "euclidean"), "spearman_k"] == pytest.approx(1.0)
    # k = 2: ids 2.0 and 2.2 -> mean 2.1 -> error 0.05; token: 1.1 vs 2 -> 0.45
    assert a.loc[("sequence_mean", "euclidean"), "worst_relative_error_k_le_2"] == pytest.approx(0.05)
    assert a.loc[("token", "euclidean"), "worst_relative_error_k_le_2"] == pytest.approx(0.45)
    assert a.loc[("token", "euclidean"), "rises_beyond_k_2"]


def test_figure_draws_the_table() -> None:
    t = known_dimension_table(_protocols(), _exponents(), SOURCES, beta=1.0, recommended=("sequence_mean", "euclidean"))
    fig = fig_known_dimension.known_dimension_figure(t)
    lines = {ln.get_gid(): ln for ax in fig.axes for ln in ax.get_lines() if ln.get_gid()}
    seq = lines[f"{fig_known_dimension.KNOWN_ID_GID}:sequence_mean:euclidean"]
    np.testing.assert_array_equal(seq.get_xdata(), [2, 4])
    np.testing.assert_allclose(seq.get_ydata(), [2.1, 4.1])
    np.testing.assert_allclose(lines[f"{fig_known_dimension.KNOWN_ID_GID}:token:cosine"].get_ydata(), [0.6, 1.1])
    alpha = [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_gid() == fig_known_dimension.KNOWN_ALPHA_GID]
    assert [list(ln.get_ydata()) for ln in alpha] == [[0.5, 0.3], [0.2, 0.1]]  # saturating, then pure
    x = np.asarray(lines["from_k"].get_xdata())
    np.testing.assert_allclose(lines["from_k"].get_ydata(), 2 / (2 + x))
    np.testing.assert_allclose(lines["from_recommended"].get_ydata(), [2 / 4.1, 2 / 6.1])
