"""Tests of idscaling.protocol_exponents: predictions from every ID protocol x metric in exponents.csv."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from idscaling.fit.protocol_exponents import primary_rows, with_protocol_predictions


def _exponents() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "dataset": "a",
                "axis": "data",
                "alpha_observed": 0.3,
                "id": 2.0,
                "id_ci_low": 1.9,
                "id_ci_high": 2.1,
                "alpha_predicted": 0.5,
                "alpha_predicted_ci_low": 0.49,
                "alpha_predicted_ci_high": 0.51,
                "alpha_predicted_sk": np.nan,
                "alpha_predicted_sk_ci_low": np.nan,
                "alpha_predicted_sk_ci_high": np.nan,
            },
            {
                "dataset": "a",
                "axis": "model",
                "alpha_observed": 0.1,
                "id": 2.0,
                "id_ci_low": 1.9,
                "id_ci_high": 2.1,
                "alpha_predicted": 1.0,
                "alpha_predicted_ci_low": 0.95,
                "alpha_predicted_ci_high": 1.05,
                "alpha_predicted_sk": 2.0,
                "alpha_predicted_sk_ci_low": 1.9,
                "alpha_predicted_sk_ci_high": 2.1,
            },
        ]
    )


def _protocols() -> pd.DataFrame:
    rows = [
        ("a", 0, "token", "cosine", 2.0, 1.9, 2.1),
        ("a", 0, "token", "euclidean", 4.0, 3.9, 4.1),
        ("a", 0, "sequence_mean", "euclidean", 3.0, 2.8, 3.2),
        ("a", 1, "sequence_mean", "euclidean", 5.0, 4.9, 5.4),
        ("b", 0, "sequence_mean", "euclidean", 9.0, 8.0, 10.0),
    ]
    return pd.DataFrame(rows, columns=["dataset", "seed", "protocol", "metric", "id", "id_ci_low", "id_ci_high"])


def test_every_other_protocol_gets_its_own_predictions() -> None:
    t = with_protocol_predictions(_exponents(), _protocols(), metric="cosine", beta=1.0)
    assert list(t["primary"]) == [True, True, False, False, False, False]
    assert list(zip(t["id_protocol"], t["id_metric"]))[:2] == [("token", "cosine")] * 2
    extra = t[~t["primary"]].set_index(["axis", "id_protocol"])
    seq = extra.loc[("data", "sequence_mean")]
    assert seq["id"] == 4.0 and seq["id_ci_low"] == 2.8 and seq["id_ci_high"] == 5.4  # two seeds
    assert seq["alpha_predicted"] == pytest.approx(2 / 6) and seq["alpha_predicted_ci_low"] == pytest.approx(2 / 7.4)
    assert seq["alpha_observed"] == 0.3  # the observed exponent is the dataset's, whatever the ID
    model = extra.loc[("model", "token")]
    assert model["id"] == 4.0 and model["alpha_predicted"] == pytest.approx(0.5)
    assert model["alpha_predicted_sk"] == pytest.approx(1.0) and np.isnan(seq["alpha_predicted_sk"])
    pd.testing.assert_frame_equal(primary_rows(t)[_exponents().columns], _exponents())


def test_without_protocols_the_table_is_only_tagged() -> None:
    t = with_protocol_predictions(
        _exponents(), pd.DataFrame(columns=_protocols().columns), metric="euclidean", beta=1.0
    )
    assert len(t) == 2 and t["primary"].all() and set(t["id_metric"]) == {"euclidean"}
    assert primary_rows(_exponents()) is not None and len(primary_rows(_exponents())) == 2
