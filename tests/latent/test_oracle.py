"""Tests of idscaling.oracle: the Bayes posterior predictive of a latent teacher, against quadrature."""

from __future__ import annotations

import numpy as np
import pytest

from idscaling.latent.documents import sample_categorical
from idscaling.latent.features import FeaturesTeacher
from idscaling.latent.oracle import oracle_predictives, posterior_predictive
from idscaling.latent.teachers import teacher_for_source


def _document(teacher: FeaturesTeacher, n_words: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return sample_categorical(teacher.probs(teacher.sample_latents(1, rng))[0], n_words, rng)


def _quadrature(teacher: FeaturesTeacher, words: np.ndarray, positions, n_grid: int) -> np.ndarray:
    """The predictive by the midpoint rule on a regular grid of the cube (another route)."""
    g = (np.arange(n_grid) + 0.5) / n_grid
    Z = np.stack(np.meshgrid(*[g] * teacher.k, indexing="ij"), -1).reshape(-1, teacher.k)
    log_p = np.log(teacher.probs(Z))
    cumulative = np.cumsum(log_p[:, words], axis=1)
    out = []
    for t in positions:
        w = np.exp(cumulative[:, t] - cumulative[:, t].max())
        out.append(w @ np.exp(log_p) / w.sum())
    return np.array(out)


def _hellinger(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    return np.sqrt(0.5 * np.sum((np.sqrt(p) - np.sqrt(q)) ** 2, axis=-1))


@pytest.mark.parametrize("k, n_grid", [(1, 4000), (2, 300)])
def test_predictive_equals_quadrature(k: int, n_grid: int) -> None:
    teacher = FeaturesTeacher.from_seed(k, seed=3)
    words = _document(teacher, 64, seed=k)
    positions = [0, 3, 15, 40, 63]
    q, ess = posterior_predictive(teacher, words, positions, np.random.default_rng(1))
    ref = _quadrature(teacher, words, positions, n_grid)
    np.testing.assert_allclose(q.sum(axis=1), 1.0, rtol=1e-12)
    h = _hellinger(q, ref)
    # Monte Carlo error ~ 1/sqrt(ESS) of the spread of p(.|z) under the posterior: a few 1e-3 late,
    # up to ~2e-2 after one word (broad posterior, the prior half of the proposal does the work).
    assert h[0] < 0.04 and np.all(h[1:] < 0.02), h
    assert np.all(ess > 100)
    # The predictive sharpens towards the document's own distribution: it moves away from the
    # prior predictive (the average of p(.|z) over the cube) as the prefix grows.
    prior = teacher.probs(np.random.default_rng(0).random((20000, k))).mean(axis=0)
    assert _hellinger(q[-1], prior) > _hellinger(q[0], prior)


def test_predictive_concentrates_on_the_true_latent() -> None:
    teacher = FeaturesTeacher.from_seed(4, seed=0)
    rng = np.random.default_rng(5)
    z = teacher.sample_latents(1, rng)
    words = sample_categorical(teacher.probs(z)[0], 512, rng)
    q, _ = posterior_predictive(teacher, words, [511], np.random.default_rng(0))
    other = teacher.probs(teacher.sample_latents(200, rng))
    # after 512 words the predictive is much closer to p(.|z) than p(.|z') of other latents are
    assert _hellinger(q[0], teacher.probs(z)[0]) < 0.2 * np.median(_hellinger(other, teacher.probs(z)[0]))


def test_oracle_predictives_do_not_depend_on_the_subset_of_points() -> None:
    teacher = teacher_for_source({"kind": "latent", "k": 2, "vocab": 64, "n_features": 8})
    docs = [_document(teacher, 20, seed=s) for s in range(3)]
    points = np.array([[2, 5], [0, 1], [2, 19], [1, 0]])
    q, ess = oracle_predictives(teacher, docs, points, seed=7)
    q2, _ = oracle_predictives(teacher, docs, points[[2, 0]], seed=7)
    np.testing.assert_array_equal(q[[2, 0]], q2)
    assert q.shape == (4, 64) and ess.shape == (4,)


def test_bad_positions_are_refused() -> None:
    teacher = FeaturesTeacher.from_seed(1, vocab=16, n_features=2)
    with pytest.raises(ValueError, match="positions must lie in"):
        posterior_predictive(teacher, np.array([1, 2, 3]), [3], np.random.default_rng(0))
    with pytest.raises(ValueError, match="points must be"):
        oracle_predictives(teacher, [np.array([1, 2])], np.array([0, 1]))
