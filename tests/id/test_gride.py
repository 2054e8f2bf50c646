"""GRIDE (idscaling.id.gride): the same numbers as DADApy 0.3.4, the known answers of its
likelihood, the dimensions of manifolds of known dimension, and the scale curve moving from the
noise's dimension to the manifold's on a noisy plane.

DADApy 0.3.4 (the only release) requires numpy < 2, so it cannot live in the project's venv
(numpy 2.4); its numbers on the data sets below are stored here (``DADAPY``), produced with

    python -m venv /tmp/dadapy-venv && /tmp/dadapy-venv/bin/pip install dadapy==0.3.4 pytest
    PYTHONPATH=src /tmp/dadapy-venv/bin/python -m pytest -q -p no:cacheprovider tests/id/test_gride.py

under which ``test_equals_dadapy_live`` also runs DADApy itself on the same points and checks
it still gives the stored numbers.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import integrate, optimize, stats

from idscaling.id.batching import batch_indices, estimate_id, settings_for_estimator
from idscaling.id.gride import (
    GRIDE,
    gride_error,
    gride_from_distances,
    gride_loglik,
    gride_mle,
    gride_ratios,
    gride_scale_curve,
)
from idscaling.id.knn import knn_distances
from idscaling.id.twonn import twonn_dimension

RANGE_MAX = 128


def _sphere(n: int, d: int, D: int, seed: int, rotate: bool = False) -> np.ndarray:
    """n points uniform on the unit sphere S^d, in the first d + 1 of D coordinates (or
    rotated into R^D)."""
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, d + 1))
    Z /= np.linalg.norm(Z, axis=1, keepdims=True)
    if rotate:
        Q, _ = np.linalg.qr(rng.standard_normal((D, d + 1)))
        return Z @ Q.T
    return np.hstack([Z, np.zeros((n, D - d - 1))])


def _datasets() -> dict[str, np.ndarray]:
    return {
        "sphere4": _sphere(1000, 4, 10, 0),
        "gauss3": np.random.default_rng(1).standard_normal((800, 3)),
        # a segment in R^3: dimension 1, where DADApy's outlier filter drops ratios at n1 = 1
        "line": np.random.default_rng(3).random((3000, 1)) * np.array([[1.0, 2.0, -1.0]]),
    }


# Data(X, maxk=10).return_id_scaling_gride(range_max=128) of DADApy 0.3.4 (numpy 1.26.4):
# dimensions, errors and rs_scaling at n1 = 1, 2, 4, ..., 64 (n2 = 2 n1).
DADAPY = {
    "sphere4": (
        [3.82099159, 4.06833275, 3.95706188, 3.92636004, 3.92007944, 3.82620211, 3.71154355],
        [0.120830364, 0.0927656235, 0.0639189342, 0.0448304033, 0.0316417828, 0.0218277111, 0.0149693926],
        [0.278018155, 0.343694847, 0.415879679, 0.500340697, 0.599666363, 0.718893176, 0.865300446],
    ),
    "gauss3": (
        [2.79353119, 3.25321619, 3.13599143, 3.06713684, 3.05012002, 3.02447404, 2.868986],
        [0.0987662424, 0.0829353355, 0.0566360941, 0.0391569679, 0.0275262075, 0.0192953333, 0.0129409728],
        [0.314049886, 0.408196122, 0.515711537, 0.647789746, 0.810660304, 1.01269034, 1.27265042],
    ),
    "line": (
        [1.01035484, 1.00577943, 0.998317918, 0.990775843, 0.995527504, 1.00659713, 0.988931535],
        [0.0184464713, 0.0132352733, 0.00931282409, 0.00653201661, 0.00463889525, 0.00331525478, 0.00230290194],
        [0.000610353923, 0.00122735289, 0.00244760505, 0.00491589397, 0.00989866995, 0.019774842, 0.0397057005],
    ),
}


def _compare_with_dadapy(curve: list[dict], n_points: int, dims, errs, scales) -> None:
    assert [c["n1"] for c in curve] == [2**i for i in range(len(dims))]
    assert [c["n2"] for c in curve] == [2 ** (i + 1) for i in range(len(dims))]
    np.testing.assert_allclose([c["dimension"] for c in curve], dims, rtol=1e-4)
    np.testing.assert_allclose([c["scale"] for c in curve], scales, rtol=1e-4)
    # The error: DADApy evaluates the Fisher information on all ratios, ours on those fitted,
    # so they agree where the outlier filter dropped nothing (all but the line's n1 = 1).
    kept = np.array([c["n_ratios"] == n_points for c in curve])
    np.testing.assert_allclose(np.array([c["error"] for c in curve])[kept], np.asarray(errs)[kept], rtol=1e-4)
    return kept


@pytest.mark.parametrize("name", sorted(DADAPY))
def test_scale_curve_equals_dadapy(name):
    X = _datasets()[name]
    curve = GRIDE(range_max=RANGE_MAX).fit(X).scale_curve_
    kept = _compare_with_dadapy(curve, len(X), *DADAPY[name])
    if name == "line":
        # the filter is active there (Pareto(1) ratios have a heavy tail): some ratios dropped at
        # n1 = 1 exactly as DADApy does, or the dimension would not agree
        assert not kept[0] and curve[0]["n_ratios"] < len(X) and kept[1:].all()
    else:
        assert kept.all()


@pytest.mark.parametrize("name", sorted(DADAPY))
def test_equals_dadapy_live(name):
    """DADApy itself on the same points (where it is installed, see the module docstring):
    the same numbers as ours and as the stored ones. DADApy's neighbour ranks: column 0 of its
    sorted distance matrix is the point itself, so its ranks 1, 2, 4, ... are the nearest other
    points, as ours; its bisection runs on [0.001, 1000] to 1e-7, far inside the tolerance."""
    dadapy = pytest.importorskip("dadapy")
    X = _datasets()[name]
    dims, errs, scales = dadapy.Data(X.copy(), maxk=10).return_id_scaling_gride(range_max=RANGE_MAX)
    np.testing.assert_allclose(dims, DADAPY[name][0], rtol=1e-6)
    np.testing.assert_allclose(errs, DADAPY[name][1], rtol=1e-6)
    distances, _ = knn_distances(X, RANGE_MAX, "euclidean")
    _compare_with_dadapy(gride_scale_curve(distances), len(X), dims, errs, scales)


# ------------------------------------------------------------------------------------------
# the likelihood's known answers
# ------------------------------------------------------------------------------------------


def _beta_ratios(d: float, n1: int, n2: int, size: int, seed: int) -> np.ndarray:
    """Ratios drawn from GRIDE's own model: (r_n1 / r_n2)^d ~ Beta(n1, n2 - n1)."""
    return stats.beta(n1, n2 - n1).rvs(size=size, random_state=np.random.default_rng(seed)) ** (-1.0 / d)


