"""What every latent teacher is: the :class:`Teacher` interface the documents, the oracle and
the learner use, and :class:`SoftmaxTeacher`, the softmax-of-features form both teachers share."""

from __future__ import annotations

from typing import Protocol

import numpy as np

__all__ = ["Teacher", "SoftmaxTeacher", "check_injective_weights"]


class Teacher(Protocol):
    """What documents, entropies and source points need of a teacher (FeaturesTeacher, HolderTeacher)."""

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
