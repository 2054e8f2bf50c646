"""Point clouds of known intrinsic dimension shared by the tests of :mod:`idscaling.id`.

A plain module (``from id_points import sphere, cloud``): pytest's default import mode puts
this directory on ``sys.path`` for the test modules next to it.
"""

from __future__ import annotations

import numpy as np
import pytest


def sphere(n: int, d: int, ambient: int = 50, seed: int = 0) -> np.ndarray:
    """n uniform points on the unit d-sphere S^d (a d-manifold in R^(d+1)),
    randomly rotated into R^ambient."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, d + 1))
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    basis = np.linalg.qr(rng.standard_normal((ambient, d + 1)))[0]
    return z @ basis.T


def cloud(n: int = 600, ambient: int = 20, latent: int = 6, seed: int = 1) -> np.ndarray:
    """A generic curved point cloud: tanh of a random linear image of Gaussians."""
    rng = np.random.default_rng(seed)
    return np.tanh(rng.standard_normal((n, latent)) @ rng.standard_normal((latent, ambient)))


def require_faiss():
    return pytest.importorskip("faiss", reason="faiss-cpu not installed (knn method 'faiss' is optional)")


def direct_distances(X: np.ndarray, idx: np.ndarray, metric: str) -> np.ndarray:
    """Distances from each row to the given neighbours, straight from the coordinates."""
    X = np.asarray(X, dtype=np.float64)
    if metric == "cosine":
        U = X / np.linalg.norm(X, axis=1, keepdims=True)
        return 0.5 * np.sum((U[idx] - U[:, None, :]) ** 2, axis=2)
    return np.sqrt(np.sum((X[idx] - X[:, None, :]) ** 2, axis=2))