def test_n1_1_n2_2_is_the_closed_form_pareto_estimate():
    """At (1, 2) the GRIDE likelihood is the Pareto(1, d) likelihood of TwoNN, maximised by
    N / sum(log mu); DADApy's N - 1 variant is the project's TwoNN 'mle' without discarding."""
    mu = gride_ratios(knn_distances(_sphere(500, 3, 6, 5), 2, "euclidean")[0], 1, 2)
    x_sum = np.sum(np.log(mu))
    assert gride_mle(mu, 1, 2, unbiased=False, outlier_filter=False) == len(mu) / x_sum
    assert gride_mle(mu, 1, 2, outlier_filter=False) == (len(mu) - 1) / x_sum
    assert gride_mle(mu, 1, 2, outlier_filter=False) == pytest.approx(
        twonn_dimension(mu, discard_fraction=0.0, method="mle"), rel=1e-12
    )
    # the Pareto error at the MLE: d / sqrt(N)
    d = len(mu) / x_sum
    assert gride_error(d, mu, 1, 2) == pytest.approx(d / np.sqrt(len(mu)), rel=1e-12)


@pytest.mark.parametrize(("n1", "n2"), [(1, 2), (2, 4), (3, 7), (8, 16)])
def test_likelihood_is_a_density_and_the_estimate_maximises_it(n1, n2):
    d = 3.7
    mass, _ = integrate.quad(lambda m: np.exp(gride_loglik(d, [m], n1, n2)), 1.0, np.inf)
    assert mass == pytest.approx(1.0, abs=1e-7)
    mu = _beta_ratios(d, n1, n2, 400, seed=n1)
    best = optimize.minimize_scalar(
        lambda t: -gride_loglik(t, mu, n1, n2), bounds=(0.1, 50.0), method="bounded", options={"xatol": 1e-10}
    )
    assert gride_mle(mu, n1, n2, unbiased=False, outlier_filter=False) == pytest.approx(best.x, rel=1e-7)
    # the observed Fisher information is minus the curvature of the log-likelihood at the maximum
    h = 1e-3 * best.x
    curvature = (
        gride_loglik(best.x + h, mu, n1, n2)
        - 2 * gride_loglik(best.x, mu, n1, n2)
        + gride_loglik(best.x - h, mu, n1, n2)
    ) / h**2
    assert gride_error(best.x, mu, n1, n2) == pytest.approx((-curvature) ** -0.5, rel=1e-5)


