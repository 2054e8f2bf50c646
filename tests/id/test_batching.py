"""Tests for idscaling.id.protocol: estimate_id (the paper's batched protocol) with every estimator
and neighbour search, de-duplication, near-duplicates, bootstrap, config settings."""

from __future__ import annotations

import json
import logging
import time

import numpy as np
import pytest
from id_points import cloud, require_faiss, sphere

import idscaling.id.knn as knn_module
from idscaling.id.base import combine
from idscaling.id.batching import batch_indices, estimate_id, settings_for_estimator
from idscaling.id.knn import knn_distances
from idscaling.id.mle import MLE, pointwise_mle
from idscaling.id.tle import TLE
from idscaling.id.twonn import TwoNN

EXPECTED_KEYS = {
    "estimator",
    "dimension",
    "ci_low",
    "ci_high",
    "ci_level",
    "k",
    "metric",
    "comb",
    "unbiased",
    "batch_size",
    "n_points_input",
    "n_duplicates_removed",
    "n_points_used",
    "n_batches",
    "batch_estimates",
    "n_bootstrap",
    "seed",
    # estimator-specific settings (None where they do not apply)
    "discard_fraction",
    "twonn_method",
    "epsilon",
    "knn_method",
    # the near-duplicate check
    "n_near_duplicates",
    "near_duplicate_tol",
    "drop_near_duplicates",
}


def test_estimate_id_records_settings_and_is_json() -> None:
    X = cloud(1000).astype(np.float32)
    out = estimate_id(X, k=10, metric="euclidean", comb="median", batch_size=400, n_bootstrap=200, ci_level=0.9, seed=7)
    assert set(out) == EXPECTED_KEYS
    assert out["estimator"] == "mle"
    assert (out["k"], out["metric"], out["comb"], out["batch_size"]) == (10, "euclidean", "median", 400)
    assert (out["n_bootstrap"], out["ci_level"], out["seed"], out["unbiased"]) == (200, 0.9, 7, False)
    assert (out["discard_fraction"], out["twonn_method"], out["epsilon"]) == (None, None, None)
    assert (out["n_near_duplicates"], out["near_duplicate_tol"], out["drop_near_duplicates"]) == (0, 1e-3, False)
    json.dumps(out, allow_nan=False)


def test_estimate_id_removes_and_counts_duplicates() -> None:
    X = cloud(500)
    rng = np.random.default_rng(0)
    Xd = np.vstack([X, X[rng.choice(500, 60, replace=False)], X[:5]])  # 65 duplicate rows
    out = estimate_id(Xd, k=10, metric="euclidean", n_bootstrap=50)
    assert out["n_points_input"] == 565
    assert out["n_duplicates_removed"] == 65
    assert out["n_points_used"] == 500
    # Same points once each -> same single-batch estimate as on the clean data.
    ref = estimate_id(X, k=10, metric="euclidean", n_bootstrap=50)
    assert out["dimension"] == pytest.approx(ref["dimension"], rel=1e-12)


@pytest.mark.parametrize(
    "n, batch_size, k, n_batches, n_used",
    [
        (1000, 300, 10, 3, 900),  # rest 100 < 150: dropped
        (1000, 400, 10, 3, 1000),  # rest 200 >= 200: kept
        (108, 30, 20, 3, 90),  # rest 18 >= 15 but not > k=20: dropped
        (100, 3600, 20, 1, 100),  # fewer than batch_size: one batch of all
        (1200, 400, 10, 3, 1200),  # exact multiple
    ],
)
def test_estimate_id_batching(n: int, batch_size: int, k: int, n_batches: int, n_used: int) -> None:
    out = estimate_id(cloud(n), k=k, metric="euclidean", batch_size=batch_size, n_bootstrap=20)
    assert out["n_batches"] == n_batches == len(out["batch_estimates"])
    assert out["n_points_used"] == n_used
    assert out["dimension"] == pytest.approx(np.mean(out["batch_estimates"]))


def test_estimate_id_single_batch_equals_mle_on_all_points() -> None:
    X = cloud(700)
    out = estimate_id(X, k=20, metric="cosine", comb="mean", n_bootstrap=0)
    ref = MLE(k=20, metric="cosine", comb="mean").fit(X).dimension_
    assert out["dimension"] == pytest.approx(ref, rel=1e-10)
    assert out["ci_low"] is None and out["ci_high"] is None


