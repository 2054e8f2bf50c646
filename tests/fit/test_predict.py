"""Tests for idscaling.predict."""

from __future__ import annotations

import math

import numpy as np
import pytest

from idscaling.fit.predict import (
    alpha_data,
    alpha_model,
    alpha_model_sharma_kaplan,
    predict_with_ci,
)


def test_formulas() -> None:
    assert alpha_data(2.0) == pytest.approx(0.5)  # 2 / (2 + 2)
    assert alpha_data(4.0, beta=2.0) == pytest.approx(0.5)  # 4 / (4 + 4)
    assert alpha_data(18.0) == pytest.approx(0.1)
    assert alpha_model(4.0) == pytest.approx(0.5)
    assert alpha_model(4.0, beta=2.0) == pytest.approx(1.0)
    assert isinstance(alpha_data(3.0), float) and isinstance(alpha_model(3), float)


def test_vectorised() -> None:
    d = np.array([1.0, 5.0, 20.0])
    np.testing.assert_allclose(alpha_data(d), 2 / (2 + d))
    np.testing.assert_allclose(alpha_model(d, beta=0.5), 1 / d)
    np.testing.assert_allclose(alpha_data(10.0, beta=np.array([1.0, 2.0])), [2 / 12, 4 / 14])
    assert np.all(np.diff(alpha_data(d)) < 0) and np.all(np.diff(alpha_model(d)) < 0)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), [1.0, -2.0]])
def test_invalid_d(bad) -> None:
    with pytest.raises(ValueError, match="d must be > 0"):
        alpha_data(bad)
    with pytest.raises(ValueError, match="d must be > 0"):
        alpha_model(bad)


def test_invalid_beta() -> None:
    with pytest.raises(ValueError, match="beta"):
        alpha_data(3.0, beta=0.0)
    with pytest.raises(ValueError, match="beta"):
        alpha_model(3.0, beta=-1.0)


@pytest.mark.parametrize("axis, f", [("data", alpha_data), ("model", alpha_model)])
def test_predict_with_ci_swaps_bounds(axis: str, f) -> None:
    pred, lo, hi = predict_with_ci(8.0, 6.0, 11.0, beta=1.5, axis=axis)
    assert pred == pytest.approx(f(8.0, 1.5))
    assert lo == pytest.approx(f(11.0, 1.5))
    assert hi == pytest.approx(f(6.0, 1.5))
    assert lo < pred < hi


def test_predict_with_ci_arrays_and_nan_bounds() -> None:
    pred, lo, hi = predict_with_ci(np.array([4.0, 8.0]), np.array([3.0, np.nan]), np.array([5.0, np.nan]))
    np.testing.assert_allclose(pred, [2 / 6, 2 / 10])
    assert lo[0] == pytest.approx(2 / 7) and hi[0] == pytest.approx(2 / 5)
    assert math.isnan(lo[1]) and math.isnan(hi[1])


def test_predict_with_ci_errors() -> None:
    with pytest.raises(ValueError, match="axis"):
        predict_with_ci(4.0, 3.0, 5.0, axis="compute")
    with pytest.raises(ValueError, match="d_low must be <= d_high"):
        predict_with_ci(4.0, 5.0, 3.0)
    with pytest.raises(ValueError, match="d_low"):
        predict_with_ci(4.0, -1.0, 5.0)
    with pytest.raises(ValueError, match="d must be > 0"):
        predict_with_ci(float("nan"), 3.0, 5.0)


def test_sharma_kaplan_formula() -> None:
    assert alpha_model_sharma_kaplan(8.0) == pytest.approx(0.5)
    assert alpha_model_sharma_kaplan(20.0) == pytest.approx(0.2)
    assert isinstance(alpha_model_sharma_kaplan(4), float)
    np.testing.assert_allclose(alpha_model_sharma_kaplan(np.array([2.0, 16.0])), [2.0, 0.25])
    # Twice Havrilla & Liao's beta = 1 model exponent 2 / d.
    assert alpha_model_sharma_kaplan(12.0) == pytest.approx(2 * alpha_model(12.0, beta=1.0))
    for bad in (0.0, -3.0, float("nan")):
        with pytest.raises(ValueError, match="d must be > 0"):
            alpha_model_sharma_kaplan(bad)


def test_predict_with_ci_sharma_kaplan() -> None:
    pred, lo, hi = predict_with_ci(8.0, 6.0, 11.0, axis="model", theory="sharma_kaplan")
    assert (pred, lo, hi) == pytest.approx((4 / 8, 4 / 11, 4 / 6))
    # beta plays no part in 4 / d
    assert predict_with_ci(8.0, 6.0, 11.0, beta=3.0, axis="model", theory="sharma_kaplan") == pytest.approx(
        (pred, lo, hi)
    )
    pred, lo, hi = predict_with_ci(
        np.array([4.0, 8.0]), np.array([2.0, np.nan]), np.array([5.0, np.nan]), axis="model", theory="sharma_kaplan"
    )
    np.testing.assert_allclose(pred, [1.0, 0.5])
    assert lo[0] == pytest.approx(0.8) and hi[0] == pytest.approx(2.0)
    assert math.isnan(lo[1]) and math.isnan(hi[1])
    # the default theory is unchanged
    assert predict_with_ci(8.0, 6.0, 11.0, axis="model")[0] == pytest.approx(alpha_model(8.0))


def test_predict_with_ci_theory_errors() -> None:
    with pytest.raises(ValueError, match="model exponent only"):
        predict_with_ci(8.0, 6.0, 11.0, axis="data", theory="sharma_kaplan")
    with pytest.raises(ValueError, match="theory"):
        predict_with_ci(8.0, 6.0, 11.0, axis="model", theory="kaplan")
    with pytest.raises(ValueError, match="d_low must be <= d_high"):
        predict_with_ci(8.0, 12.0, 11.0, axis="model", theory="sharma_kaplan")