def test_estimate_and_error_bar_on_the_model_distribution():
    """200 samples of 1,000 ratios from the model at d = 6, (n1, n2) = (4, 8): the estimates
    centre on 6 and their spread is the reported error (within the sampling error of a standard
    deviation from 200 values, ~5%; 12% allowed)."""
    fits = [gride_from_distances_like(_beta_ratios(6.0, 4, 8, 1000, seed), 4, 8) for seed in range(200)]
    dims, errs = np.array(fits).T
    assert abs(dims.mean() - 6.0) < 3 * dims.std() / np.sqrt(len(dims))
    assert dims.std() == pytest.approx(errs.mean(), rel=0.12)


def gride_from_distances_like(mu: np.ndarray, n1: int, n2: int) -> tuple[float, float]:
    d = gride_mle(mu, n1, n2)
    return d, gride_error(d, mu, n1, n2)


# ------------------------------------------------------------------------------------------
# data of known dimension
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("d", "tol"), [(2, 0.15), (5, 0.4)])
def test_sphere_dimension(d, tol):
    """S^d rotated into R^20, 2,000 points. Over seeds 0-4 the estimates at n1 = 1, 2, 4 lay
    within 0.06 of d (d = 2) and 0.23 (d = 5), about twice the reported error bar; the
    tolerance is ~2x that spread, and 4 error bars."""
    g = GRIDE(range_max=16).fit(_sphere(2000, d, 20, seed=0, rotate=True))
    assert abs(g.dimension_ - d) < min(tol, 4 * g.dimension_err_)
    for point in g.scale_curve_[:3]:
        assert abs(point["dimension"] - d) < tol
    assert g.dimension_err_ == pytest.approx(d / np.sqrt(2000), rel=0.2)  # ~d / sqrt(N) at (1, 2)


def test_cube_dimension():
    """Uniform in [0, 1]^3 rotated into R^20, 2,000 points: at n1 = 1 seeds 0-4 gave 2.83-3.02
    (the faces pull larger ranks down, to ~2.8 at n1 = 8); tolerance 0.25."""
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((20, 3)))
    assert GRIDE(range_max=2).fit(rng.random((2000, 3)) @ Q.T).dimension_ == pytest.approx(3.0, abs=0.25)


def test_cosine_halves_the_dimension_exactly_on_unit_rows():
    """On unit rows 1 - cos = |u - v|^2 / 2, so every ratio is squared and, the score being
    homogeneous in d log mu, every GRIDE estimate is exactly halved. Without the outlier filter:
    its threshold median + 20 (q95 - median) is not invariant under squaring (here it drops 2
    of the 1,500 squared ratios at n1 = 1 and none of the Euclidean ones, a 1% change)."""
    X = _sphere(1500, 3, 8, seed=2, rotate=True)
    euclid = GRIDE(range_max=32, outlier_filter=False).fit(X)
    cosine = GRIDE(range_max=32, metric="cosine", outlier_filter=False).fit(X)
    assert cosine.dimension_ == pytest.approx(euclid.dimension_ / 2, rel=1e-9)
    np.testing.assert_allclose(
        [c["dimension"] for c in cosine.scale_curve_], [c["dimension"] / 2 for c in euclid.scale_curve_], rtol=1e-9
    )