def test_estimate_id_batches_are_consecutive_chunks_of_the_shuffle() -> None:
    X = cloud(900)
    out = estimate_id(X, k=10, metric="euclidean", batch_size=300, n_bootstrap=0, seed=3)
    order = np.random.default_rng(3).permutation(900)  # no duplicates: keep == arange
    expected = [MLE(k=10).fit(X[order[i : i + 300]]).dimension_ for i in (0, 300, 600)]
    np.testing.assert_allclose(out["batch_estimates"], expected, rtol=1e-10)


def test_estimate_id_too_few_points() -> None:
    X = cloud(30)
    X = np.vstack([X[:15], X[:15]])  # 15 distinct points
    with pytest.raises(ValueError, match=r"k=20.*15"):
        estimate_id(X, k=20)


@pytest.mark.parametrize("comb", ["mle", "mean", "median"])
def test_estimate_id_ci_contains_estimate(comb: str) -> None:
    out = estimate_id(cloud(1500), k=20, comb=comb, batch_size=500, n_bootstrap=300)
    assert out["ci_low"] < out["dimension"] < out["ci_high"]
    assert out["ci_high"] - out["ci_low"] < 0.5 * out["dimension"]


def test_estimate_id_deterministic_for_a_seed() -> None:
    X = cloud(1500)
    a = estimate_id(X, batch_size=500, n_bootstrap=100, seed=1)
    b = estimate_id(X, batch_size=500, n_bootstrap=100, seed=1)
    c = estimate_id(X, batch_size=500, n_bootstrap=100, seed=2)
    assert a == b
    assert a["batch_estimates"] != c["batch_estimates"]


def test_estimate_id_invalid_arguments() -> None:
    X = cloud(200)
    with pytest.raises(ValueError, match="ci_level"):
        estimate_id(X, ci_level=1.5)
    with pytest.raises(ValueError, match="batch_size"):
        estimate_id(X, batch_size=10)
    with pytest.raises(ValueError, match="metric"):
        estimate_id(X, metric="l1")
    with pytest.raises(ValueError, match="2-D"):
        estimate_id(X.ravel())
    with pytest.raises(ValueError, match="near_duplicate_tol"):
        estimate_id(X, near_duplicate_tol=-0.1)
    with pytest.raises(ValueError, match="drop_near_duplicates"):
        estimate_id(X, drop_near_duplicates="yes")
    Z = X.copy()
    Z[3] = 0.0
    with pytest.raises(ValueError, match="1 all-zero rows"):
        estimate_id(Z, metric="cosine")


def test_estimate_id_speed_20000_by_128() -> None:
    # Requirement: < 10 s on 2 cores for 20,000 x 128 float32 with the defaults
    # (measured ~1.3 s: 6 brute-force batches of 3,600, 1,000 bootstrap replicates).
    rng = np.random.default_rng(0)
    X = np.tanh(rng.standard_normal((20000, 16)) @ rng.standard_normal((16, 128))).astype(np.float32)
    t0 = time.perf_counter()
    out = estimate_id(X)
    assert time.perf_counter() - t0 < 10.0
    assert out["n_batches"] == 6 and out["n_points_used"] == 20000


# --- duplicates in the metric's geometry; the same answer from every neighbour search ------------


def test_estimate_id_cosine_same_result_with_every_knn_method_on_rows_equal_up_to_scale() -> None:
    # Rows that are positive multiples of others (2x, x/2: bit-identical unit rows) are
    # duplicates under the cosine metric and removed; rows x (1 + 1e-15) are the same direction
    # up to rounding: either duplicates or, where their unit rows differ in the last digits,
    # near-duplicates at a tiny but nonzero distance. Before, scikit-learn's search put them at
    # exactly 0 and estimate_id refused the data it had de-duplicated (all methods refused the
    # multiples), while the float32-ranked searches returned a tiny distance.
    X = sphere(1500, 5, ambient=30)
    Z = np.vstack([X, 2.0 * X[:5], 0.5 * X[5:10], X[10:18] * (1 + 1e-15)])
    methods = ["sklearn", "blas", "torch"] + (["faiss"] if _has_faiss() else [])
    out = {m: estimate_id(Z, knn_method=m, n_bootstrap=50) for m in methods}
    ref = out["sklearn"]
    assert ref["n_duplicates_removed"] >= 10
    assert ref["n_duplicates_removed"] + ref["n_near_duplicates"] == 18
    for m in methods:
        assert out[m]["n_duplicates_removed"] == ref["n_duplicates_removed"], m
        assert out[m]["n_near_duplicates"] == ref["n_near_duplicates"], m
        assert out[m]["dimension"] == pytest.approx(ref["dimension"], rel=1e-9), m
        assert out[m]["ci_low"] == pytest.approx(ref["ci_low"], rel=1e-9), m
    # dropping the near-duplicates leaves the clean points: the clean estimate
    dropped = estimate_id(Z, n_bootstrap=0, drop_near_duplicates=True)
    assert dropped["n_points_used"] == 1500
    assert dropped["dimension"] == pytest.approx(estimate_id(X, n_bootstrap=0)["dimension"], rel=1e-9)


