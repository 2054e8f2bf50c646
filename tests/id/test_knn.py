"""Tests for idscaling.id.knn: exact k-NN search (float32 ranking, float64 refinement, certificate)
with every backend, and accurate cosine distances of close rows."""

from __future__ import annotations

import numpy as np
import pytest
from id_points import cloud, direct_distances, require_faiss

import idscaling.id.knn as knn_module
from idscaling.id.base import unit_rows
from idscaling.id.batching import estimate_id, settings_for_estimator
from idscaling.id.knn import knn_distances

ALL_METHODS = ["sklearn", "blas", "faiss", "torch"]


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_knn_blas_matches_sklearn(metric: str, dtype: type) -> None:
    rng = np.random.default_rng(5)
    # a large common offset: the float32 ranking centres the data first
    X = (cloud(800, ambient=64, latent=8) + 3.0 * rng.standard_normal(64)).astype(dtype)
    d_blas, i_blas = knn_distances(X, 20, metric, method="blas")
    d_ref, i_ref = knn_distances(X, 20, metric, method="sklearn")
    np.testing.assert_allclose(d_blas, d_ref, rtol=1e-9)
    assert np.mean(i_blas == i_ref) > 0.999  # only tied neighbours may swap
    assert d_blas.dtype == np.float64 and np.all(np.diff(d_blas, axis=1) >= 0)


def test_knn_blas_falls_back_to_float64_where_float32_cannot_certify() -> None:
    # Two far-apart tight clusters: centring cannot remove both offsets, so the float32
    # rounding bound (~ |a|^2 * D * 2^-24) exceeds the gaps between neighbour distances,
    # the certificate fails and those rows are redone in float64 -- still exact.
    rng = np.random.default_rng(0)
    offset = np.zeros(50)
    offset[0] = 1e3
    X = np.vstack([offset + rng.standard_normal((300, 50)), -offset + rng.standard_normal((300, 50))])
    d_blas, _ = knn_distances(X, 10, "euclidean", method="blas")
    assert knn_module.last_knn_fallback_rows > 0
    d_ref, _ = knn_distances(X, 10, "euclidean", method="sklearn")
    np.testing.assert_allclose(d_blas, d_ref, rtol=1e-9)
    # ... while ordinary data is certified in float32 throughout
    knn_distances(cloud(800), 10, "euclidean", method="blas")
    assert knn_module.last_knn_fallback_rows == 0


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_knn_exact_zero_for_duplicates(metric: str) -> None:
    X = cloud(300)
    X = np.vstack([X, X[:2]])
    d, i = knn_distances(X, 3, metric)
    assert d[0, 0] == 0.0 and d[300, 0] == 0.0 and i[300, 0] == 0
    assert np.all(d[2:300, 0] > 0)


def test_knn_more_neighbours_than_candidates() -> None:
    # k + margin >= n - 1: every other point is a candidate
    X = cloud(25)
    d, i = knn_distances(X, 22, "euclidean", method="blas")
    d_ref, _ = knn_distances(X, 22, "euclidean", method="sklearn")
    np.testing.assert_allclose(d, d_ref, rtol=1e-9)
    assert not np.any(i == np.arange(25)[:, None])  # never the point itself


# --- cosine distances of close rows: accurate, and the same in every backend ---------------------


@pytest.mark.parametrize("method", ALL_METHODS)
def test_knn_cosine_distance_of_close_rows_is_accurate(method: str) -> None:
    # y = x + eps |x| e with e a unit vector orthogonal to x: 1 - cos = eps^2 / 2 - O(eps^4).
    # From a dot product (what scikit-learn's cosine distance computes) 1 - cos is lost in
    # ~1e-16 absolute rounding (it returned 0 here); from the unit rows' coordinate differences
    # it is accurate to ~1e-7 relative. Every method must return the latter.
    if method == "faiss":
        require_faiss()
    X = cloud(400, ambient=30)
    rng = np.random.default_rng(0)
    e = rng.standard_normal((5, 30))
    e -= np.sum(e * X[:5], axis=1, keepdims=True) / np.sum(X[:5] ** 2, axis=1, keepdims=True) * X[:5]
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    eps = 1e-9
    Y = X[:5] + eps * np.linalg.norm(X[:5], axis=1, keepdims=True) * e
    d, i = knn_distances(np.vstack([X, Y]), 4, "cosine", method=method)
    np.testing.assert_array_equal(i[400:, 0], np.arange(5))
    np.testing.assert_allclose(d[400:, 0], eps**2 / 2, rtol=1e-5)


