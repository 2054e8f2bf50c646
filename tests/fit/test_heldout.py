"""Held-out extrapolation (idscaling.heldout) on laws with known values at the held-out size."""

from __future__ import annotations

import math

import numpy as np
import pytest

from idscaling.fit.heldout import (
    HELDOUT_COLUMNS,
    heldout_fixed,
    pure_prediction,
    saturating_prediction,
)

SIZES = np.array([1e4, 2e4, 4e4, 8e4, 1.6e5, 3.2e5])


def law(x, e=2.5, a=40.0, alpha=0.45):
    return e + a * np.asarray(x, dtype=float) ** -alpha


def test_an_exact_saturating_law_predicts_its_held_out_size():
    x = np.repeat(SIZES, 3)
    row = heldout_fixed(x, law(x), n_bootstrap=50)
    assert set(row) == set(HELDOUT_COLUMNS)
    assert row["heldout_x"] == 3.2e5 and row["heldout_n_points"] == 3
    assert row["heldout_observed"] == pytest.approx(law(3.2e5))
    assert row["heldout_predicted"] == pytest.approx(law(3.2e5), rel=1e-6)
    assert abs(row["heldout_rel_error"]) < 1e-6 and row["heldout_alpha"] == pytest.approx(0.45, rel=1e-4)
    # the pure law cannot bend: it overshoots the flattening curve's descent
    assert row["heldout_rel_error_pure"] < -1e-3 and row["heldout_note"] == ""


def test_held_out_interval_covers_the_truth_under_noise():
    rng = np.random.default_rng(0)
    x = np.repeat(SIZES, 3)
    hits = 0
    for _ in range(40):
        y = law(x) * np.exp(rng.normal(0, 0.01, x.size))
        row = heldout_fixed(x, y, n_bootstrap=200, seed=int(rng.integers(1 << 30)))
        hits += row["heldout_predicted_ci_low"] <= law(3.2e5) <= row["heldout_predicted_ci_high"]
    assert hits >= 32  # nominal 95%: 38 of 40; the pairs bootstrap of 15 points is a little narrow


def test_pure_prediction_interval_is_the_mean_response_t_interval():
    """Coverage of the true mean log y at a new x by simulation (Gaussian errors: exact 95%)."""
    rng = np.random.default_rng(1)
    x = SIZES[:-1]
    truth = 7.0 * 3.2e5**-0.1
    hits = 0
    for _ in range(2000):
        y = 7.0 * x**-0.1 * np.exp(rng.normal(0, 0.02, x.size))
        _, low, high = pure_prediction(x, y, 3.2e5, 0.95)
        hits += low <= truth <= high
    assert 0.93 <= hits / 2000 <= 0.97
    pred, low, high = pure_prediction(x, 7.0 * x**-0.1, 3.2e5, 0.95)
    assert pred == pytest.approx(truth) and high - low < 1e-9


def test_saturating_prediction_rows_are_alpha_e_a():
    np.testing.assert_allclose(saturating_prediction([[0.5, 2.0, 10.0], [1.0, 0.0, 4.0]], 4.0), [7.0, 1.0])


def test_too_few_sizes_say_so():
    row = heldout_fixed([1e4, 1e4, 2e4, 2e4], [3.0, 3.1, 2.9, 2.95])
    assert math.isnan(row["heldout_predicted"]) and "fewer than 3 distinct sizes" in row["heldout_note"]
    row = heldout_fixed([1e4, 2e4, 4e4, 8e4], law([1e4, 2e4, 4e4, 8e4]), n_bootstrap=20)
    assert math.isnan(row["heldout_predicted"]) and "need at least 4 points" in row["heldout_note"]
    assert row["heldout_predicted_pure"] > 0  # the pure law still extrapolates from 3 points