def _has_faiss() -> bool:
    try:
        import faiss  # noqa: F401
    except ImportError:
        return False
    return True


# --- near-duplicates: reported, optionally dropped -------------------------------------------------


def _s8_with_near_duplicates(n: int = 3000, jitter: float = 1e-6) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """S^8 and the same points plus jittered copies of 10% of them (appended after the originals)."""
    X = sphere(n, 8, ambient=20)
    rng = np.random.default_rng(1)
    src = rng.choice(n, n // 10, replace=False)
    copies = X[src] + jitter * rng.standard_normal((src.size, X.shape[1]))
    return X, np.vstack([X, copies]), src


def test_estimate_id_near_duplicates_reported_and_dropped_one_batch(caplog) -> None:
    # Measured (cosine MLE, one batch): clean 3.72 [3.69, 3.75]; with 10% jittered copies
    # 2.03 (comb="median": 3.57); with the copies dropped the clean value again.
    X, Xn, src = _s8_with_near_duplicates()
    clean = estimate_id(X, n_bootstrap=300)
    assert clean["n_near_duplicates"] == 0
    with caplog.at_level(logging.WARNING, logger="idscaling.id.batching"):
        kept = estimate_id(Xn, n_bootstrap=300)
    assert kept["n_near_duplicates"] == src.size == 300 and kept["n_points_used"] == 3300
    assert kept["dimension"] < clean["ci_low"] - 1.0  # the harm being reported
    assert any(
        "300 of 3300 points" in r.getMessage() and "near-duplicates" in r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING
    )
    dropped = estimate_id(Xn, n_bootstrap=300, drop_near_duplicates=True)
    assert dropped["n_near_duplicates"] == 300 and dropped["n_points_used"] == 3000
    assert clean["ci_low"] <= dropped["dimension"] <= clean["ci_high"]
    assert dropped["dimension"] == pytest.approx(clean["dimension"], rel=1e-9)  # the same 3,000 points


def test_estimate_id_near_duplicates_counted_within_batches() -> None:
    # Several batches: a copy is a near-duplicate only if its original landed in the same batch.
    X, Xn, src = _s8_with_near_duplicates()
    batch_size = 1100
    batches, _ = batch_indices(Xn, batch_size=batch_size, k=20, seed=0)
    batch_of = np.full(len(Xn), -1)
    for b, rows in enumerate(batches):
        batch_of[rows] = b
    expected = int(np.sum((batch_of[src] == batch_of[3000 + np.arange(src.size)]) & (batch_of[src] >= 0)))
    assert 50 < expected < 250
    kept = estimate_id(Xn, batch_size=batch_size, n_bootstrap=0)
    assert kept["n_near_duplicates"] == expected
    clean = estimate_id(X, batch_size=batch_size, n_bootstrap=300)
    dropped = estimate_id(Xn, batch_size=batch_size, n_bootstrap=300, drop_near_duplicates=True)
    assert dropped["n_near_duplicates"] == expected
    assert dropped["n_points_used"] == kept["n_points_used"] - expected
    assert kept["dimension"] < clean["ci_low"]
    assert clean["ci_low"] <= dropped["dimension"] <= clean["ci_high"]


# --- every estimator ---------------------------------------------------------------------------


@pytest.mark.parametrize("estimator", ["mle", "twonn", "tle"])
def test_estimate_id_single_batch_equals_the_estimator(estimator: str) -> None:
    X = cloud(700)
    out = estimate_id(X, estimator=estimator, metric="euclidean", n_bootstrap=0)
    ref = {"mle": MLE(), "twonn": TwoNN(), "tle": TLE()}[estimator].fit(X).dimension_
    assert out["dimension"] == pytest.approx(ref, rel=1e-10)
    assert out["estimator"] == estimator


def test_estimate_id_batches_are_shared_by_all_estimators() -> None:
    X = cloud(900)
    batches, n_unique = batch_indices(X, batch_size=300, k=2, seed=3)
    assert n_unique == 900 and [b.size for b in batches] == [300, 300, 300]
    out = estimate_id(
        X,
        estimator="twonn",
        metric="cosine",
        batch_size=300,
        n_bootstrap=0,
        seed=3,
        discard_fraction=0.2,
        twonn_method="mle",
    )
    expected = [TwoNN(discard_fraction=0.2, metric="cosine", method="mle").fit(X[b]).dimension_ for b in batches]
    np.testing.assert_allclose(out["batch_estimates"], expected, rtol=1e-10)
    out = estimate_id(
        X, estimator="tle", metric="euclidean", k=10, comb="median", batch_size=300, n_bootstrap=0, seed=3, epsilon=1e-3
    )
    expected = [TLE(k=10, comb="median", epsilon=1e-3).fit(X[b]).dimension_ for b in batches]
    np.testing.assert_allclose(out["batch_estimates"], expected, rtol=1e-10)


def test_estimate_id_records_estimator_settings() -> None:
    X = cloud(600)
    tw = estimate_id(X, estimator="twonn", n_bootstrap=10, discard_fraction=0.05, twonn_method="mle")
    assert set(tw) == EXPECTED_KEYS
    assert (tw["k"], tw["comb"], tw["unbiased"], tw["epsilon"]) == (2, None, None, None)
    assert (tw["discard_fraction"], tw["twonn_method"]) == (0.05, "mle")
    tl = estimate_id(X, estimator="tle", metric="euclidean", n_bootstrap=10)
    assert (tl["k"], tl["comb"], tl["epsilon"], tl["discard_fraction"], tl["unbiased"]) == (
        20,
        "mean",
        1e-4,
        None,
        None,
    )
    ml = estimate_id(X, n_bootstrap=10)  # the paper's defaults
    assert (ml["estimator"], ml["k"], ml["metric"], ml["comb"], ml["unbiased"]) == ("mle", 20, "cosine", "mle", False)
    for out in (tw, tl, ml):
        json.dumps(out, allow_nan=False)


def test_estimate_id_rejects_settings_that_do_not_apply() -> None:
    X = cloud(300)
    with pytest.raises(ValueError, match="estimator"):
        estimate_id(X, estimator="lpca")
    with pytest.raises(ValueError, match="k does not apply"):
        estimate_id(X, estimator="twonn", k=10)
    with pytest.raises(ValueError, match="comb does not apply"):
        estimate_id(X, estimator="twonn", comb="mle")
    with pytest.raises(ValueError, match="unbiased"):
        estimate_id(X, estimator="tle", metric="euclidean", unbiased=True)
    with pytest.raises(ValueError, match="twonn_method"):
        estimate_id(X, estimator="twonn", twonn_method="ols")
    with pytest.raises(ValueError, match="discard_fraction"):
        estimate_id(X, estimator="twonn", discard_fraction=1.0)


@pytest.mark.parametrize("estimator", ["mle", "twonn", "tle"])
def test_estimate_id_ci_contains_estimate_and_narrows_with_more_points(estimator: str) -> None:
    # Same batch size, 4x the batches: the batch mean's spread shrinks ~2x (sqrt(4)).
    # Observed width ratios ~0.45-0.55; 0.75 leaves room for the bootstrap's own noise.
    X = cloud(4000, seed=9)
    small = estimate_id(X[:1000], estimator=estimator, metric="euclidean", batch_size=500, n_bootstrap=300)
    large = estimate_id(X, estimator=estimator, metric="euclidean", batch_size=500, n_bootstrap=300)
    for out in (small, large):
        assert out["ci_low"] < out["dimension"] < out["ci_high"]
    assert large["ci_high"] - large["ci_low"] < 0.75 * (small["ci_high"] - small["ci_low"])


def test_estimate_id_speed_mle_3600_by_768() -> None:
    # One batch of the paper's size at GPT-2 width, float32, with the float32 BLAS search and
    # float64 refinement (measured ~0.5 s on 2 cores; scikit-learn's float32 brute force
    # ~1.0 s). Generous bound: only catches a fall back to a slow path.
    rng = np.random.default_rng(0)
    X = np.tanh(rng.standard_normal((3600, 8)) @ rng.standard_normal((8, 768))).astype(np.float32)
    t0 = time.perf_counter()
    out = estimate_id(X, metric="euclidean", n_bootstrap=0, knn_method="blas")
    assert time.perf_counter() - t0 < 4.0
    assert knn_module.last_knn_fallback_rows == 0
    ref = MLE(k=20).fit(X.astype(np.float64))  # same search on float64 input
    d_ref, _ = knn_distances(X.astype(np.float64), 20, "euclidean", method="sklearn")
    assert out["dimension"] == pytest.approx(combine(pointwise_mle(d_ref), "mle"), rel=1e-8)
    assert ref.dimension_ == pytest.approx(out["dimension"], rel=1e-12)


def test_estimate_id_parallel_batches_change_nothing() -> None:
    X = cloud(2400, ambient=40, latent=7, seed=11)
    for estimator in ("mle", "twonn", "tle"):
        metric = "euclidean" if estimator == "tle" else "cosine"
        one = estimate_id(X, estimator=estimator, metric=metric, batch_size=600, n_bootstrap=50, n_jobs=1)
        two = estimate_id(X, estimator=estimator, metric=metric, batch_size=600, n_bootstrap=50, n_jobs=2)
        np.testing.assert_allclose(two["batch_estimates"], one["batch_estimates"], rtol=1e-12)
        assert two["ci_low"] == pytest.approx(one["ci_low"], rel=1e-12)
    with pytest.raises(ValueError, match="n_jobs"):
        estimate_id(X, n_jobs=0)


def test_settings_for_estimator_follow_the_config_section() -> None:
    section = {
        "estimator": "mle",
        "k": 7,
        "metric": "euclidean",
        "comb": None,
        "batch_size": 500,
        "n_bootstrap": 10,
        "ci_level": 0.9,
        "seed": 3,
        "discard_fraction": 0.2,
    }
    X = cloud(600)
    for estimator in ("mle", "tle", "twonn"):
        kwargs = settings_for_estimator(section | {"estimator": estimator})
        assert ("k" in kwargs) == (estimator != "twonn") and ("discard_fraction" in kwargs) == (estimator == "twonn")
        out = estimate_id(X, **kwargs)
        assert out["estimator"] == estimator and out["batch_size"] == 500 and out["seed"] == 3
        assert out["k"] == (2 if estimator == "twonn" else 7)
    assert "drop_near_duplicates" not in settings_for_estimator(section)
    kwargs = settings_for_estimator(section | {"drop_near_duplicates": True, "near_duplicate_tol": 1e-4})
    out = estimate_id(X, **kwargs)
    assert (out["drop_near_duplicates"], out["near_duplicate_tol"]) == (True, 1e-4)


# --- the same estimate with every neighbour search -----------------------------------------------


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_estimate_id_knn_faiss_equals_default(metric: str) -> None:
    require_faiss()
    rng = np.random.default_rng(2)
    X = np.tanh(rng.standard_normal((2500, 8)) @ rng.standard_normal((8, 96))).astype(np.float32)
    X = np.vstack([X, X[:7]])
    for estimator in ("mle", "twonn", "tle") if metric == "euclidean" else ("mle", "twonn"):
        ref = estimate_id(X, estimator=estimator, metric=metric, batch_size=600, n_bootstrap=50)
        for n_jobs in (1, 2):  # n_jobs=2: faiss single-threaded in each worker thread
            out = estimate_id(
                X, estimator=estimator, metric=metric, batch_size=600, n_bootstrap=50, knn_method="faiss", n_jobs=n_jobs
            )
            assert out["knn_method"] == "faiss" and ref["knn_method"] == "auto"
            np.testing.assert_allclose(out["batch_estimates"], ref["batch_estimates"], rtol=1e-9)
            assert out["dimension"] == pytest.approx(ref["dimension"], rel=1e-9)
            assert out["ci_low"] == pytest.approx(ref["ci_low"], rel=1e-9)


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_estimate_id_knn_torch_equals_default(metric: str) -> None:
    rng = np.random.default_rng(2)
    X = np.tanh(rng.standard_normal((2500, 8)) @ rng.standard_normal((8, 96))).astype(np.float32)
    X = np.vstack([X, X[:7]])
    for estimator in ("mle", "twonn", "tle") if metric == "euclidean" else ("mle", "twonn"):
        ref = estimate_id(X, estimator=estimator, metric=metric, batch_size=600, n_bootstrap=50, knn_method="sklearn")
        for n_jobs in (1, 2):
            out = estimate_id(
                X, estimator=estimator, metric=metric, batch_size=600, n_bootstrap=50, knn_method="torch", n_jobs=n_jobs
            )
            assert out["knn_method"] == "torch"
            np.testing.assert_allclose(out["batch_estimates"], ref["batch_estimates"], rtol=1e-9)
            assert out["dimension"] == pytest.approx(ref["dimension"], rel=1e-9)
            assert out["ci_low"] == pytest.approx(ref["ci_low"], rel=1e-9)