def test_knn_cosine_rows_equal_up_to_rounding_get_one_distance_from_every_method() -> None:
    # x and x (1 + 1e-15): the same direction up to rounding. Whether their unit rows differ
    # depends on the rounding; where they do, the distance is tiny but not 0, and it is
    # 0.5 |u - v|^2 of the unit rows in every backend (scikit-learn's path gave exactly 0, the
    # float32-ranked ones ~1e-31: a point the protocol kept was a duplicate for one backend only).
    X = cloud(400, ambient=30)
    Y = X[:8] * (1 + 1e-15)
    Z = np.vstack([X, Y])
    U = unit_rows(Z)
    ref = 0.5 * np.sum((U[400:] - U[:8]) ** 2, axis=1)
    assert np.any(ref > 0) and np.all(ref < 1e-28)
    methods = [m for m in ALL_METHODS if m != "faiss" or _has_faiss()]
    for method in methods:
        d, i = knn_distances(Z, 3, "cosine", method=method)
        assert np.all((i[400:, 0] == np.arange(8)) | (d[400:, 0] == d[400:, 1])), method
        np.testing.assert_allclose(d[400:, 0], ref, rtol=1e-12, atol=0, err_msg=method)


def _has_faiss() -> bool:
    try:
        import faiss  # noqa: F401
    except ImportError:
        return False
    return True


# --- knn_method="faiss" and "torch": float32 ranking, float64 refinement, certificate -----------


@pytest.mark.parametrize("method", ["faiss", "torch"])
@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_knn_faiss_and_torch_match_sklearn(method: str, metric: str, dtype: type) -> None:
    if method == "faiss":
        require_faiss()
    rng = np.random.default_rng(5)
    # a large common offset (the float32 ranking centres first) and duplicated rows: rows 0-4 twice,
    # rows 0-1 three times
    X = (cloud(800, ambient=64, latent=8) + 3.0 * rng.standard_normal(64)).astype(dtype)
    X = np.vstack([X, X[:5], X[:2]])
    d, i = knn_distances(X, 20, metric, method=method)
    d_ref, i_ref = knn_distances(X, 20, metric, method="sklearn")
    assert d.shape == i.shape == (807, 20) and d.dtype == np.float64 and i.dtype == np.int64
    assert np.all(np.diff(d, axis=1) >= 0) and not np.any(i == np.arange(807)[:, None])
    # Both are exact and end in float64: what is left is rounding (relative 1e-12 or better on
    # these distances, >= 1e-4); 1e-9 as for "blas".
    np.testing.assert_allclose(d, d_ref, rtol=1e-9, atol=1e-15)
    # the indices are those distances' points (tied duplicates may come in either order)
    np.testing.assert_allclose(direct_distances(X, i, metric), d, rtol=1e-9, atol=1e-15)
    assert np.mean(i == i_ref) > 0.98
    # ... and sklearn's on rows without ties among the k + 1 nearest (a tie at the k-th
    # distance with a point left out counts: copies of a duplicated row)
    d21, _ = knn_distances(X, 21, metric, method="sklearn")
    untied = np.all(np.diff(d21, axis=1) > 1e-9 * d21[:, 1:] + 1e-15, axis=1)
    assert untied.sum() > 600
    np.testing.assert_array_equal(i[untied], i_ref[untied])
    # duplicates: exactly 0, the copy as first neighbour
    assert np.all(d[[0, 1, 2, 3, 4, 800, 801, 802, 803, 804, 805, 806], 0] == 0.0)
    assert i[802, 0] == 2 and np.all(d[5:800, 0] > 0)
    assert knn_module.last_knn_fallback_rows == 0


def test_knn_faiss_every_point_a_candidate() -> None:
    require_faiss()
    X = cloud(25)
    d, i = knn_distances(X, 22, "euclidean", method="faiss")
    d_ref, _ = knn_distances(X, 22, "euclidean", method="sklearn")
    np.testing.assert_allclose(d, d_ref, rtol=1e-9)
    assert not np.any(i == np.arange(25)[:, None])


