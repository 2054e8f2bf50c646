"""Accuracy and cost of the oracle protocol's posterior predictive (idscaling.oracle).

For k = 1 and 2 the predictive is also computed by the midpoint rule on a fine grid of the cube
(another route) and the Hellinger distance between the two is reported per position; for every k
the median and smallest effective sample size of the particle weights per position, and the
seconds per 64-word document.

    .venv/bin/python bench/oracle_accuracy.py [--documents 20] [--k 1 2 4 8 16]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from idscaling.latent.documents import sample_categorical
from idscaling.latent.features import FeaturesTeacher
from idscaling.latent.oracle import posterior_predictive

POSITIONS = np.array([0, 3, 7, 15, 31, 63])
GRID = {1: 4000, 2: 300}


def quadrature(teacher: FeaturesTeacher, words: np.ndarray, positions: np.ndarray) -> np.ndarray:
    n = GRID[teacher.k]
    g = (np.arange(n) + 0.5) / n
    Z = np.stack(np.meshgrid(*[g] * teacher.k, indexing="ij"), -1).reshape(-1, teacher.k)
    log_p = np.log(teacher.probs(Z))
    cum = np.cumsum(log_p[:, words], axis=1)[:, positions]
    w = np.exp(cum - cum.max(axis=0))
    return (w / w.sum(axis=0)).T @ np.exp(log_p)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--documents", type=int, default=20)
    ap.add_argument("--k", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    args = ap.parse_args()
    print(f"positions {POSITIONS.tolist()}; {args.documents} documents of 64 words per k; default teacher, seed 0")
    for k in args.k:
        teacher = FeaturesTeacher.from_seed(k, seed=0)
        rng = np.random.default_rng(k)
        ess, hell, seconds = [], [], 0.0
        for d in range(args.documents):
            words = sample_categorical(teacher.probs(teacher.sample_latents(1, rng))[0], 64, rng)
            t0 = time.perf_counter()
            q, e = posterior_predictive(teacher, words, POSITIONS, np.random.default_rng(d))
            seconds += time.perf_counter() - t0
            ess.append(e)
            if k in GRID:
                ref = quadrature(teacher, words, POSITIONS)
                hell.append(np.sqrt(0.5 * np.sum((np.sqrt(q) - np.sqrt(ref)) ** 2, axis=1)))
        ess = np.array(ess)
        line = (
            f"k={k:2d}  ESS median {np.median(ess, 0).round(0).astype(int).tolist()}  min "
            f"{ess.min(0).round(0).astype(int).tolist()}  {seconds / args.documents:.2f} s/document"
        )
        if hell:
            h = np.array(hell)
            median, worst = np.median(h, 0).round(4).tolist(), h.max(0).round(4).tolist()
            line += f"\n      Hellinger to quadrature: median {median} max {worst}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
