"""The default latent teacher (``teacher: features``): a finite random-feature map of z.

Why this exists: the theory predicts scaling exponents from the intrinsic dimension d of the
data, but for natural text nobody knows d; the paper can only compare an *estimated* d with
observed exponents. This generator gives a corpus whose dimension is fixed by construction, so
the estimator and the predicted exponents can be checked against a known answer.

The construction (a fixed random "teacher", in the spirit of Sharma & Kaplan's teacher/student
experiments):

* every document draws one latent vector ``z`` uniformly in the cube ``[0, 1]^k``;
* a fixed, seeded teacher maps ``z`` to a next-token distribution over a vocabulary of ``V``
  pseudo-words::

      psi(z) = [sqrt(12) (z - 1/2), sqrt(2) cos(Omega z + b)]    Omega: (m, k) ~ N(0, sigma^2),
                                                                 b: (m,) ~ U[0, 2 pi)
      p(. | z) = softmax(s * W psi(z) / sqrt(k + m))            W: (V, k + m) ~ N(0, 1)

  (the affine part has unit variance and each cosine at most unit mean square, so the logits
  have standard deviation of order ``s``; ``sigma`` sets how curved the map is, ``s`` how peaked
  the distributions are);
* the document is ``document_tokens`` words drawn independently from ``p(. | z)``, written as
  text (words separated by spaces), documents joined by the tokenizer's end-of-text id.

Why the source has dimension exactly k: the document distributions form the set
``M = {p(. | z) : z in [0, 1]^k}``, and ``z -> p(. | z)`` is a smooth *embedding* of the cube
into the probability simplex, so ``M`` is a k-dimensional manifold (with boundary):

1. ``psi`` contains an affine copy of ``z``: it is injective and its Jacobian, which contains
   ``sqrt(12) I_k``, has rank k everywhere.
2. ``W`` is Gaussian with ``V >= k + m + 1``: with probability one the columns of ``W`` and the
   all-ones vector are linearly independent (checked when the teacher is built), so
   ``W u = c 1`` only for ``u = 0``. Hence ``W psi(z) = W psi(z') + c 1`` forces ``z = z'``, and
   ``W D psi`` keeps rank k: ``z -> W psi(z)`` is an embedding even modulo adding a constant to
   all logits.
3. ``softmax`` is a diffeomorphism from logits modulo constants onto the open simplex.

A document is therefore an i.i.d. sample from one point of a k-manifold of distributions. The
Bayes-optimal next-token prediction after t words is a function of the posterior over ``z``, which
concentrates on a point of that manifold as t grows: a model's hidden states late in a document
should lie near a k-dimensional set, with more spread (more apparent dimensions) at early
positions, where the posterior is broad. :func:`source_points` samples the manifold itself (in the
Hellinger embedding ``sqrt p``, where euclidean distance is the Hellinger distance), so an
estimator can be checked on the source before it is used on a model's embeddings (the
Levina-Bickel MLE on 3,600 such points gives ~k for k <= 8 with the defaults, and underestimates
beyond, as it does on any 16-dimensional set of that size). :func:`teacher_entropy` gives the
loss of an oracle that knows ``z``, a floor for any model.

Why a second teacher: ``psi`` is a *finite* random-feature map, so the teacher is a smooth
parametric family and learning it is asymptotically a parametric problem (excess loss ~ 1/N), not
the nonparametric beta-Hölder regression whose rate ``N^(-2 beta / (2 beta + k))`` the theory
predicts. ``teacher: holder`` (:mod:`idscaling.holder_teacher`) replaces the cosine features by a
random function of exact Hölder smoothness beta, keeping the affine copy of z (so the dimension
stays k) and this module's documents, entropies and source points (:func:`make_teacher`,
:func:`documents`). The default ``teacher: features`` is the construction above, with the same
documents as before the choice existed.

Generation is numpy only, deterministic for a given seed. The text is SYNTHETIC and is labelled
as such wherever the pipeline reports it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from idscaling.latent.base import SoftmaxTeacher, check_injective_weights

__all__ = ["FeaturesTeacher", "FEATURES_DEFAULTS"]

# Knobs of the features teacher (schemas/config.schema.yaml repeats them).
FEATURES_DEFAULTS = {"vocab": 256, "n_features": 32, "frequency_scale": 2.0, "logit_scale": 3.0}


@dataclass(frozen=True)
class FeaturesTeacher(SoftmaxTeacher):
    """A fixed map from the cube [0, 1]^k to next-token distributions over ``vocab`` words."""

    k: int
    frequencies: np.ndarray  # Omega, (m, k)
    phases: np.ndarray  # b, (m,)
    weights: np.ndarray  # W, (vocab, k + m)
    logit_scale: float

    @classmethod
    def from_seed(
        cls,
        k: int,
        *,
        vocab: int = FEATURES_DEFAULTS["vocab"],
        n_features: int = FEATURES_DEFAULTS["n_features"],
        frequency_scale: float = FEATURES_DEFAULTS["frequency_scale"],
        logit_scale: float = FEATURES_DEFAULTS["logit_scale"],
        seed: int = 0,
    ) -> FeaturesTeacher:
        """Draw a teacher with ``n_features`` = m random cosine features of frequency scale sigma."""
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        if n_features < 0:
            raise ValueError(f"n_features must be >= 0, got {n_features}")
        if vocab < k + n_features + 1:
            raise ValueError(
                f"vocab must be >= k + n_features + 1 = {k + n_features + 1} for the map to be injective, got {vocab}"
            )
        if not frequency_scale >= 0:
            raise ValueError(f"frequency_scale must be >= 0, got {frequency_scale}")
        if not logit_scale > 0:
            raise ValueError(f"logit_scale must be > 0, got {logit_scale}")
        rng = np.random.default_rng(seed)
        frequencies = rng.standard_normal((n_features, k)) * frequency_scale
        phases = rng.random(n_features) * 2 * np.pi
        weights = rng.standard_normal((vocab, k + n_features))
        check_injective_weights(weights)
        return cls(k=k, frequencies=frequencies, phases=phases, weights=weights, logit_scale=float(logit_scale))

    def features(self, z: np.ndarray) -> np.ndarray:
        """psi(z): (n, k + m) for latents z of shape (n, k)."""
        z = np.asarray(z, dtype=np.float64)
        return np.hstack([np.sqrt(12.0) * (z - 0.5), np.sqrt(2.0) * np.cos(z @ self.frequencies.T + self.phases)])
