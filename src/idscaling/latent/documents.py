"""SYNTHETIC documents from a latent teacher: each document draws its own z, then its words
i.i.d. from p(. | z); the pseudo-word vocabulary, the teacher's entropy (a loss floor) and points
of the source manifold (the ID a perfect representation would have)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import numpy as np

from idscaling.latent.base import Teacher
from idscaling.latent.teachers import DOCUMENT_DEFAULTS, make_teacher

__all__ = [
    "pseudo_words",
    "sample_categorical",
    "documents",
    "document_latents",
    "generate_documents",
    "teacher_entropy",
    "source_points",
]

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


def sample_categorical(p: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    # Inverse-CDF sampling of `size` draws from one distribution (numpy's Generator.choice
    # does the same per call, but this keeps one code path for all documents).
    cdf = np.cumsum(p)
    return np.minimum(np.searchsorted(cdf, rng.random(size) * cdf[-1], side="right"), len(p) - 1)


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
        yield " ".join(words[sample_categorical(teacher.probs(z)[0], document_tokens, rng)])


def document_latents(teacher: Teacher, *, n_documents: int, document_tokens: int, seed: int) -> np.ndarray:
    """The latents ``z`` of the first ``n_documents`` documents :func:`documents` yields for the same
    arguments, (n_documents, k): the same stream, replayed (per document, ``z`` then the
    ``document_tokens`` uniforms of its words), without sampling the words."""
    rng = np.random.default_rng([seed, 1])
    z = np.empty((n_documents, teacher.k))
    for i in range(n_documents):
        z[i] = teacher.sample_latents(1, rng)[0]
        rng.random(document_tokens)  # sample_categorical draws exactly these for the words
    return z


def generate_documents(
    k: int,
    *,
    n_documents: int = DOCUMENT_DEFAULTS["n_documents"],
    document_tokens: int = DOCUMENT_DEFAULTS["document_tokens"],
    teacher: str = "features",
    seed: int = DOCUMENT_DEFAULTS["seed"],
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
