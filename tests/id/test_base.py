"""Tests for idscaling.id.base: the combination of pointwise estimates and the shared checks."""

from __future__ import annotations

import numpy as np
import pytest

from idscaling.id.base import check_int, combine, unit_rows, validate_points


def test_combine_definitions() -> None:
    m = np.array([1.0, 2.0, 4.0])
    assert combine(m, "mle") == pytest.approx(3 / (1 + 0.5 + 0.25))
    assert combine(m, "mean") == pytest.approx(7 / 3)
    assert combine(m, "median") == pytest.approx(2.0)
    with pytest.raises(ValueError, match="comb"):
        combine(m, "geometric")


def test_checks_name_the_problem_in_one_line() -> None:
    with pytest.raises(ValueError, match=r"^k must be an integer >= 2, got True$"):
        check_int("k", True, 2)
    assert check_int("k", np.int64(5), 2) == 5
    with pytest.raises(ValueError, match="metric must be one of"):
        validate_points(np.ones((5, 2)), "manhattan", 2, "1 point")
    with pytest.raises(ValueError, match=r"need more than k=5 points, got 4"):
        validate_points(np.ones((4, 2)), "euclidean", 6, "k=5 points")


def test_unit_rows_depend_on_the_row_only() -> None:
    # The de-duplication (whole array) and the neighbour search (one batch, other row offsets)
    # must see bit-identical unit rows.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 37)).astype(np.float32)
    U = unit_rows(X)
    np.testing.assert_allclose(np.linalg.norm(U, axis=1), 1.0, rtol=1e-15)
    order = rng.permutation(300)[:101]
    np.testing.assert_array_equal(unit_rows(X[order]), U[order])
    np.testing.assert_array_equal(unit_rows(X[7:8]), U[7:8])