def test_estimator_agrees_with_its_functions_and_other_ranks():
    X = _sphere(800, 3, 7, seed=4, rotate=True)
    g = GRIDE(n1=3, n2=5, range_max=16).fit(X)
    distances, _ = knn_distances(X, 16, "euclidean")
    assert (g.dimension_, g.dimension_err_) == pytest.approx(gride_from_distances(distances, 3, 5), rel=1e-12)
    np.testing.assert_array_equal(g.mu_, distances[:, 4] / distances[:, 2])
    assert g.scale_curve_ == gride_scale_curve(distances, 16)
    assert [c["n1"] for c in g.scale_curve_] == [1, 2, 4, 8]
    scales = [c["scale"] for c in g.scale_curve_]
    assert scales == sorted(scales)
    # range_max is capped by the neighbours available: 40 points have 39, so n2 <= 32
    assert [c["n2"] for c in GRIDE(range_max=64).fit(X[:40]).scale_curve_] == [2, 4, 8, 16, 32]


# ------------------------------------------------------------------------------------------
# the scale curve's reason to exist
# ------------------------------------------------------------------------------------------


def _noisy_plane(noise: float, seed: int) -> np.ndarray:
    """4,000 points uniform on a 10 x 10 square in R^10, plus isotropic Gaussian noise."""
    rng = np.random.default_rng(seed)
    X = np.zeros((4000, 10))
    X[:, :2] = 10.0 * rng.random((4000, 2))
    return X + noise * rng.standard_normal(X.shape)


def test_scale_curve_moves_from_the_noise_dimension_to_the_plane():
    """A plane in R^10 with noise of s.d. 0.1 (in-plane spacing ~0.16): below the noise scale the
    neighbours spread in all 10 directions, above it they lie on the plane. Over seeds 0-4 the
    curve fell at every step, from 7.70-7.81 at n1 = 1 to 2.02-2.05 at n1 = 128. Without the
    noise the same points give 1.84-2.07 at every rank (the square's edges pull the largest
    ranks down), so the high small-scale value is the noise's."""
    curve = GRIDE(range_max=256).fit(_noisy_plane(0.1, seed=0)).scale_curve_
    dims = np.array([c["dimension"] for c in curve])
    errs = np.array([c["error"] for c in curve])
    assert [c["n1"] for c in curve] == [1, 2, 4, 8, 16, 32, 64, 128]
    assert dims[0] > 7.0
    assert dims[-1] == pytest.approx(2.0, abs=0.2)
    assert np.all(np.diff(dims) < -2 * errs[1:])  # falls at every step, beyond the error bars
    clean = GRIDE(range_max=256).fit(_noisy_plane(0.0, seed=0)).scale_curve_
    assert all(abs(c["dimension"] - 2.0) < 0.25 for c in clean)


# ------------------------------------------------------------------------------------------
# the batched protocol
# ------------------------------------------------------------------------------------------


