"""A latent teacher whose logits have a KNOWN Hölder smoothness beta (SYNTHETIC corpora).

Why this exists: the default teacher of :mod:`idscaling.latent` maps z through a *finite*
random-feature map, so learning it is asymptotically a parametric problem (excess loss ~ 1/N),
not the nonparametric regression of Havrilla & Liao's theory, whose rate for a beta-Hölder target
on a k-dimensional domain is ``N^(-2 beta / (2 beta + k))``. A mismatch between observed and
predicted exponents on that corpus may come from the corpus itself. This teacher is in the
theory's regime: its logits are a random function of smoothness exactly beta at every scale the
pipeline's data sizes can resolve.

The construction. ``z`` is uniform in the cube ``[0, 1]^k``; with ``r`` = ``channels``::

    psi(z) = [sqrt(12) (z - 1/2), u(z)]                   (k + r,)
    u(z)   = sum_l a_l cos(omega_l . z + b_l)             (r,), a_l in R^r
    p(. | z) = softmax(s * W psi(z) / sqrt(k + r))        W: (V, k + r) ~ N(0, 1)

``u`` is a lacunary random Fourier series (a random, multi-directional Weierstrass function):
octave ``j = 0 .. J-1`` holds ``m`` = ``features_per_octave`` frequencies ``omega_l`` of
length ``|omega_l| = omega_0 2^(j + U)`` (U uniform in [0, 1): log-uniform within the octave),
uniform direction, uniform phase ``b_l``, and coefficient vector
``a_l = c |omega_l / omega_0|^(-beta) g_l``, ``g_l ~ N(0, I_r)``; ``c`` makes every channel
unit mean square on average over teachers (``sum_l a_l^2 / 2 = 1`` per channel in expectation).
Equal numbers of frequencies per unit of ``log |omega|`` with squared amplitudes
``|omega|^(-2 beta)`` are the isotropic power-law spectrum ``S(omega) ~ |omega|^(-(2 beta + k))``
(amplitude ``|omega|^(-(beta + k/2))`` per unit volume of frequency), that of a fractional
Gaussian field of Hurst index beta (for beta < 1), band-limited to ``[omega_0, omega_0 2^J)``.

Why the smoothness is beta (for 0 < beta < 2):

* Upper bound, uniform in the cutoff: octave j has sup-norm ~ 2^(-j beta) (up to a
  sqrt(log) factor from taking the sup of m random terms) and its n-th derivatives are 2^(jn)
  times larger, so splitting the octaves at 2^j ~ 1/|h| bounds ``|u(z+h) - u(z)|`` (beta < 1)
  or ``|grad u(z+h) - grad u(z)|`` (1 < beta < 2) by a geometric series summing to
  ``O(|h|^beta)`` resp. ``O(|h|^(beta-1))``, whatever J: u is in C^beta (C^(1, beta-1) when
  beta > 1) with a seminorm that does not grow with the cutoff; beta = 1 gives the Zygmund
  class, the usual "beta = 1" of Besov-space rates.
* Lower bound, not smoother: the mean square of the second difference
  ``Delta_h^2 u(z) = u(z+h) - 2 u(z) + u(z-h)`` is ``sum_l |a_l|^2 (1 - cos(omega_l . h))^2 * 2``,
  and for ``2^(-J) / omega_0 << |h| << 1 / omega_0`` that sum is dominated by the octave with
  ``|omega| ~ 1/|h|`` and equals ``C |h|^(2 beta)`` (both sides): no increment exponent above
  beta. Any finite sum of cosines is analytic, so "not smoother" means, precisely: the C^beta
  seminorm stays bounded as the cutoff J grows, while every C^(beta') seminorm with
  beta' > beta grows like ``2^(J (beta' - beta))``. tests/latent/test_holder.py measures both,
  and the slope 2 beta of ``log E (Delta_h^2 u)^2`` against ``log |h|`` over 1.5 decades of h.
* The logits add the affine part (second differences zero) and a fixed linear map W, so every
  logit is beta-smooth in the same sense; softmax and ``sqrt`` are smooth on the open simplex,
  so ``z -> p(. | z)`` and ``z -> sqrt p(. | z)`` are too.

Why no finite parametric shortcut exists at the pipeline's sizes: a learner that knew the
frequencies would still face the nonparametric bias-variance trade-off as long as the teacher has
at least as many independent frequencies in each octave it can resolve as a generic function
has there, i.e. as the unit cube has Fourier modes ``2 pi n``, n integer (counted: octave j holds
about ``vol(B_k) (2^k - 1) (omega_0 2^j / 2 pi)^k`` of them). With the defaults (omega_0 = 2,
256 frequencies per octave, 10 octaves up to omega = 2048) the 256 frequencies are at least that
many up to ``|omega| = 1024`` for k = 1, 64 for k = 2, 16 for k = 4 and 8 for k = 8, beyond the
``|omega| ~ 1 / h`` that the local-averaging learner of :mod:`idscaling.latent.learner` resolves at
10^6 tokens (h: the radius holding its chosen K documents, bench/holder_learner.py; BENCHMARKS.md).
Above those frequencies the spectrum is sparser than a generic function's, but the learner cannot
see there at these N. The 2,560 frequencies with ``r + k + 1`` numbers each (plus the V x (k + r)
map W) are not a small parametric family at N <= 10^6 tokens.

Why the source has dimension exactly k: ``psi`` contains the affine copy ``sqrt(12)(z - 1/2)``,
so it is injective and, ``W`` having independent columns together with the all-ones vector
(checked when the teacher is built, as in :mod:`idscaling.latent`), so is ``z -> W psi(z)``
modulo constants, and ``softmax`` is a diffeomorphism from logits modulo constants onto the open
simplex. The set of document distributions is therefore a homeomorphic image of the cube: a
topological k-manifold (with boundary). The *metric* dimension needs beta > 1: then the map is
C^1 with differential ``W [sqrt(12) I_k ; Du]`` of rank k everywhere, so the set is a C^1
(indeed C^(1, beta-1)) embedded k-manifold and its Hausdorff, box-counting and (at small
scales) Levina-Bickel dimensions are exactly k. For beta < 1 the map is nowhere differentiable
at scales above the cutoff and the set is fractal there: the graph of a beta-Hölder random field
with r components has box-counting dimension up to ``min(k / beta, k + r (1 - beta))`` > k, so an
intrinsic-dimension estimate of the distributions (or of a model's embeddings of them) reads
above k: the Levina-Bickel MLE of :func:`idscaling.latent.source_points` (3,600 points, 20
neighbours) gives 1.15, 2.77, 5.36 for k = 1, 2, 4 at beta = 0.75 (k / beta = 1.33, 2.67, 5.33),
and 1.00, 2.02, 3.91 at beta = 1.5. The default beta = 1.5 avoids that and is still learned at
the nonparametric rate by local averaging (:mod:`idscaling.oracle_learner`: with uniform
latents the boundary layer of a local-constant estimator costs ``O(h^3)``, no more than the
interior's ``O(h^(2 beta))`` when beta <= 1.5).

Generation is numpy only, deterministic for a given seed. The text is SYNTHETIC.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from idscaling.latent.base import SoftmaxTeacher, check_injective_weights

__all__ = ["HolderTeacher", "HOLDER_DEFAULTS"]

# Knobs of the holder teacher (schemas/config.schema.yaml repeats them).
HOLDER_DEFAULTS = {
    "vocab": 256,
    "smoothness": 1.5,
    "channels": 32,
    "octaves": 10,
    "features_per_octave": 256,
    "frequency_scale": 2.0,
    "logit_scale": 3.0,
}


def _unit_directions(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    g = rng.standard_normal((n, k))
    return g / np.linalg.norm(g, axis=1, keepdims=True)


@dataclass(frozen=True)
class HolderTeacher(SoftmaxTeacher):
    """A fixed map from the cube [0, 1]^k to next-token distributions whose logits are beta-Hölder
    (the module docstring says in what sense); same interface as :class:`idscaling.latent.features.FeaturesTeacher`."""

    k: int
    smoothness: float
    frequencies: np.ndarray  # omega_l, (F, k), F = octaves * features_per_octave
    phases: np.ndarray  # b_l, (F,)
    coefficients: np.ndarray  # a_l, (F, r)
    weights: np.ndarray  # W, (vocab, k + r)
    logit_scale: float

    @classmethod
    def from_seed(
        cls,
        k: int,
        *,
        vocab: int = HOLDER_DEFAULTS["vocab"],
        smoothness: float = HOLDER_DEFAULTS["smoothness"],
        channels: int = HOLDER_DEFAULTS["channels"],
        octaves: int = HOLDER_DEFAULTS["octaves"],
        features_per_octave: int = HOLDER_DEFAULTS["features_per_octave"],
        frequency_scale: float = HOLDER_DEFAULTS["frequency_scale"],
        logit_scale: float = HOLDER_DEFAULTS["logit_scale"],
        seed: int = 0,
    ) -> HolderTeacher:
        """Draw a teacher: ``octaves`` x ``features_per_octave`` random frequencies from
        ``frequency_scale`` = omega_0 up, amplitudes ``|omega / omega_0|^(-smoothness)``."""
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        if not 0 < smoothness < 2:
            raise ValueError(f"smoothness must be in (0, 2), got {smoothness}")
        if channels < 1:
            raise ValueError(f"channels must be >= 1, got {channels}")
        if octaves < 1 or features_per_octave < 1:
            raise ValueError(f"octaves and features_per_octave must be >= 1, got {octaves}, {features_per_octave}")
        if vocab < k + channels + 1:
            raise ValueError(
                f"vocab must be >= k + channels + 1 = {k + channels + 1} for the map to be injective, got {vocab}"
            )
        if not frequency_scale > 0:
            raise ValueError(f"frequency_scale must be > 0, got {frequency_scale}")
        if not logit_scale > 0:
            raise ValueError(f"logit_scale must be > 0, got {logit_scale}")
        rng = np.random.default_rng([seed, 2])  # not the features teacher's stream: a different object
        n = octaves * features_per_octave
        octave = np.repeat(np.arange(octaves), features_per_octave)
        radius = 2.0 ** (octave + rng.random(n))  # |omega| / omega_0, log-uniform in each octave
        frequencies = frequency_scale * radius[:, None] * _unit_directions(n, k, rng)
        phases = rng.random(n) * 2 * np.pi
        amplitude = radius**-smoothness
        amplitude *= np.sqrt(2.0 / np.sum(amplitude**2))  # E_z u_c^2 = sum a^2 / 2 = 1 per channel (on average over g)
        coefficients = amplitude[:, None] * rng.standard_normal((n, channels))
        weights = rng.standard_normal((vocab, k + channels))
        check_injective_weights(weights)
        return cls(
            k=k,
            smoothness=float(smoothness),
            frequencies=frequencies,
            phases=phases,
            coefficients=coefficients,
            weights=weights,
            logit_scale=float(logit_scale),
        )

    def rough(self, z: np.ndarray) -> np.ndarray:
        """u(z): (n, r), the beta-smooth part of psi."""
        z = np.asarray(z, dtype=np.float64)
        return np.cos(z @ self.frequencies.T + self.phases) @ self.coefficients

    def features(self, z: np.ndarray) -> np.ndarray:
        """psi(z): (n, k + r) for latents z of shape (n, k)."""
        z = np.asarray(z, dtype=np.float64)
        return np.hstack([np.sqrt(12.0) * (z - 0.5), self.rough(z)])
