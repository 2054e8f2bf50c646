"""Tests for idscaling.exponents.exponents_table on synthetic sweeps with known exponents."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from idscaling.fit.exponents import COLUMNS, exponents_table
from idscaling.fit.predict import alpha_data, alpha_model, alpha_model_sharma_kaplan

A_D, A_N = 0.3, 0.12  # true data / model exponents
EMBED = 5e5  # embedding parameters, added to the non-embedding count


def sweep() -> pd.DataFrame:
    """Dataset "web": 3 models x 3 data sizes x 2 seeds with an exactly separable
    power law in n_tokens and n_params_nonembedding. Dataset "code": one model."""
    rows = []
    for model, nonemb in [("s", 1e5), ("m", 1e6), ("l", 1e7)]:
        for n_tokens in [1e6, 1e7, 1e8]:
            for seed in (0, 1):
                loss = 40.0 * n_tokens**-A_D * nonemb**-A_N
                rows.append(
                    dict(
                        dataset="web",
                        model=model,
                        n_params=nonemb + EMBED,
                        n_params_nonembedding=nonemb,
                        n_tokens=n_tokens,
                        seed=seed,
                        val_loss=loss,
                        train_loss=loss * 0.9,
                    )
                )
    for n_tokens in [2e5, 2e6, 2e7, 2e8]:
        rows.append(
            dict(
                dataset="code",
                model="tiny",
                n_params=1e6,
                n_params_nonembedding=4e5,
                n_tokens=n_tokens,
                seed=0,
                val_loss=9.0 * n_tokens**-0.2,
                train_loss=1.0,
            )
        )
    return pd.DataFrame(rows)


IDS = pd.DataFrame({"dataset": ["web"], "id": [10.0], "id_ci_low": [9.0], "id_ci_high": [12.0]})


def test_table_shape_and_known_exponents() -> None:
    table = exponents_table(sweep(), IDS, params_column="n_params_nonembedding", beta=1.0)
    assert list(table.columns) == COLUMNS
    assert list(zip(table["dataset"], table["axis"])) == [
        ("code", "data"),
        ("web", "data"),
        ("web", "data_envelope"),
        ("web", "model"),
    ]
    t = table.set_index(["dataset", "axis"])

    web_d = t.loc[("web", "data")]
    assert web_d["held_fixed"] == "model=l"  # largest model by default
    assert web_d["n_points"] == 6  # 3 sizes x 2 seeds
    assert web_d["alpha_observed"] == pytest.approx(A_D, abs=1e-10)
    assert web_d["r2"] == pytest.approx(1.0)

    web_m = t.loc[("web", "model")]
    assert web_m["held_fixed"] == "n_tokens=100000000"
    assert web_m["n_points"] == 6  # 3 models x 2 seeds at the largest n_tokens
    assert web_m["alpha_observed"] == pytest.approx(A_N, abs=1e-10)

    assert t.loc[("code", "data"), "alpha_observed"] == pytest.approx(0.2, abs=1e-10)
    assert t.loc[("code", "data"), "held_fixed"] == "model=tiny"


def test_predictions_and_ids() -> None:
    table = exponents_table(sweep(), IDS, params_column="n_params_nonembedding", beta=2.0, ci_level=0.9)
    t = table.set_index(["dataset", "axis"])
    for axis, f in [("data", alpha_data), ("model", alpha_model)]:
        row = t.loc[("web", axis)]
        assert (row["id"], row["id_ci_low"], row["id_ci_high"], row["beta"]) == (10.0, 9.0, 12.0, 2.0)
        assert row["alpha_predicted"] == pytest.approx(f(10.0, 2.0))
        assert row["alpha_predicted_ci_low"] == pytest.approx(f(12.0, 2.0))
        assert row["alpha_predicted_ci_high"] == pytest.approx(f(9.0, 2.0))
        assert row["ci_level"] == 0.9
    # no ID row for "code": NaN in the id and predicted columns, fit still there
    code = t.loc[("code", "data")]
    for col in [
        "id",
        "id_ci_low",
        "id_ci_high",
        "alpha_predicted",
        "alpha_predicted_ci_low",
        "alpha_predicted_ci_high",
    ]:
        assert np.isnan(code[col])
    assert np.isfinite(code["alpha_observed"])


def test_params_column_is_used() -> None:
    # The loss is an exact power law in the non-embedding count, not in the total.
    total = exponents_table(sweep(), IDS).set_index(["dataset", "axis"]).loc[("web", "model")]
    nonemb = (
        exponents_table(sweep(), IDS, params_column="n_params_nonembedding")
        .set_index(["dataset", "axis"])
        .loc[("web", "model")]
    )
    assert nonemb["r2"] == pytest.approx(1.0)
    assert total["r2"] < 0.9999
    assert total["alpha_observed"] != pytest.approx(A_N, abs=1e-3)


def test_data_axis_model_override() -> None:
    table = exponents_table(sweep()[lambda f: f["dataset"] == "web"], IDS, data_axis_model="s")
    row = table[table["axis"] == "data"].iloc[0]
    assert row["held_fixed"] == "model=s"
    assert row["alpha_observed"] == pytest.approx(A_D, abs=1e-10)
    with pytest.raises(ValueError, match="'xl' has no points in dataset"):
        exponents_table(sweep(), IDS, data_axis_model="xl")


def test_seeds_with_noise_give_an_interval() -> None:
    pts = sweep()
    rng = np.random.default_rng(0)
    pts["val_loss"] *= np.exp(rng.normal(0, 0.01, len(pts)))
    row = exponents_table(pts, IDS).set_index(["dataset", "axis"]).loc[("web", "data")]
    assert row["alpha_ci_low"] < A_D < row["alpha_ci_high"]


def test_errors() -> None:
    with pytest.raises(ValueError, match="val_loss"):
        exponents_table(sweep().drop(columns="val_loss"), IDS)
    with pytest.raises(ValueError, match="id_ci_low"):
        exponents_table(sweep(), IDS.drop(columns="id_ci_low"))
    with pytest.raises(ValueError, match="several rows"):
        exponents_table(sweep(), pd.concat([IDS, IDS]))
    one_size = sweep()
    one_size = one_size[one_size["n_tokens"] == 1e8]
    # one data size (a known-dimension check): no data law, the model axis still fitted
    table = exponents_table(one_size[one_size["dataset"] == "web"], IDS, params_column="n_params_nonembedding")
    assert table["axis"].tolist() == ["model"]
    assert table["alpha_observed"].iloc[0] == pytest.approx(A_N, rel=1e-6)
    one_model = sweep()
    one_model = one_model[(one_model["dataset"] == "code") & (one_model["n_tokens"] == 2e8)]
    assert exponents_table(one_model, IDS.assign(dataset="code")).empty  # one model, one size: nothing to fit
    with pytest.raises(ValueError, match="beta"):
        exponents_table(sweep(), IDS, beta=0.0)


ORIGINAL_COLUMNS = [
    "dataset",
    "axis",
    "held_fixed",
    "n_points",
    "alpha_observed",
    "alpha_ci_low",
    "alpha_ci_high",
    "prefactor",
    "r2",
    "id",
    "id_ci_low",
    "id_ci_high",
    "beta",
    "alpha_predicted",
    "alpha_predicted_ci_low",
    "alpha_predicted_ci_high",
    "ci_level",
]
SK_COLUMNS = ["alpha_predicted_sk", "alpha_predicted_sk_ci_low", "alpha_predicted_sk_ci_high"]
SATURATING_COLUMNS = [
    "alpha_saturating",
    "alpha_saturating_ci_low",
    "alpha_saturating_ci_high",
    "E_saturating",
    "E_saturating_ci_low",
    "E_saturating_ci_high",
    "A_saturating",
    "saturating_note",
]


def test_added_columns_follow_the_original_ones() -> None:
    # Other code and the plots read the original columns: same names, same order.
    from idscaling.fit.heldout import HELDOUT_COLUMNS

    assert COLUMNS == ORIGINAL_COLUMNS + SK_COLUMNS + SATURATING_COLUMNS + ["envelope_models"] + HELDOUT_COLUMNS
    table = exponents_table(sweep(), IDS, params_column="n_params_nonembedding", beta=2.0)
    assert list(table.columns) == COLUMNS


def test_sharma_kaplan_predictions_beside_havrilla_liao() -> None:
    t = exponents_table(sweep(), IDS, params_column="n_params_nonembedding", beta=2.0).set_index(["dataset", "axis"])
    model = t.loc[("web", "model")]
    assert model["alpha_predicted_sk"] == pytest.approx(alpha_model_sharma_kaplan(10.0))  # 0.4
    assert model["alpha_predicted_sk_ci_low"] == pytest.approx(4 / 12.0)
    assert model["alpha_predicted_sk_ci_high"] == pytest.approx(4 / 9.0)
    assert model["alpha_predicted"] == pytest.approx(alpha_model(10.0, 2.0))  # beta-dependent, SK is not
    # data axis: no Sharma-Kaplan prediction; dataset without ID: NaN as well
    for key in [("web", "data"), ("code", "data")]:
        assert t.loc[key, SK_COLUMNS].isna().all(), key
    # beta does not change the Sharma-Kaplan columns
    t1 = exponents_table(sweep(), IDS, params_column="n_params_nonembedding", beta=1.0).set_index(["dataset", "axis"])
    assert t1.loc[("web", "model"), SK_COLUMNS].tolist() == pytest.approx(model[SK_COLUMNS].tolist())


def test_sharma_kaplan_without_id_interval() -> None:
    ids = IDS.assign(id_ci_low=np.nan, id_ci_high=np.nan)
    row = exponents_table(sweep(), ids).set_index(["dataset", "axis"]).loc[("web", "model")]
    assert row["alpha_predicted_sk"] == pytest.approx(0.4)
    assert np.isnan(row["alpha_predicted_sk_ci_low"]) and np.isnan(row["alpha_predicted_sk_ci_high"])


# ------------------------------------------------------------------ saturating and joint fits
def saturating_sweep(e: float = 1.5, a: float = 60.0, alpha: float = 0.45, noise: float = 0.0) -> pd.DataFrame:
    """One model, 6 data sizes, L = E + A N^-alpha (times optional multiplicative noise)."""
    rng = np.random.default_rng(3)
    rows = []
    for n_tokens in np.geomspace(1e4, 1e7, 6):
        loss = (e + a * n_tokens**-alpha) * np.exp(noise * rng.standard_normal())
        rows.append(
            dict(
                dataset="syn",
                model="m",
                n_params=1e6,
                n_params_nonembedding=5e5,
                n_tokens=n_tokens,
                seed=0,
                val_loss=loss,
            )
        )
    return pd.DataFrame(rows)


def test_saturating_columns_recover_the_reducible_exponent() -> None:
    table = exponents_table(saturating_sweep(), IDS)
    row = table.iloc[0]
    # Exact data: the saturating fit recovers E and alpha (tolerance: optimizer convergence),
    # while the pure power law's exponent is diluted by E (far below 0.45).
    assert row["alpha_saturating"] == pytest.approx(0.45, rel=1e-4)
    assert row["E_saturating"] == pytest.approx(1.5, rel=1e-4)
    assert row["A_saturating"] == pytest.approx(60.0, rel=1e-3)
    assert row["alpha_observed"] < 0.3
    assert row["saturating_note"] == "" or pd.isna(row["saturating_note"])


def test_saturating_interval_covers_truth_with_noise() -> None:
    table = exponents_table(saturating_sweep(noise=0.01), IDS)
    row = table.iloc[0]
    assert row["alpha_saturating_ci_low"] < 0.45 < row["alpha_saturating_ci_high"]
    assert row["E_saturating_ci_low"] < row["E_saturating"] < row["E_saturating_ci_high"]


def test_saturating_needs_four_points_and_says_so() -> None:
    table = exponents_table(sweep(), IDS, params_column="n_params_nonembedding")
    t = table.set_index(["dataset", "axis"])
    # web/data has 6 points but only 3 distinct sizes (2 seeds): fitted; code/data has 4 points.
    assert np.isfinite(t.loc[("code", "data"), "alpha_saturating"])
    # an exact pure power law is a saturating law with E = 0, at its bound: flagged
    assert "at bound: E" in t.loc[("code", "data"), "saturating_note"]
    few = sweep()[lambda f: (f["dataset"] == "code") & (f["n_tokens"] < 1e8)]
    row = exponents_table(few, IDS).iloc[0]
    assert np.isnan(row["alpha_saturating"]) and "at least 4 points" in row["saturating_note"]


def test_envelope_row_fits_the_best_shape_at_each_size_and_every_row_extrapolates() -> None:
    """On the separable law the best shape is the largest at every size: the envelope is the
    largest shape's seed means, with its exponent and a held-out prediction of the largest size."""
    table = exponents_table(sweep(), IDS, params_column="n_params_nonembedding", beta=1.0)
    t = table.set_index(["dataset", "axis"])
    env = t.loc[("web", "data_envelope")]
    assert env["held_fixed"] == "best of 3 models per size" and env["n_points"] == 3
    assert env["envelope_models"] == "1000000:l 10000000:l 100000000:l"
    assert env["alpha_observed"] == pytest.approx(A_D, abs=1e-10)
    assert env["alpha_predicted"] == pytest.approx(alpha_data(10.0))  # the data theorem's prediction
    for axis in ("data", "model"):
        row = t.loc[("web", axis)]
        assert row["heldout_predicted_pure"] == pytest.approx(row["heldout_observed"], rel=1e-9)  # an exact power law
        assert abs(row["heldout_rel_error_pure"]) < 1e-9
    assert t.loc[("web", "data"), "heldout_x"] == 1e8
    assert t.loc[("web", "model"), "heldout_x"] == 1e7  # the largest non-embedding count
    assert "fewer than 3 distinct sizes" not in t.loc[("web", "data"), "heldout_note"]
    assert t.loc[("code", "data"), "envelope_models"] == "" and t.loc[("code", "data"), "heldout_x"] == 2e8
    assert ("code", "data_envelope") not in t.index  # one model: no envelope