def test_estimate_id_gride_is_the_mean_of_the_batches():
    """estimate_id(estimator="gride"): GRIDE on each batch of the protocol, averaged; the scale
    curve averaged point by point with the error of a mean of independent estimates; the
    interval the Wald interval from those errors."""
    X = _sphere(2500, 3, 12, seed=6, rotate=True)
    out = estimate_id(
        X, estimator="gride", metric="euclidean", batch_size=1000, gride_n1=2, gride_range_max=32, seed=3, n_jobs=1
    )
    batches, _ = batch_indices(X, batch_size=1000, k=32, seed=3, metric="euclidean")
    assert out["n_batches"] == len(batches) == 3 and out["n_points_used"] == 2500  # last batch of 500 kept
    fits = [GRIDE(n1=2, range_max=32).fit(X[rows]) for rows in batches]
    assert out["dimension"] == pytest.approx(np.mean([g.dimension_ for g in fits]), rel=1e-12)
    assert out["batch_estimates"] == pytest.approx([g.dimension_ for g in fits], rel=1e-12)
    assert out["dimension"] == pytest.approx(3.0, abs=0.15)
    se = np.sqrt(sum(g.dimension_err_**2 for g in fits)) / 3
    assert (out["ci_low"], out["ci_high"]) == pytest.approx(
        (out["dimension"] - stats.norm.ppf(0.975) * se, out["dimension"] + stats.norm.ppf(0.975) * se), rel=1e-12
    )
    assert [c["n1"] for c in out["scale_curve"]] == [1, 2, 4, 8, 16]
    for i, point in enumerate(out["scale_curve"]):
        batch_points = [g.scale_curve_[i] for g in fits]
        assert point["dimension"] == pytest.approx(np.mean([p["dimension"] for p in batch_points]), rel=1e-12)
        assert point["scale"] == pytest.approx(np.mean([p["scale"] for p in batch_points]), rel=1e-12)
        assert point["error"] == pytest.approx(np.sqrt(sum(p["error"] ** 2 for p in batch_points)) / 3, rel=1e-12)
        assert point["n_ratios"] == 2500
    assert (out["k"], out["gride_n1"], out["gride_range_max"], out["comb"], out["n_bootstrap"]) == (
        32,
        2,
        32,
        None,
        None,
    )
    assert "scale_curve" not in estimate_id(X, estimator="mle", metric="euclidean", n_bootstrap=0)
    json.dumps(out, allow_nan=False)


def test_settings_for_gride_pass_its_ranks_and_no_k():
    settings = {
        "estimator": "gride",
        "metric": "euclidean",
        "batch_size": 3600,
        "n_bootstrap": 0,
        "ci_level": 0.9,
        "seed": 1,
        "k": 20,
        "comb": None,
        "discard_fraction": 0.1,
        "gride_n1": 4,
    }
    kwargs = settings_for_estimator(settings)
    assert kwargs["gride_n1"] == 4 and "k" not in kwargs and "comb" not in kwargs
    assert "gride_range_max" not in kwargs and "discard_fraction" not in kwargs


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"k": 20}, "k does not apply to gride"),
        ({"comb": "mle"}, "comb does not apply to gride"),
        ({"gride_n1": 0}, "gride_n1 must be an integer >= 1"),
        ({"gride_range_max": 1}, "gride_range_max must be an integer >= 2"),
        ({"gride_range_max": 200}, "batch_size must be an integer > k=200"),
    ],
)
def test_estimate_id_gride_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        estimate_id(_sphere(300, 2, 3, 0), estimator="gride", batch_size=150, **kwargs)


# ------------------------------------------------------------------------------------------
# bad input
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"n1": 0}, "n1 must be an integer >= 1"),
        ({"n1": 2, "n2": 2}, "n2 must be larger than n1"),
        ({"n1": 1.5}, "n1 must be an integer"),
        ({"range_max": 1}, "range_max must be an integer >= 2"),
        ({"metric": "manhattan"}, "metric must be one of"),
        ({"n1": 20}, "need more than n2=40 points"),
    ],
)
def test_bad_parameters(params, message):
    with pytest.raises(ValueError, match=message):
        GRIDE(**params).fit(_sphere(30, 2, 3, 0))


def test_bad_points_and_ratios():
    X = _sphere(50, 2, 3, 0)
    with pytest.raises(ValueError, match="NaN or inf"):
        GRIDE().fit(np.vstack([X, [np.nan, 0.0, 0.0]]))
    with pytest.raises(ValueError, match="nearest-neighbour distance of 0"):
        GRIDE().fit(np.vstack([X, X[:1]]))
    with pytest.raises(ValueError, match="must be 2-D"):
        GRIDE().fit(X[:, 0])
    with pytest.raises(ValueError, match="must be >= 1"):
        gride_mle([1.5, 0.9, 2.0])
    with pytest.raises(ValueError, match="every ratio mu is 1"):
        gride_mle(np.ones(10), 1, 3)
    with pytest.raises(ValueError, match="at least 2 ratios"):
        gride_mle([1.5])
    with pytest.raises(ValueError, match="d must be a positive"):
        gride_loglik(-1.0, [1.5, 2.0])
    with pytest.raises(ValueError, match="at least 4 neighbours"):
        gride_ratios(np.ones((10, 3)), 2)
