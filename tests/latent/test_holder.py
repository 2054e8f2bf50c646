"""Tests of the beta-Hölder latent teacher (idscaling.holder_teacher): its smoothness is beta (the
increments scale as |h|^beta over decades of h), the family of distributions has dimension k, and
it plugs into the latent source like the default teacher."""

from __future__ import annotations

import numpy as np
import pytest

from idscaling.corpus.sources import iter_documents
from idscaling.id.mle import MLE
from idscaling.latent import holder as holder_teacher
from idscaling.latent.documents import (
    generate_documents,
    pseudo_words,
    source_points,
    teacher_entropy,
)
from idscaling.latent.holder import HOLDER_DEFAULTS, HolderTeacher


def test_module_is_labelled_synthetic() -> None:
    assert "SYNTHETIC" in (holder_teacher.__doc__ or "")


def test_structure_and_checks() -> None:
    t = HolderTeacher.from_seed(3, vocab=60, channels=8, octaves=4, features_per_octave=16, seed=1)
    assert t.frequencies.shape == (64, 3) and t.coefficients.shape == (64, 8) and t.weights.shape == (60, 11)
    # octave j holds frequencies of length omega_0 2^j .. omega_0 2^(j+1)
    radius = np.linalg.norm(t.frequencies, axis=1) / HOLDER_DEFAULTS["frequency_scale"]
    assert np.all(np.floor(np.log2(radius)) == np.repeat(np.arange(4), 16))
    z = np.random.default_rng(0).random((3000, 3))
    psi = t.features(z)
    np.testing.assert_allclose(psi[:, :3], np.sqrt(12) * (z - 0.5))  # the affine copy of z
    p = t.probs(z)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(t.logits(z), t.logit_scale * psi @ t.weights.T / np.sqrt(11))
    # channels have unit mean square over latents and teacher draws (sum a^2 / 2 = 1): average
    # over 8 channels and 12 teachers, each channel's mean square has sd ~0.5 (few low frequencies)
    ms = [np.mean(HolderTeacher.from_seed(2, seed=s, channels=8).rough(z[:1000, :2]) ** 2) for s in range(12)]
    assert np.mean(ms) == pytest.approx(1.0, abs=0.25)
    a = HolderTeacher.from_seed(2, seed=5)
    assert np.array_equal(a.probs(z[:5, :2]), HolderTeacher.from_seed(2, seed=5).probs(z[:5, :2]))
    with pytest.raises(ValueError, match="k \\+ channels \\+ 1 = 35"):
        HolderTeacher.from_seed(2, vocab=30)
    with pytest.raises(ValueError, match="smoothness must be in \\(0, 2\\)"):
        HolderTeacher.from_seed(2, smoothness=2.0)
    with pytest.raises(ValueError, match="frequency_scale must be > 0"):
        HolderTeacher.from_seed(2, frequency_scale=0.0)
    with pytest.raises(ValueError, match="octaves and features_per_octave"):
        HolderTeacher.from_seed(2, octaves=0)


def _increment_slopes(t: HolderTeacher, order: int, hs: np.ndarray) -> float:
    """Slope of log E|Delta_h^order logits|^2 against log h, over random interior z and directions
    (half the Hölder exponent's definition: E|Delta|^2 ~ h^(2 beta))."""
    rng = np.random.default_rng(1)
    z = 0.25 + 0.5 * rng.random((600, t.k))
    d = rng.standard_normal((600, t.k))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    ms = []
    for h in hs:
        if order == 1:
            inc = t.logits(z + h * d) - t.logits(z)
        else:
            inc = t.logits(z + h * d) - 2 * t.logits(z) + t.logits(z - h * d)
        ms.append(np.mean(inc**2))
    return float(np.polyfit(np.log(hs), np.log(ms), 1)[0])


@pytest.mark.parametrize("k,beta", [(1, 0.5), (1, 1.5), (2, 0.75), (4, 1.5)])
def test_increments_scale_as_h_to_the_beta(k: int, beta: float) -> None:
    """Between the cutoff (1 / (omega_0 2^J) ~ 5e-4) and the lowest frequency (1 / omega_0 = 0.5),
    the second differences have mean square ~ h^(2 beta) over 1.5 decades of h (measured slopes /2:
    0.50-0.52 for beta = 0.5, 1.47-1.49 for 1.5; a wrong amplitude exponent moves it by the error).
    Below the cutoff the map is smooth (slope 4 for second differences), and for beta > 1 the
    first differences scale as h (the map is C^1)."""
    t = HolderTeacher.from_seed(k, smoothness=beta, seed=2)
    hs = np.geomspace(5e-3, 0.15, 7)
    assert _increment_slopes(t, 2, hs) / 2 == pytest.approx(beta, abs=0.08)
    assert _increment_slopes(t, 2, np.geomspace(1e-6, 1e-5, 3)) / 2 == pytest.approx(2.0, abs=0.05)
    if beta > 1:
        assert _increment_slopes(t, 1, hs) / 2 == pytest.approx(1.0, abs=0.05)