@pytest.mark.parametrize("method", ["faiss", "torch"])
def test_knn_faiss_and_torch_fall_back_to_float64_where_float32_cannot_certify(method: str) -> None:
    if method == "faiss":
        require_faiss()
    # as for "blas": two far-apart tight clusters defeat the float32 ranking's error bound
    rng = np.random.default_rng(0)
    offset = np.zeros(50)
    offset[0] = 1e3
    X = np.vstack([offset + rng.standard_normal((300, 50)), -offset + rng.standard_normal((300, 50))])
    d, _ = knn_distances(X, 10, "euclidean", method=method)
    assert knn_module.last_knn_fallback_rows > 0
    d_ref, _ = knn_distances(X, 10, "euclidean", method="sklearn")
    np.testing.assert_allclose(d, d_ref, rtol=1e-9)
    # more copies of a row than float32 candidates: still exact zeros, never the row itself
    Y = np.vstack([cloud(200)] + [cloud(200)[:1]] * 40)
    d, i = knn_distances(Y, 20, "cosine", method=method)
    assert np.all(d[200:, :20] == 0.0) and not np.any(i == np.arange(240)[:, None])
    # every other point a candidate (k + margin >= n - 1)
    Z = cloud(25)
    d, i = knn_distances(Z, 22, "euclidean", method=method)
    np.testing.assert_allclose(d, knn_distances(Z, 22, "euclidean", method="sklearn")[0], rtol=1e-9)
    assert not np.any(i == np.arange(25)[:, None])


def test_knn_method_names_are_checked() -> None:
    X = cloud(300)
    with pytest.raises(ValueError, match="knn_method must be one of"):
        estimate_id(X, knn_method="annoy")
    with pytest.raises(ValueError, match="method must be one of"):
        knn_distances(X, 5, "euclidean", method="annoy")
    section = {
        "estimator": "mle",
        "k": 7,
        "metric": "euclidean",
        "comb": None,
        "batch_size": 300,
        "n_bootstrap": 0,
        "ci_level": 0.9,
        "seed": 3,
        "discard_fraction": 0.2,
    }
    assert "knn_method" not in settings_for_estimator(section)
    kwargs = settings_for_estimator(section | {"knn": "blas"})
    assert kwargs["knn_method"] == "blas" and estimate_id(X, **kwargs)["knn_method"] == "blas"


def test_knn_faiss_missing_is_one_clear_error(monkeypatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "faiss", None)  # import faiss -> ImportError
    with pytest.raises(ImportError, match="faiss-cpu"):
        knn_distances(cloud(100), 5, "euclidean", method="faiss")
    with pytest.raises(ImportError, match="faiss-cpu"):
        estimate_id(cloud(100), knn_method="faiss")


def test_knn_auto_is_torch_with_cuda_else_sklearn(monkeypatch) -> None:
    calls = []

    def fake_torch(X, k, metric):
        calls.append("torch")
        return knn_module._knn_sklearn(X, k, metric)

    monkeypatch.setattr(knn_module, "_knn_torch", fake_torch)
    monkeypatch.setattr(knn_module, "_cuda_available", lambda: False)
    knn_distances(cloud(100), 5, "euclidean")
    assert calls == [] and knn_module.resolve_knn_method("auto") == "sklearn"
    monkeypatch.setattr(knn_module, "_cuda_available", lambda: True)
    knn_distances(cloud(100), 5, "euclidean")
    assert calls == ["torch"] and knn_module.resolve_knn_method("auto") == "torch"
    out = estimate_id(cloud(300), metric="euclidean", batch_size=300, n_bootstrap=0)
    assert out["knn_method"] == "auto" and calls == ["torch", "torch"]
    assert knn_module.resolve_knn_method("blas") == "blas"


def test_knn_torch_uses_ieee_float32_matmuls_and_restores_the_setting() -> None:
    torch = pytest.importorskip("torch")
    backend = torch.backends.mkldnn.matmul
    before = backend.fp32_precision
    backend.fp32_precision = "bf16"  # a user's setting: float32 matmuls in bf16 on oneDNN
    try:
        with knn_module.ieee_float32_matmul():
            assert backend.fp32_precision == "ieee"
        assert backend.fp32_precision == "bf16"
        X = cloud(400, ambient=64, latent=8)
        d, _ = knn_distances(X, 10, "cosine", method="torch")
        np.testing.assert_allclose(d, knn_distances(X, 10, "cosine", method="sklearn")[0], rtol=1e-9, atol=1e-15)
        assert backend.fp32_precision == "bf16"
    finally:
        backend.fp32_precision = before


def test_knn_torch_on_cuda_matches_sklearn() -> None:
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    assert knn_module._torch_device().type == "cuda" and knn_module.resolve_knn_method("auto") == "torch"
    rng = np.random.default_rng(3)
    X = np.tanh(rng.standard_normal((3600, 10)) @ rng.standard_normal((10, 768))).astype(np.float32)
    for metric in ("euclidean", "cosine"):
        d, i = knn_distances(X, 20, metric, method="torch")
        d_ref, i_ref = knn_distances(X, 20, metric, method="sklearn")
        np.testing.assert_allclose(d, d_ref, rtol=1e-9, atol=1e-15)
        assert np.mean(i == i_ref) > 0.99
