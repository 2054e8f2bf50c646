"""Tests for idscaling.fit.joint_table: the joint law per dataset, its predictions from the ID and
its held-out extrapolation, on a grid with known exponents."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from idscaling.fit.joint_table import JOINT_COLUMNS, joint_fits_table, joint_prediction
from idscaling.fit.predict import alpha_data, alpha_model

IDS = pd.DataFrame({"dataset": ["web"], "id": [10.0], "id_ci_low": [9.0], "id_ci_high": [12.0]})


def joint_sweep(noise: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    rows = []
    for n_params in [1e5, 1e6, 1e7, 1e8]:
        for n_tokens in [1e6, 1e7, 1e8, 1e9]:
            loss = (1.7 + 400.0 / n_params**0.34 + 900.0 / n_tokens**0.28) * np.exp(noise * rng.standard_normal())
            rows.append(
                dict(dataset="web", model=f"p{n_params:g}", n_params=n_params, n_tokens=n_tokens, seed=0, val_loss=loss)
            )
    rows.append(dict(dataset="one", model="m", n_params=1e6, n_tokens=1e6, seed=0, val_loss=3.0))
    return pd.DataFrame(rows)


def test_joint_fits_table_recovers_exponents_and_notes_unfittable() -> None:
    table = joint_fits_table(joint_sweep(), IDS, n_bootstrap=50)
    assert list(table.columns) == JOINT_COLUMNS
    t = table.set_index("dataset")
    web = t.loc["web"]
    assert web["n_points"] == 16 and web["n_models"] == 4 and web["n_sizes"] == 4
    # Exact data on a 4 x 4 grid: L-BFGS on the Huber objective lands within 1% of the truth.
    assert web["alpha_model"] == pytest.approx(0.34, rel=1e-2)
    assert web["alpha_data"] == pytest.approx(0.28, rel=1e-2)
    assert web["E"] == pytest.approx(1.7, rel=1e-2)
    assert web["alpha_model_predicted"] == pytest.approx(alpha_model(10.0, 1.0))
    assert web["alpha_data_predicted"] == pytest.approx(alpha_data(10.0, 1.0))
    one = t.loc["one"]
    assert np.isnan(one["alpha_model"]) and "at least 6 points" in one["note"]
    assert np.isnan(one["id"])  # no ID row for that dataset


def test_joint_law_without_its_largest_data_size_predicts_it() -> None:
    t = joint_fits_table(joint_sweep(), IDS, n_bootstrap=50).set_index("dataset")
    web = t.loc["web"]
    truth = np.mean([1.7 + 400.0 / n**0.34 + 900.0 / 1e9**0.28 for n in (1e5, 1e6, 1e7, 1e8)])
    assert web["heldout_x"] == 1e9 and web["heldout_n_points"] == 4
    assert web["heldout_observed"] == pytest.approx(truth)
    assert abs(web["heldout_rel_error"]) < 0.01 and web["heldout_max_abs_rel_error"] < 0.02  # exact data, 12 points
    assert web["heldout_predicted_ci_low"] <= web["heldout_predicted"] <= web["heldout_predicted_ci_high"]
    assert web["heldout_note"] == ""
    assert np.isnan(t.loc["one", "heldout_predicted"])
    theta = np.log([[2.0, 3.0, 1.0]])  # a, b, e
    np.testing.assert_allclose(joint_prediction(np.hstack([theta, [[1.0, 0.5]]]), [2.0], [9.0]), [[1.0 + 1.0 + 1.0]])
    # a degenerate fit's huge A (e^a overflows) still predicts: A / N^alpha = e^(a - alpha log N)
    np.testing.assert_allclose(
        joint_prediction([[800.0, 0.0, 0.0, 100.0, 1.0]], [1e4], [1.0]), [[1 + 1 + np.exp(800 - 100 * np.log(1e4))]]
    )