def test_holder_seminorm_is_bounded_uniformly_in_the_cutoff() -> None:
    """'Exactly beta': the largest |Delta_h^2 u| / h^beta over sampled z and h barely moves as the
    octaves go from 6 to 12 (measured x1.4: each finer octave adds a geometric 2^(-j beta) share,
    and the sup over more random terms a sqrt(log) factor), while the ratio for beta' = beta + 0.5
    grows like 2^(0.5 * 6) = 8 (measured x10.7): the sum is C^beta and no smoother, whatever the
    cutoff."""
    beta = 1.5
    rng = np.random.default_rng(3)
    z = 0.25 + 0.5 * rng.random((400, 1))
    ratios: dict[int, tuple[float, float]] = {}
    for octaves in (6, 12):
        t = HolderTeacher.from_seed(1, smoothness=beta, octaves=octaves, seed=0)
        hs = 2.0 ** -np.arange(2, 16)
        second = np.stack([np.abs(t.rough(z + h) - 2 * t.rough(z) + t.rough(z - h)).max() for h in hs])
        ratios[octaves] = (float((second / hs**beta).max()), float((second / hs ** (beta + 0.5)).max()))
    growth, growth_smoother = ratios[12][0] / ratios[6][0], ratios[12][1] / ratios[6][1]
    assert growth < 2.0
    assert growth_smoother > 3 * growth


@pytest.mark.parametrize("k", [1, 2, 4, 8])
def test_distribution_family_has_dimension_k(k: int) -> None:
    """With beta = 1.5 the map z -> sqrt p(.|z) is C^1 with rank-k differential (finite differences
    below the cutoff scale), and the Levina-Bickel MLE of 3,600 source points is ~k (measured
    1.00, 2.02, 3.91 for k = 1, 2, 4; 7.1 for k = 8, where it underestimates any 8-dimensional
    set of this size, as for the features teacher)."""
    t = HolderTeacher.from_seed(k, seed=3)
    rng = np.random.default_rng(0)
    eps = 1e-7
    for z in rng.random((20, k)):
        base = np.sqrt(t.probs(z[None]))[0]
        jac = np.stack([(np.sqrt(t.probs((z + eps * e)[None]))[0] - base) / eps for e in np.eye(k)], axis=1)
        s = np.linalg.svd(jac, compute_uv=False)
        assert s.min() > 1e-2 * s.max()
    d = MLE(k=20, metric="euclidean").fit(source_points(t, 3600, seed=1)).dimension_
    assert d == pytest.approx(k, rel=0.1 if k <= 4 else 0.15)


def test_a_rough_teacher_makes_a_fractal_family() -> None:
    """The docstring's caveat, measured: with beta = 0.75 < 1 the set of distributions is a
    topological 2-manifold but its metric dimension is ~k / beta = 2.67 (MLE 2.77), not 2."""
    points = source_points(HolderTeacher.from_seed(2, smoothness=0.75, seed=0), 3600, seed=1)
    assert MLE(k=20, metric="euclidean").fit(points).dimension_ > 2.4


def test_distinct_latents_give_distinct_distributions() -> None:
    """Injectivity on samples: Hellinger distance >= a multiple of the latent distance for far pairs."""
    t = HolderTeacher.from_seed(3, seed=0)
    z = np.random.default_rng(2).random((500, 3))
    h = np.sqrt(t.probs(z))
    dh = np.linalg.norm(h[:, None] - h[None], axis=-1)
    dz = np.linalg.norm(z[:, None] - z[None], axis=-1)
    ratio = dh[dz > 0.2] / dz[dz > 0.2]
    assert ratio.min() > 0.1 * np.median(ratio)


def test_documents_of_the_holder_teacher() -> None:
    settings = {"k": 2, "teacher": "holder", "n_documents": 12, "document_tokens": 30, "smoothness": 1.0, "seed": 4}
    docs = list(generate_documents(**settings))
    assert docs == list(iter_documents({"kind": "latent", **settings}))
    assert docs[:4] == list(generate_documents(**(settings | {"n_documents": 4})))  # prefix-stable
    assert docs != list(generate_documents(**(settings | {"smoothness": 0.5})))
    features = {k: v for k, v in settings.items() if k != "smoothness"} | {"teacher": "features"}
    assert docs != list(generate_documents(**features))
    vocab = set(pseudo_words(256))
    assert all(len(d.split(" ")) == 30 and set(d.split(" ")) <= vocab for d in docs)
    assert 0 < teacher_entropy(HolderTeacher.from_seed(2), n_samples=2000) < np.log(256)
