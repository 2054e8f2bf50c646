"""Tests for idscaling.fit.fit_power_law."""

from __future__ import annotations

import math

import numpy as np
import pytest

from idscaling.fit import fit_power_law

KEYS = {"alpha", "alpha_ci_low", "alpha_ci_high", "prefactor", "r2", "n_points", "ci_level"}


def test_noiseless_recovers_exactly() -> None:
    x = np.logspace(5, 9, 7)
    y = 3.7 * x ** -0.27
    out = fit_power_law(x, y)
    assert set(out) == KEYS
    assert abs(out["alpha"] - 0.27) < 1e-10
    assert abs(out["prefactor"] - 3.7) < 1e-8
    assert out["r2"] == pytest.approx(1.0, abs=1e-12)
    assert abs(out["alpha_ci_low"] - 0.27) < 1e-10 and abs(out["alpha_ci_high"] - 0.27) < 1e-10
    assert out["n_points"] == 7 and out["ci_level"] == 0.95


def test_noisy_true_alpha_inside_ci() -> None:
    rng = np.random.default_rng(0)
    x = np.repeat(np.logspace(4, 8, 6), 2)  # two "seeds" per size
    y = 5.0 * x ** -0.3 * np.exp(rng.normal(0, 0.03, x.size))
    out = fit_power_law(x, y, ci_level=0.95)
    assert out["alpha_ci_low"] < 0.3 < out["alpha_ci_high"]
    assert out["alpha_ci_low"] < out["alpha"] < out["alpha_ci_high"]
    assert out["alpha_ci_high"] - out["alpha_ci_low"] < 0.05
    assert 0.9 < out["r2"] < 1.0


@pytest.mark.parametrize("n", [3, 8])
def test_ci_coverage_is_nominal(n: int) -> None:
    # The Student-t interval is exact for Gaussian errors in log y: over 400
    # replicates, 90% intervals should cover about 90% of the time (binomial sd 1.5%).
    # n=3 catches a wrong number of degrees of freedom (t_1 vs t_2 differ by 2x).
    rng = np.random.default_rng(1)
    x = np.logspace(3, 7, n)
    hits = 0
    for _ in range(400):
        y = 2.0 * x ** -0.5 * np.exp(rng.normal(0, 0.1, x.size))
        out = fit_power_law(x, y, ci_level=0.9)
        hits += out["alpha_ci_low"] < 0.5 < out["alpha_ci_high"]
    assert 0.85 < hits / 400 < 0.95


def test_two_points_has_nan_ci() -> None:
    out = fit_power_law([10.0, 1000.0], [2.0, 1.0])
    assert out["alpha"] == pytest.approx(math.log(2) / math.log(100))
    assert math.isnan(out["alpha_ci_low"]) and math.isnan(out["alpha_ci_high"])
    assert out["n_points"] == 2


def test_wider_level_gives_wider_interval() -> None:
    rng = np.random.default_rng(2)
    x = np.logspace(3, 7, 6)
    y = x ** -0.4 * np.exp(rng.normal(0, 0.05, x.size))
    a = fit_power_law(x, y, ci_level=0.8)
    b = fit_power_law(x, y, ci_level=0.99)
    assert b["alpha_ci_low"] < a["alpha_ci_low"] < a["alpha_ci_high"] < b["alpha_ci_high"]


@pytest.mark.parametrize(
    "x, y, match",
    [
        ([1.0, 2.0, -3.0], [1.0, 2.0, 3.0], "positive"),
        ([1.0, 2.0, 3.0], [1.0, 0.0, 3.0], "positive"),
        ([1.0, np.nan, 3.0], [1.0, 2.0, 3.0], "NaN"),
        ([1.0, 2.0, 3.0], [1.0, np.inf, 3.0], "NaN or inf"),
        ([1.0], [1.0], "at least 2 points"),
        ([5.0, 5.0, 5.0], [1.0, 2.0, 3.0], "2 distinct x"),
        ([1.0, 2.0], [1.0, 2.0, 3.0], "same length"),
        ([[1.0, 2.0]], [[1.0, 2.0]], "1-D"),
        (["a", "b"], [1.0, 2.0], "numeric"),
    ],
)
def test_errors(x, y, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        fit_power_law(x, y)


def test_bad_ci_level() -> None:
    with pytest.raises(ValueError, match="ci_level"):
        fit_power_law([1.0, 2.0, 3.0], [3.0, 2.0, 1.0], ci_level=95)
