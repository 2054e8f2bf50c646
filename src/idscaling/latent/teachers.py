"""SYNTHETIC documents whose source has a known number k of latent degrees of freedom.

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

import itertools
from dataclasses import dataclass
from typing import Any, Iterator, Protocol

import numpy as np

__all__ = [
    "LatentTeacher",
    "Teacher",
    "TEACHERS",
    "make_teacher",
    "source_defaults",
    "teacher_from_settings",
    "pseudo_words",
    "documents",
    "document_latents",
    "generate_documents",
    "source_points",
    "teacher_entropy",
    "check_injective_weights",
    "DEFAULTS",
]

# Defaults of the "latent" corpus source (schemas/config.schema.yaml repeats them).
DEFAULTS = {
    "n_documents": 2000,
    "document_tokens": 128,
    "vocab": 256,
    "n_features": 32,
    "frequency_scale": 2.0,
    "logit_scale": 3.0,
    "seed": 0,
}

# The teachers a latent source can use: "features" (LatentTeacher, the default, whose keys are
# DEFAULTS) and "holder" (idscaling.holder_teacher.HolderTeacher: logits of known Hölder
# smoothness; keys holder_teacher.HOLDER_DEFAULTS).
TEACHERS = ("features", "holder")
_DOCUMENT_KEYS = ("n_documents", "document_tokens", "seed")  # keys of the documents, not the teacher


def source_defaults(teacher: str = "features") -> dict[str, Any]:
    """Every key of a latent source with that ``teacher`` (besides ``k`` and ``teacher``), with
    its default: the documents' keys and the teacher's own."""
    if teacher == "features":
        return dict(DEFAULTS)
    if teacher == "holder":
        from idscaling.latent.holder import HOLDER_DEFAULTS

        return {key: DEFAULTS[key] for key in _DOCUMENT_KEYS} | HOLDER_DEFAULTS
    raise ValueError(f"teacher must be one of {TEACHERS}, got {teacher!r}")

_CONSONANTS = "bdfgklmnprstvz"
_VOWELS = "aeiou"
_WORD_SEED = 20241109  # the vocabulary of pseudo-words is the same for every teacher


def pseudo_words(vocab: int) -> list[str]:
    """``vocab`` distinct pronounceable 4-letter words (consonant-vowel-consonant-vowel), in a
    fixed order; at most 4,900."""
    syllables = [c + v for c in _CONSONANTS for v in _VOWELS]
    words = [a + b for a, b in itertools.product(syllables, repeat=2)]
    if not 1 <= vocab <= len(words):
        raise ValueError(f"vocab must be between 1 and {len(words)}, got {vocab}")
    order = np.random.default_rng(_WORD_SEED).permutation(len(words))[:vocab]
    return [words[i] for i in order]


class Teacher(Protocol):
    """What documents, entropies and source points need of a teacher (LatentTeacher, HolderTeacher)."""

    k: int

    @property
    def vocab(self) -> int: ...

    def probs(self, z: np.ndarray) -> np.ndarray: ...

    def sample_latents(self, n: int, rng: np.random.Generator) -> np.ndarray: ...


def check_injective_weights(weights: np.ndarray) -> None:
    """Condition 2 of the module docstring, checked rather than assumed: the columns of W and the
    all-ones vector are linearly independent, so W u = c 1 only for u = 0."""
    vocab, width = weights.shape
    if np.linalg.matrix_rank(np.hstack([weights, np.ones((vocab, 1))])) != width + 1:
        raise ValueError("degenerate teacher weights (rank-deficient); use another seed")


class SoftmaxTeacher:
    """What every teacher shares: logits ``s W psi(z) / sqrt(width)`` from its ``features`` psi,
    their softmax, and latents uniform in the cube. A subclass has ``k``, ``weights`` (vocab x
    width), ``logit_scale`` and ``features(z)``."""

    k: int
    weights: np.ndarray
    logit_scale: float

    def features(self, z: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @property
    def vocab(self) -> int:
        return self.weights.shape[0]

    def logits(self, z: np.ndarray) -> np.ndarray:
        return self.logit_scale * self.features(z) @ self.weights.T / np.sqrt(self.weights.shape[1])

    def probs(self, z: np.ndarray) -> np.ndarray:
        """p(. | z): (n, vocab), rows summing to one."""
        logits = self.logits(z)
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def sample_latents(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.random((n, self.k))


@dataclass(frozen=True)
class LatentTeacher(SoftmaxTeacher):
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
        vocab: int = DEFAULTS["vocab"],
        n_features: int = DEFAULTS["n_features"],
        frequency_scale: float = DEFAULTS["frequency_scale"],
        logit_scale: float = DEFAULTS["logit_scale"],
        seed: int = DEFAULTS["seed"],
    ) -> "LatentTeacher":
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



def _sample_categorical(p: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    # Inverse-CDF sampling of `size` draws from one distribution (numpy's Generator.choice
    # does the same per call, but this keeps one code path for all documents).
    cdf = np.cumsum(p)
    return np.minimum(np.searchsorted(cdf, rng.random(size) * cdf[-1], side="right"), len(p) - 1)


def make_teacher(k: int, *, teacher: str = "features", seed: int = DEFAULTS["seed"], **settings: Any) -> Teacher:
    """The teacher a latent source names: ``"features"`` (:class:`LatentTeacher`, keys of
    :data:`DEFAULTS`) or ``"holder"`` (:class:`idscaling.holder_teacher.HolderTeacher`, keys of
    ``HOLDER_DEFAULTS``); ``settings`` are its keyword arguments, unknown ones an error."""
    if teacher == "features":
        return LatentTeacher.from_seed(k, seed=seed, **settings)
    if teacher == "holder":
        from idscaling.latent.holder import HolderTeacher

        return HolderTeacher.from_seed(k, seed=seed, **settings)
    raise ValueError(f"teacher must be one of {TEACHERS}, got {teacher!r}")


def teacher_from_settings(settings: dict[str, Any]) -> Teacher:
    """The teacher of a latent source's settings (``corpus.latent_settings``: ``k``, ``teacher``,
    the documents' keys, the teacher's keys), whichever teacher it names."""
    knobs = {key: value for key, value in settings.items() if key not in ("n_documents", "document_tokens")}
    return make_teacher(**knobs)


def documents(teacher: Teacher, *, n_documents: int, document_tokens: int, seed: int) -> Iterator[str]:
    """Yield ``n_documents`` SYNTHETIC documents of ``document_tokens`` pseudo-words each, every
    document drawn i.i.d. from ``p(. | z)`` for its own latent ``z`` (``teacher.sample_latents``).

    Latents and words come from the stream ``[seed, 1]``, so changing ``n_documents`` keeps the
    first documents unchanged."""
    if n_documents < 1 or document_tokens < 1:
        raise ValueError(f"n_documents and document_tokens must be >= 1, got {n_documents}, {document_tokens}")
    words = np.array(pseudo_words(teacher.vocab))
    rng = np.random.default_rng([seed, 1])
    for _ in range(n_documents):
        z = teacher.sample_latents(1, rng)
        yield " ".join(words[_sample_categorical(teacher.probs(z)[0], document_tokens, rng)])


def document_latents(teacher: Teacher, *, n_documents: int, document_tokens: int, seed: int) -> np.ndarray:
    """The latents ``z`` of the first ``n_documents`` documents :func:`documents` yields for the same
    arguments, (n_documents, k): the same stream, replayed (per document, ``z`` then the
    ``document_tokens`` uniforms of its words), without sampling the words."""
    rng = np.random.default_rng([seed, 1])
    z = np.empty((n_documents, teacher.k))
    for i in range(n_documents):
        z[i] = teacher.sample_latents(1, rng)[0]
        rng.random(document_tokens)  # _sample_categorical draws exactly these for the words
    return z


def generate_documents(
    k: int,
    *,
    n_documents: int = DEFAULTS["n_documents"],
    document_tokens: int = DEFAULTS["document_tokens"],
    teacher: str = "features",
    seed: int = DEFAULTS["seed"],
    **settings: Any,
) -> Iterator[str]:
    """:func:`documents` of the teacher :func:`make_teacher` draws from ``seed`` (the latents and
    words from an independent stream of the same seed). ``settings``: the teacher's keys
    (``vocab``, ``n_features``, ``frequency_scale``, ``logit_scale`` for the default
    ``"features"`` teacher, whose documents are those of every earlier version)."""
    if n_documents < 1 or document_tokens < 1:
        raise ValueError(f"n_documents and document_tokens must be >= 1, got {n_documents}, {document_tokens}")
    return documents(
        make_teacher(k, teacher=teacher, seed=seed, **settings),
        n_documents=n_documents,
        document_tokens=document_tokens,
        seed=seed,
    )


def teacher_entropy(teacher: Teacher, n_samples: int = 20000, seed: int = 0) -> float:
    """E_z[H(p(. | z))] in nats per word, by Monte Carlo over ``n_samples`` uniform latents: the
    loss of an oracle that knows each document's z, a lower bound on any model's loss per word."""
    p = teacher.probs(teacher.sample_latents(n_samples, np.random.default_rng(seed)))
    return float(-(p * np.log(np.clip(p, 1e-300, None))).sum(axis=1).mean())


def source_points(teacher: Teacher, n_samples: int = 3600, seed: int = 0) -> np.ndarray:
    """``sqrt(p(. | z))`` for ``n_samples`` uniform latents: points of the source manifold in the
    Hellinger embedding (euclidean distance = Hellinger distance, up to sqrt 2)."""
    return np.sqrt(teacher.probs(teacher.sample_latents(n_samples, np.random.default_rng(seed))))
