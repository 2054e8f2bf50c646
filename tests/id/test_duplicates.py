"""Tests for idscaling.id.duplicates: exact duplicates in the metric's geometry, near-duplicates."""

from __future__ import annotations

import numpy as np
import pytest
from id_points import cloud

from idscaling.id.duplicates import near_duplicates, unique_rows
from idscaling.id.knn import knn_distances


def test_unique_rows_matches_numpy() -> None:
    rng = np.random.default_rng(0)
    X = rng.integers(0, 3, size=(2000, 4)).astype(np.float32)  # many duplicates
    X[5] = [0.0, 1.0, 2.0, 0.0]
    X[6] = [-0.0, 1.0, 2.0, -0.0]  # equal values, different bytes
    ref = np.sort(np.unique(X, axis=0, return_index=True)[1])
    np.testing.assert_array_equal(unique_rows(X), ref)
    assert 6 not in unique_rows(X)


def test_unique_rows_cosine_drops_positive_multiples() -> None:
    # Under the cosine metric a row and a positive multiple of it are the same point (exact
    # multiples by powers of two have bit-identical unit rows); a negative multiple is not.
    X = cloud(50).astype(np.float32)
    Z = np.vstack([X, 2.0 * X[:3], 0.25 * X[3:5], -X[5:6], X[6:7]])
    np.testing.assert_array_equal(unique_rows(Z, "cosine"), np.r_[np.arange(50), 55])
    np.testing.assert_array_equal(unique_rows(Z, "euclidean"), np.arange(56))


def _jittered(X: np.ndarray, rows: list[int], scale: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return X[rows] + scale * rng.standard_normal((len(rows), X.shape[1]))


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_near_duplicates_flag_one_point_per_extra_copy(metric: str) -> None:
    X = cloud(500, ambient=20)
    # rows 500-502: copies of rows 0-2; rows 503-504: two more copies of row 3 (a group of three)
    Z = np.vstack([X, _jittered(X, [0, 1, 2, 3, 3], 1e-7, seed=1)])
    d, i = knn_distances(Z, 10, metric)
    flagged = near_duplicates(d, i, metric)
    np.testing.assert_array_equal(np.flatnonzero(flagged), [500, 501, 502, 503, 504])
    # the earliest row by priority is kept: reversed priority keeps the copies instead
    flagged = near_duplicates(d, i, metric, priority=-np.arange(505))
    np.testing.assert_array_equal(np.flatnonzero(flagged), [0, 1, 2, 3, 503])
    assert not near_duplicates(d, i, metric, tol=0.0).any()
    # genuine neighbours of a 6-dimensional cloud are never that close
    d, i = knn_distances(X, 10, metric)
    assert not near_duplicates(d, i, metric).any()
    with pytest.raises(ValueError, match="near_duplicate_tol"):
        near_duplicates(d, i, metric, tol=-1.0)
