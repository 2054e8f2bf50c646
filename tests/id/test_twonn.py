"""Tests for idscaling.id.twonn: TwoNN against skdim, its closed forms and degenerate inputs."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from id_points import cloud, sphere
from sklearn.neighbors import NearestNeighbors

from idscaling.id.twonn import TwoNN, twonn_dimension


def _skdim_twonn_methods(skdim) -> list[str]:
    return ["linear", "mle"] if "method" in inspect.signature(skdim.id.TwoNN).parameters else ["linear"]


@pytest.mark.parametrize("discard_fraction", [0.0, 0.1, 0.3])
@pytest.mark.parametrize("ambient", [12, 40])  # skdim: k-NN search <= 25 features, full distance matrix above
def test_twonn_matches_skdim(discard_fraction: float, ambient: int) -> None:
    skdim = pytest.importorskip("skdim")
    X = cloud(700, ambient=ambient)
    for method in _skdim_twonn_methods(skdim):
        if method == "linear" and discard_fraction == 0.0:
            # F_emp reaches 1 at the largest ratio: -log(0) (skdim's LinearRegression raises on inf)
            with pytest.raises(ValueError, match="discard_fraction > 0"):
                TwoNN(discard_fraction=0.0).fit(X)
            continue
        ref = skdim.id.TwoNN(discard_fraction=discard_fraction, method=method).fit(X).dimension_
        ours = TwoNN(discard_fraction=discard_fraction, method=method).fit(X).dimension_
        assert ours == pytest.approx(ref, rel=1e-6), method


def test_twonn_cosine_matches_skdim_on_precomputed_distances() -> None:
    # skdim's TwoNN has no metric; its documented equivalent is dist=True with the
    # (r1, r2) columns of each point's first two neighbour distances, here scikit-learn's cosine.
    skdim = pytest.importorskip("skdim")
    X = cloud(700, seed=4)
    dists, _ = NearestNeighbors(n_neighbors=2, metric="cosine", algorithm="brute").fit(X).kneighbors()
    for method in _skdim_twonn_methods(skdim):
        ref = skdim.id.TwoNN(dist=True, method=method).fit(dists).dimension_
        ours = TwoNN(metric="cosine", method=method).fit(X).dimension_
        assert ours == pytest.approx(ref, rel=1e-6), method


def test_twonn_formula_by_hand() -> None:
    mu = np.exp(np.array([0.1, 0.2, 0.4, 0.8, 5.0]))
    # discard 20%: keep 4 of N=5; x = log mu, y = -log(1 - i/5)
    x = np.array([0.1, 0.2, 0.4, 0.8])
    y = -np.log(1 - np.arange(1, 5) / 5)
    assert twonn_dimension(mu, 0.2) == pytest.approx(np.sum(x * y) / np.sum(x * x))
    assert twonn_dimension(mu, 0.2, "mle") == pytest.approx(3 / (x.sum() + 1 * 0.8))
    with pytest.raises(ValueError, match="fewer than 2"):
        twonn_dimension(mu[:2], 0.5)
    with pytest.raises(ValueError, match="discard_fraction"):
        twonn_dimension(mu, 1.0)


@pytest.mark.parametrize("method", ["linear", "mle"])
def test_twonn_cosine_is_exactly_half_on_unit_vectors(method: str) -> None:
    # For unit vectors 1 - cos = chord^2 / 2, so mu_cos = mu_euc^2 and log mu doubles:
    # both fits give exactly half the Euclidean estimate.
    X = sphere(1500, 4)
    euc = TwoNN(method=method).fit(X).dimension_
    cos = TwoNN(metric="cosine", method=method).fit(X).dimension_
    assert cos == pytest.approx(euc / 2, rel=1e-9)


def test_twonn_degenerate_inputs() -> None:
    X = cloud(200)
    with pytest.raises(ValueError, match="[Dd]eduplicate"):
        TwoNN().fit(np.vstack([X, X[:1]]))
    with pytest.raises(ValueError, match="method"):
        TwoNN(method="ols").fit(X)
    with pytest.raises(ValueError, match="discard_fraction"):
        TwoNN(discard_fraction=-0.1).fit(X)
    # square lattice: every point's first two neighbours are equidistant
    g = np.stack(np.meshgrid(np.arange(6.0), np.arange(6.0)), -1).reshape(-1, 2)
    with pytest.raises(ValueError, match="equidistant"):
        TwoNN().fit(g)
    assert TwoNN().get_params() == {"discard_fraction": 0.1, "metric": "euclidean", "method": "linear"}
