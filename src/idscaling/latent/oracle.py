"""The Bayes-optimal next-word predictive of a latent-teacher corpus (:mod:`idscaling.latent`).

A latent document is words ``w_0, w_1, ...`` drawn i.i.d. from ``p(. | z)`` for one ``z``
uniform in the cube ``[0, 1]^k``. After the prefix ``w_0..w_t`` the best any model can predict
for ``w_{t+1}`` is the posterior predictive

    q_t = E[p(. | z) | w_0..w_t] = integral p(. | z) pi_t(z) dz,
    pi_t(z) proportional to prod_{s <= t} p(w_s | z)     (uniform prior),

and its expected loss is the Bayes loss. This module computes ``q_t`` at chosen positions of
each document: the *oracle* ID protocol (:mod:`idscaling.id_protocols`) embeds ``sqrt(q_t)``
(euclidean distance = Hellinger distance up to sqrt 2) at the same positions a model's hidden
states were taken, i.e. what a perfect model's predictions look like as a point cloud.

Why a particle filter, written here: the integral has no closed form and its integrand ranges
from the flat prior (t = 0) to a posterior of width ~1/sqrt(t) around the document's latent (late
positions); a fixed grid or prior sample of the cube cannot resolve the late posteriors once k > 3
(M samples are ~M^(-1/k) apart), and one importance sample for all prefixes degenerates at k >= 8
(its effective sample size collapses to a handful of draws). Words are i.i.d. given z, so the posterior
after t + 1 words is the one after t words times ``p(w_{t+1} | z)``: sequential Monte Carlo
(Chopin 2002, "iterated batch importance sampling") follows it word by word with N particles,
reweighting, and when the effective sample size falls below N/2 resampling (systematic) and moving
every particle by a few Metropolis random-walk steps (Gaussian proposal with the particles'
covariance, scaled 2.38/sqrt(k); rejected outside the cube) that leave the current posterior
invariant. The predictive at a recorded prefix is the weighted mean of the particles' ``p(. | z)``.
No library does this for an arbitrary teacher (PyMC/NumPyro/particles sample one fixed model per
call and would pull in a probabilistic-programming stack for a 40-line filter).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.special import logsumexp

from idscaling.latent.base import Teacher

__all__ = ["posterior_predictive", "oracle_predictives"]

_PARTICLES = 1024
_MOVES = 2  # Metropolis steps after each resampling
_RESAMPLE_BELOW = 0.5  # resample when the effective sample size falls below this fraction of N


def _log_probs(teacher: Teacher, z: np.ndarray) -> np.ndarray:
    return np.log(np.clip(teacher.probs(z), 1e-300, None))


def _in_cube(z: np.ndarray) -> np.ndarray:
    return np.all((z >= 0.0) & (z <= 1.0), axis=1)


def _systematic_resample(w: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = len(w)
    cdf = np.cumsum(w)
    cdf[-1] = 1.0
    return np.searchsorted(cdf, (rng.random() + np.arange(n)) / n)


def _move(
    teacher: Teacher, z: np.ndarray, log_p: np.ndarray, counts: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, float]:
    """``_MOVES`` random-walk Metropolis steps targeting the posterior with word ``counts`` (uniform
    prior on the cube); returns the moved particles, their log p(. | z) and the acceptance rate."""
    n, k = z.shape
    cov = np.atleast_2d(np.cov(z, rowvar=False)) + 1e-12 * np.eye(k)
    chol = np.linalg.cholesky(cov) * (2.38 / np.sqrt(k))
    log_target = log_p @ counts
    accepted = 0
    for _ in range(_MOVES):
        prop = z + rng.standard_normal((n, k)) @ chol.T
        inside = _in_cube(prop)
        log_p_prop = np.zeros_like(log_p)
        log_p_prop[inside] = _log_probs(teacher, prop[inside])
        target_prop = np.where(inside, log_p_prop @ counts, -np.inf)  # the prior is 0 outside the cube
        accept = np.log(rng.random(n)) < target_prop - log_target
        z[accept], log_p[accept], log_target[accept] = prop[accept], log_p_prop[accept], target_prop[accept]
        accepted += int(accept.sum())
    return z, log_p, accepted / (n * _MOVES)


def posterior_predictive(
    teacher: Teacher, words: np.ndarray, positions: Sequence[int], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``q_t`` for each ``t`` in ``positions`` (the predictive after words ``0..t``) of one document.

    Returns (predictives (len(positions), vocab), effective sample size of the particle weights
    at each prefix). ``words`` are the document's word ids."""
    words = np.asarray(words, dtype=np.int64)
    positions = np.asarray(positions, dtype=np.int64)
    if words.ndim != 1 or words.size == 0:
        raise ValueError("words must be a non-empty 1-D array of word ids")
    if positions.size and (positions.min() < 0 or positions.max() >= words.size):
        raise ValueError(f"positions must lie in [0, {words.size - 1}], got {positions.min()}..{positions.max()}")
    k = teacher.k
    wanted = np.zeros(words.size, dtype=bool)
    wanted[positions] = True
    z = rng.random((_PARTICLES, k))
    log_p = _log_probs(teacher, z)
    log_w = np.zeros(_PARTICLES)
    counts = np.zeros(teacher.vocab)
    predictive: dict[int, np.ndarray] = {}
    ess: dict[int, float] = {}
    for t in range(int(positions.max()) + 1 if positions.size else 0):
        counts[words[t]] += 1
        log_w += log_p[:, words[t]]
        w = np.exp(log_w - logsumexp(log_w))
        if wanted[t]:
            predictive[t] = w @ np.exp(log_p)
            ess[t] = 1.0 / np.sum(w**2)
        if 1.0 / np.sum(w**2) < _RESAMPLE_BELOW * _PARTICLES:
            idx = _systematic_resample(w, rng)
            z, log_p, _ = _move(teacher, z[idx], log_p[idx], counts, rng)
            log_w = np.zeros(_PARTICLES)
    return np.array([predictive[int(t)] for t in positions]).reshape(len(positions), teacher.vocab), np.array(
        [ess[int(t)] for t in positions]
    )


def oracle_predictives(
    teacher: Teacher, documents: Sequence[np.ndarray], points: np.ndarray, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior predictives at ``points`` (rows (document index, word position t)), in their order.

    Returns (predictives (points, vocab), effective sample sizes (points,)). Each document's
    posterior is fitted once, with a generator seeded by (``seed``, document index), so the result
    does not depend on the order or subset of points."""
    points = np.asarray(points, dtype=np.int64)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"points must be (n, 2) rows of (document, position), got shape {points.shape}")
    out = np.empty((len(points), teacher.vocab))
    ess = np.empty(len(points))
    for doc in np.unique(points[:, 0]):
        rows = np.flatnonzero(points[:, 0] == doc)
        rng = np.random.default_rng([seed, int(doc)])
        out[rows], ess[rows] = posterior_predictive(teacher, documents[int(doc)], points[rows, 1], rng)
    return out, ess
